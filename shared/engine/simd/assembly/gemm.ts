// Matrix multiply micro-kernels, 128-bit SIMD. All matrices are row-major f32;
// pointers are byte offsets into linear memory, leading dimensions are in elements.
//
//   gemm:  C[M×N] = beta·C + alpha · A[M×K] · B[K×N]
//
// The inner loop broadcasts one element of A and streams a contiguous row of B,
// accumulating a register tile of 2 rows × 16 columns (8 f32x4 accumulators; measured
// fastest of 4×8, 4×12, 3×16, 6×8, 8×8, 4×16 and k-unrolled variants on x64 V8).
// Multiplies and adds stay separate (no relaxed-SIMD FMA) so results are bit-identical
// on every machine.
// Backprop's transposed products are expressed through this one kernel after an
// explicit transpose (see transpose below), so every operand is read contiguously.

@inline function tile2x16(K: i32, a: usize, lda: usize, b: usize, ldb: usize, c: usize, ldc: usize, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  let pa = a;
  let pb = b;
  for (let k = 0; k < K; k++) {
    const x0 = load<f32>(pa);
    const x1 = load<f32>(pa + lda);
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const b2 = v128.load(pb, 32);
    const b3 = v128.load(pb, 48);
    const a0 = f32x4.splat(x0);
    const a1 = f32x4.splat(x1);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2));
    c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2));
    c13 = f32x4.add(c13, f32x4.mul(a1, b3));
    pa += 4;
    pb += ldb;
  }
  storeTile(c, alpha, beta, c00, c01);
  storeTile(c + 32, alpha, beta, c02, c03);
  storeTile(c + ldc, alpha, beta, c10, c11);
  storeTile(c + ldc + 32, alpha, beta, c12, c13);
}

@inline function tile1x8(K: i32, a: usize, b: usize, ldb: usize, c: usize, alpha: f32, beta: f32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let pa = a;
  let pb = b;
  for (let k = 0; k < K; k++) {
    const x0 = load<f32>(pa);
    const a0 = f32x4.splat(x0);
    c0 = f32x4.add(c0, f32x4.mul(a0, v128.load(pb)));
    c1 = f32x4.add(c1, f32x4.mul(a0, v128.load(pb, 16)));
    pa += 4;
    pb += ldb;
  }
  storeTile(c, alpha, beta, c0, c1);
}

/** C[c] = alpha·s (+ beta·C[c] when beta ≠ 0): the scalar twin of storeTile. */
@inline function storeScalar(c: usize, alpha: f32, beta: f32, s: f32): void {
  const y = alpha * s;
  store<f32>(c, beta != 0 ? y + beta * load<f32>(c) : y);
}

@inline function storeTile(c: usize, alpha: f32, beta: f32, x0: v128, x1: v128): void {
  const va = f32x4.splat(alpha);
  let y0 = f32x4.mul(va, x0);
  let y1 = f32x4.mul(va, x1);
  if (beta != 0) {
    const vb = f32x4.splat(beta);
    y0 = f32x4.add(y0, f32x4.mul(vb, v128.load(c)));
    y1 = f32x4.add(y1, f32x4.mul(vb, v128.load(c, 16)));
  }
  v128.store(c, y0);
  v128.store(c, y1, 16);
}

/** One output element the scalar way (column tails). */
@inline function dot1(K: i32, a: usize, b: usize, ldb: usize, c: usize, alpha: f32, beta: f32): void {
  let s: f32 = 0;
  let pa = a;
  let pb = b;
  for (let k = 0; k < K; k++) {
    s += load<f32>(pa) * load<f32>(pb);
    pa += 4;
    pb += ldb;
  }
  storeScalar(c, alpha, beta, s);
}

export function gemm(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, alpha: f32, beta: f32): void {
  const la = <usize>lda << 2;
  const lb = <usize>ldb << 2;
  const lc = <usize>ldc << 2;
  const N16 = N & ~15;
  const N8 = N & ~7;
  let i = 0;
  for (; i + 2 <= M; i += 2) {
    const ra = a + <usize>i * la;
    const rc = c + <usize>i * lc;
    for (let j = 0; j < N16; j += 16) tile2x16(K, ra, la, b + (<usize>j << 2), lb, rc + (<usize>j << 2), lc, alpha, beta);
    for (let j = N16; j < N8; j += 8) {
      tile1x8(K, ra, b + (<usize>j << 2), lb, rc + (<usize>j << 2), alpha, beta);
      tile1x8(K, ra + la, b + (<usize>j << 2), lb, rc + lc + (<usize>j << 2), alpha, beta);
    }
    for (let j = N8; j < N; j++) {
      dot1(K, ra, b + (<usize>j << 2), lb, rc + (<usize>j << 2), alpha, beta);
      dot1(K, ra + la, b + (<usize>j << 2), lb, rc + lc + (<usize>j << 2), alpha, beta);
    }
  }
  if (i < M) {
    const ra = a + <usize>i * la;
    const rc = c + <usize>i * lc;
    for (let j = 0; j < N8; j += 8) tile1x8(K, ra, b + (<usize>j << 2), lb, rc + (<usize>j << 2), alpha, beta);
    for (let j = N8; j < N; j++) dot1(K, ra, b + (<usize>j << 2), lb, rc + (<usize>j << 2), alpha, beta);
  }
}

/**
 * The same product for a sparse A (such as MNIST pixels, ≈ 80 % zeros): for each pair
 * of A's rows, the k where either is non-zero are listed first (in `scratch`, K i32s),
 * and the tile loops run over that list only — no data-dependent branch in the inner
 * loop. Bit-identical to gemm for finite B: the skipped terms are exact zeros.
 */
export function gemmSparseA(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, alpha: f32, beta: f32, scratch: usize): void {
  const la = <usize>lda << 2;
  const lb = <usize>ldb << 2;
  const lc = <usize>ldc << 2;
  const N16 = N & ~15;
  const N8 = N & ~7;
  for (let i = 0; i < M; i += 2) {
    const rows = min(2, M - i);
    const ra = a + <usize>i * la;
    const rc = c + <usize>i * lc;
    const second = rows == 2 ? ra + la : ra;
    let n = 0;
    for (let k = 0; k < K; k++) {
      const off = <usize>k << 2;
      if (load<f32>(ra + off) != 0 || load<f32>(second + off) != 0) {
        store<i32>(scratch + (<usize>n << 2), k);
        n++;
      }
    }
    for (let r = 0; r < rows; r++) {
      const rowA = ra + <usize>r * la;
      const rowC = rc + <usize>r * lc;
      if (rows == 2 && r == 0) {
        for (let j = 0; j < N16; j += 16) listTile2x16(n, scratch, ra, la, b + (<usize>j << 2), lb, rc + (<usize>j << 2), lc, alpha, beta);
        for (let j = N16; j < N; j++) {
          listDot1(n, scratch, ra, b + (<usize>j << 2), lb, rc + (<usize>j << 2), alpha, beta);
          listDot1(n, scratch, ra + la, b + (<usize>j << 2), lb, rc + lc + (<usize>j << 2), alpha, beta);
        }
        break;
      }
      for (let j = 0; j < N8; j += 8) listTile1x8(n, scratch, rowA, b + (<usize>j << 2), lb, rowC + (<usize>j << 2), alpha, beta);
      for (let j = N8; j < N; j++) listDot1(n, scratch, rowA, b + (<usize>j << 2), lb, rowC + (<usize>j << 2), alpha, beta);
    }
  }
}

@inline function listTile2x16(n: i32, idx: usize, a: usize, lda: usize, b: usize, ldb: usize, c: usize, ldc: usize, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  for (let t = 0; t < n; t++) {
    const k = <usize>load<i32>(idx + (<usize>t << 2));
    const pa = a + (k << 2);
    const pb = b + k * ldb;
    const a0 = f32x4.splat(load<f32>(pa));
    const a1 = f32x4.splat(load<f32>(pa + lda));
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const b2 = v128.load(pb, 32);
    const b3 = v128.load(pb, 48);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2));
    c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2));
    c13 = f32x4.add(c13, f32x4.mul(a1, b3));
  }
  storeTile(c, alpha, beta, c00, c01);
  storeTile(c + 32, alpha, beta, c02, c03);
  storeTile(c + ldc, alpha, beta, c10, c11);
  storeTile(c + ldc + 32, alpha, beta, c12, c13);
}

@inline function listTile1x8(n: i32, idx: usize, a: usize, b: usize, ldb: usize, c: usize, alpha: f32, beta: f32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let t = 0; t < n; t++) {
    const k = <usize>load<i32>(idx + (<usize>t << 2));
    const a0 = f32x4.splat(load<f32>(a + (k << 2)));
    const pb = b + k * ldb;
    c0 = f32x4.add(c0, f32x4.mul(a0, v128.load(pb)));
    c1 = f32x4.add(c1, f32x4.mul(a0, v128.load(pb, 16)));
  }
  storeTile(c, alpha, beta, c0, c1);
}

@inline function listDot1(n: i32, idx: usize, a: usize, b: usize, ldb: usize, c: usize, alpha: f32, beta: f32): void {
  let s: f32 = 0;
  for (let t = 0; t < n; t++) {
    const k = <usize>load<i32>(idx + (<usize>t << 2));
    s += load<f32>(a + (k << 2)) * load<f32>(b + k * ldb);
  }
  storeScalar(c, alpha, beta, s);
}

/**
 *   gemmNT:  C[M×N] = beta·C + alpha · A[M×K] · B[N×K]ᵀ
 *
 * Both operands are read along their rows (dot products), so a weight matrix is
 * used as stored — no transpose — and each group of 4 of B's rows is loaded once
 * for all of A's rows (it stays in L1), which suits backprop's δx = δ · Wᵀ with a
 * small batch and a large W. Tile: 2 rows of A × 4 rows of B, 8 f32x4 accumulators.
 */
export function gemmNT(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, alpha: f32, beta: f32): void {
  const la = <usize>lda << 2;
  const lb = <usize>ldb << 2;
  const lc = <usize>ldc << 2;
  const K4 = K & ~3;
  const N4 = N & ~3;
  const M2 = M & ~1;
  for (let j = 0; j < N4; j += 4) {
    const b0 = b + <usize>j * lb;
    for (let i = 0; i < M2; i += 2) {
      const a0 = a + <usize>i * la;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const x0 = v128.load(a0 + o);
        const x1 = v128.load(a0 + la + o);
        const w0 = v128.load(b0 + o);
        const w1 = v128.load(b0 + lb + o);
        const w2 = v128.load(b0 + 2 * lb + o);
        const w3 = v128.load(b0 + 3 * lb + o);
        s00 = f32x4.add(s00, f32x4.mul(x0, w0));
        s01 = f32x4.add(s01, f32x4.mul(x0, w1));
        s02 = f32x4.add(s02, f32x4.mul(x0, w2));
        s03 = f32x4.add(s03, f32x4.mul(x0, w3));
        s10 = f32x4.add(s10, f32x4.mul(x1, w0));
        s11 = f32x4.add(s11, f32x4.mul(x1, w1));
        s12 = f32x4.add(s12, f32x4.mul(x1, w2));
        s13 = f32x4.add(s13, f32x4.mul(x1, w3));
      }
      const c0 = c + <usize>i * lc + (<usize>j << 2);
      storeDot(c0, alpha, beta, s00, a0, b0, K4, K);
      storeDot(c0 + 4, alpha, beta, s01, a0, b0 + lb, K4, K);
      storeDot(c0 + 8, alpha, beta, s02, a0, b0 + 2 * lb, K4, K);
      storeDot(c0 + 12, alpha, beta, s03, a0, b0 + 3 * lb, K4, K);
      storeDot(c0 + lc, alpha, beta, s10, a0 + la, b0, K4, K);
      storeDot(c0 + lc + 4, alpha, beta, s11, a0 + la, b0 + lb, K4, K);
      storeDot(c0 + lc + 8, alpha, beta, s12, a0 + la, b0 + 2 * lb, K4, K);
      storeDot(c0 + lc + 12, alpha, beta, s13, a0 + la, b0 + 3 * lb, K4, K);
    }
    for (let i = M2; i < M; i++) {
      for (let jj = j; jj < j + 4; jj++) storeDot(c + <usize>i * lc + (<usize>jj << 2), alpha, beta, f32x4.splat(0), a + <usize>i * la, b + <usize>jj * lb, 0, K);
    }
  }
  for (let j = N4; j < N; j++) {
    for (let i = 0; i < M; i++) storeDot(c + <usize>i * lc + (<usize>j << 2), alpha, beta, f32x4.splat(0), a + <usize>i * la, b + <usize>j * lb, 0, K);
  }
}

/** Finishes one dot product: the lanes of `acc` (covering k < from), then the scalar tail k in [from, K). */
@inline function storeDot(c: usize, alpha: f32, beta: f32, acc: v128, a: usize, b: usize, from: i32, K: i32): void {
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (let k = from; k < K; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(b + (<usize>k << 2));
  storeScalar(c, alpha, beta, s);
}

/** dst[C×R] = srcᵀ, src being R×C row-major. */
export function transpose(R: i32, C: i32, src: usize, dst: usize): void {
  // 4×4 blocks through registers, scalar edges
  const R4 = R & ~3;
  const C4 = C & ~3;
  const ls = <usize>C << 2;
  const ld = <usize>R << 2;
  for (let i = 0; i < R4; i += 4) {
    for (let j = 0; j < C4; j += 4) {
      const s = src + <usize>i * ls + (<usize>j << 2);
      const r0 = v128.load(s);
      const r1 = v128.load(s + ls);
      const r2 = v128.load(s + 2 * ls);
      const r3 = v128.load(s + 3 * ls);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>j * ld + (<usize>i << 2);
      v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(d + ld, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      v128.store(d + 2 * ld, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
      v128.store(d + 3 * ld, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
    }
    for (let j = C4; j < C; j++) {
      for (let r = i; r < i + 4; r++) store<f32>(dst + <usize>j * ld + (<usize>r << 2), load<f32>(src + <usize>r * ls + (<usize>j << 2)));
    }
  }
  for (let i = R4; i < R; i++) {
    for (let j = 0; j < C; j++) store<f32>(dst + <usize>j * ld + (<usize>i << 2), load<f32>(src + <usize>i * ls + (<usize>j << 2)));
  }
}
