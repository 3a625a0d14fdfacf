import { beforeEach, describe, expect, it } from 'vitest';
import { Arena } from '../../../../shared/engine/simd/arena.ts';
import { Activation, instantiateKernels, type KernelExports } from '../../../../shared/engine/simd/kernels.ts';
import { mulberry32 } from '../../../../shared/rng.ts';

const k: KernelExports = instantiateKernels();
const arena = new Arena(k);
const rng = mulberry32(12345);
beforeEach(() => arena.reset());

/** Copies values into kernel memory; returns the pointer. */
function put(values: ArrayLike<number>): number {
  const p = arena.alloc(values.length * 4);
  arena.f32(p, values.length).set(values);
  return p;
}
const get = (p: number, n: number) => Array.from(arena.f32(p, n));
const random = (n: number, sparsity = 0) => Float32Array.from({ length: n }, () => (rng() < sparsity ? 0 : rng() * 2 - 1));

function naiveGemm(M: number, N: number, K: number, a: Float32Array, b: Float32Array, c: Float32Array, alpha: number, beta: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let x = 0; x < K; x++) s += a[i * K + x]! * b[x * N + j]!;
      out[i * N + j] = alpha * s + beta * c[i * N + j]!;
    }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('SIMD kernels', () => {
  it('gemm matches a float64 reference on shapes with every kind of tail', () => {
    for (const [M, N, K] of [
      [1, 1, 1],
      [2, 16, 3],
      [3, 17, 5],
      [7, 10, 33],
      [32, 128, 784],
      [33, 24, 9],
      [5, 8, 0],
    ] as const) {
      const a = random(M * K);
      const b = random(K * N);
      const c = random(M * N);
      for (const [alpha, beta] of [
        [1, 0],
        [-0.5, 1],
        [2, 0.25],
      ] as const) {
        const pc = put(c);
        k.gemm(M, N, K, put(a), K, put(b), N, pc, N, alpha, beta);
        expectClose(get(pc, M * N), naiveGemm(M, N, K, a, b, c, alpha, beta), 1e-4 * Math.max(1, K));
      }
    }
  });

  it('gemmNT (B stored transposed) matches the reference', () => {
    for (const [M, N, K] of [
      [1, 1, 1],
      [2, 4, 4],
      [3, 5, 7],
      [10, 3136, 512],
      [7, 13, 33],
      [4, 8, 0],
    ] as const) {
      const a = random(M * K);
      const bt = random(N * K); // B as [N, K]
      const b = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let x = 0; x < K; x++) b[x * N + n] = bt[n * K + x]!;
      const c = random(M * N);
      const pc = put(c);
      k.gemmNT(M, N, K, put(a), K, put(bt), K, pc, N, 1.5, 0.5);
      expectClose(get(pc, M * N), naiveGemm(M, N, K, a, b, c, 1.5, 0.5), 1e-4 * Math.max(1, K));
    }
  });

  it('gemmSparseA gives the same bits as gemm on sparse inputs', () => {
    for (const [M, N, K] of [
      [32, 128, 784],
      [31, 10, 50],
      [1, 16, 7],
      [784, 128, 32],
    ] as const) {
      const a = random(M * K, 0.8);
      const b = random(K * N);
      const c = random(M * N);
      const dense = put(c);
      const sparse = put(c);
      const pa = put(a);
      const pb = put(b);
      k.gemm(M, N, K, pa, K, pb, N, dense, N, -0.7, 1);
      k.gemmSparseA(M, N, K, pa, K, pb, N, sparse, N, -0.7, 1, arena.alloc(K * 4));
      expect(Buffer.from(arena.u8(sparse, M * N * 4)).equals(Buffer.from(arena.u8(dense, M * N * 4)))).toBe(true);
    }
  });

  it('transpose moves every element', () => {
    for (const [R, C] of [
      [1, 1],
      [4, 4],
      [5, 7],
      [32, 784],
      [13, 3],
    ] as const) {
      const src = random(R * C);
      const dst = arena.alloc(R * C * 4);
      k.transpose(R, C, put(src), dst);
      const out = get(dst, R * C);
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) expect(out[j * R + i]).toBe(src[i * C + j]);
    }
  });

  it('bias + activation and activation gradients match their definitions', () => {
    const M = 3;
    const N = 7;
    const z = random(M * N);
    const bias = random(N);
    const fns: Record<string, [number, (v: number) => number, (a: number) => number]> = {
      identity: [Activation.identity, (v) => v, () => 1],
      relu: [Activation.relu, (v) => Math.max(0, v), (a) => (a > 0 ? 1 : 0)],
      tanh: [Activation.tanh, Math.tanh, (a) => 1 - a * a],
      sigmoid: [Activation.sigmoid, (v) => 1 / (1 + Math.exp(-v)), (a) => a * (1 - a)],
    };
    for (const [act, f, df] of Object.values(fns)) {
      const pz = put(z);
      k.biasActivate(M, N, pz, put(bias), act);
      const a = get(pz, M * N);
      expectClose(
        a,
        Array.from(z, (v, i) => f(v + bias[i % N]!)),
        2e-6,
      );
      const g = random(M * N);
      const pg = put(g);
      k.activationGrad(M * N, pg, put(a), act);
      expectClose(
        get(pg, M * N),
        Array.from(g, (v, i) => v * df(a[i]!)),
        2e-6,
      );
    }
  });

  it('softmax cross-entropy: loss, correct count and scaled gradient', () => {
    const z = Float32Array.of(1, 2, 3, 0, 0, 5, -1, 0.5, 0.25);
    const labels = arena.alloc(3);
    arena.u8(labels, 3).set([2, 0, 1]);
    const stats = arena.alloc(16);
    arena.f64(stats, 2).fill(0);
    const pz = put(z);
    k.softmaxCrossEntropy(3, 3, pz, labels, 0.5, stats);
    const softmax = (r: number[]) => {
      const m = Math.max(...r);
      const e = r.map((v) => Math.exp(v - m));
      const s = e.reduce((x, y) => x + y);
      return e.map((v) => v / s);
    };
    const rows = [
      [1, 2, 3],
      [0, 0, 5],
      [-1, 0.5, 0.25],
    ].map(softmax);
    const lab = [2, 0, 1];
    const loss = rows.reduce((s, p, i) => s - Math.log(p[lab[i]!]!), 0);
    const [l, correct] = arena.f64(stats, 2);
    expect(l).toBeCloseTo(loss, 5);
    expect(correct).toBe(2); // rows 0 and 2 predict their label
    expectClose(
      get(pz, 9),
      rows.flatMap((p, i) => p.map((v, j) => 0.5 * (v - (j === lab[i] ? 1 : 0)))),
      1e-6,
    );
  });

  it('im2col / col2im are adjoint, and max-pooling routes gradients to each maximum', () => {
    // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for 'same' and 'valid'
    for (const [B, H, W, C, kk, pad] of [
      [2, 5, 6, 3, 3, 1],
      [1, 4, 4, 1, 3, 0],
      [2, 7, 5, 4, 5, 2],
    ] as const) {
      const OH = H + 2 * pad - kk + 1;
      const OW = W + 2 * pad - kk + 1;
      const x = random(B * H * W * C);
      const rows = B * OH * OW * kk * kk * C;
      const cols = arena.alloc(rows * 4);
      k.im2col(B, H, W, C, kk, pad, OH, OW, put(x), cols);
      const c = random(rows);
      const dx = put(new Float32Array(B * H * W * C));
      k.col2im(B, H, W, C, kk, pad, OH, OW, put(c), dx);
      const lhs = get(cols, rows).reduce((s2, v, i) => s2 + v * c[i]!, 0);
      const rhs = get(dx, B * H * W * C).reduce((s2, v, i) => s2 + v * x[i]!, 0);
      expect(lhs).toBeCloseTo(rhs, 3);
    }
    // one 2×2 window per channel, C = 5 (a SIMD group of 4 and a scalar tail)
    const C = 5;
    // window positions p = 0..3, channel c: ties in channel 1 (p 1 and 3), negative values in channel 4
    const x = Float32Array.from(
      { length: 4 * C },
      (_, i) =>
        [
          [3, 1, 2, 0, -7],
          [1, 5, 2, 0, -2],
          [0, 0, 9, 0, -9],
          [2, 5, 1, 4, -3],
        ][(i / C) | 0]![i % C]!,
    );
    const px = put(x);
    const y = arena.alloc(C * 4);
    k.maxPool2Forward(1, 2, 2, C, px, y);
    const expected = Array.from({ length: C }, (_, c) => Math.max(...[0, 1, 2, 3].map((p) => x[p * C + c]!)));
    expect(get(y, C)).toEqual(expected);
    const dx = arena.alloc(4 * C * 4);
    k.maxPool2Backward(1, 2, 2, C, px, y, put([1, 2, 3, 4, 5]), dx);
    const out = get(dx, 4 * C);
    for (let c = 0; c < C; c++) {
      const winner = [0, 1, 2, 3].find((p) => x[p * C + c] === expected[c])!;
      for (let p = 0; p < 4; p++) expect(out[p * C + c]).toBe(p === winner ? c + 1 : 0);
    }
  });

  it('MSE gradient and loss', () => {
    const stats = arena.alloc(16);
    arena.f64(stats, 2).fill(0);
    const pred = put([1, 2, 3]);
    k.mseGrad(3, pred, put([0, 2, 5]), 0.5, stats);
    expect(get(pred, 3)).toEqual([1, 0, -2]);
    expect(arena.f64(stats, 1)[0]).toBe(5);
  });

  it('column sums fold into a bias with alpha and beta', () => {
    const g = put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // 2 × 5
    const out = put([1, 1, 1, 1, 1]);
    k.columnSum(2, 5, g, out, -1, 1);
    expect(get(out, 5)).toEqual([1 - 7, 1 - 9, 1 - 11, 1 - 13, 1 - 15]);
  });

  it('dropout keeps about 1 − p, scales by 1/(1 − p), and its mask drives the backward pass', () => {
    const n = 20_000;
    const a = put(new Float32Array(n).fill(1));
    const mask = arena.alloc(n * 4);
    const next = k.dropoutForward(n, a, mask, 0.25, 99);
    expect(next).not.toBe(99);
    const out = get(a, n);
    const kept = out.filter((v) => v !== 0);
    expect(Math.abs(kept.length / n - 0.75)).toBeLessThan(0.02);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.75)]));
    const g = put(new Float32Array(n).fill(2));
    k.multiplyInto(n, g, mask);
    expect(get(g, n)).toEqual(out.map((v) => Math.fround(2 * v)));
    // the same seed gives the same mask
    const a2 = put(new Float32Array(n).fill(1));
    k.dropoutForward(n, a2, arena.alloc(n * 4), 0.25, 99);
    expect(get(a2, n)).toEqual(out);
  });

  it('SGD, momentum, Nesterov and L2 match hand-computed updates', () => {
    // w = 1, g = 0.5, lr = 0.1, wd = 0.2 → effective g = 0.7
    const cases: [number, number, number, number][] = [
      // mu, nesterov, expected w, expected v (start v = 0.3)
      [0, 0, 1 - 0.1 * 0.7, 0.3],
      [0.9, 0, 1 - 0.1 * (0.9 * 0.3 + 0.7), 0.9 * 0.3 + 0.7],
      [0.9, 1, 1 - 0.1 * (0.7 + 0.9 * (0.9 * 0.3 + 0.7)), 0.9 * 0.3 + 0.7],
    ];
    for (const [mu, nesterov, w1, v1] of cases) {
      const w = put([1, 1, 1, 1, 1]);
      const v = put([0.3, 0.3, 0.3, 0.3, 0.3]);
      k.sgdUpdate(5, w, put([0.5, 0.5, 0.5, 0.5, 0.5]), v, 0.1, mu, 0.2, nesterov);
      for (const x of get(w, 5)) expect(x).toBeCloseTo(w1, 6);
      for (const x of get(v, 5)) expect(x).toBeCloseTo(v1, 6);
    }
  });

  it('Adam matches a hand-computed first and second step', () => {
    const lr = 0.01;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    let w = 0.5;
    let m = 0;
    let v = 0;
    const pw = put([0.5]);
    const pm = put([0]);
    const pv = put([0]);
    for (const [t, g] of [
      [1, 0.2],
      [2, -0.1],
    ] as const) {
      const gd = g + 0.01 * w;
      m = b1 * m + (1 - b1) * gd;
      v = b2 * v + (1 - b2) * gd * gd;
      w -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
      const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      k.adamUpdate(1, pw, put([g]), pm, pv, lrT, b1, 1 - b1, b2, 1 - b2, eps * Math.sqrt(1 - b2 ** t), 0.01);
      expect(get(pw, 1)[0]).toBeCloseTo(w, 6);
    }
  });

  it('axpy and scale', () => {
    const y = put([1, 2, 3, 4, 5]);
    k.axpy(5, 2, put([1, 1, 1, 1, 1]), y);
    expect(get(y, 5)).toEqual([3, 4, 5, 6, 7]);
    k.scale(5, y, 0.5);
    expect(get(y, 5)).toEqual([1.5, 2, 2.5, 3, 3.5]);
  });
});
