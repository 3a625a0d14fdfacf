// Convolution and pooling helpers, NHWC layout, stride 1. A convolution is
// im2col + the GEMM of gemm.ts: each output pixel's k×k×C patch becomes one row
// of `cols` [B·OH·OW, k·k·C], so cols · W[k·k·C, F] is the output in NHWC order.

/** Builds the patch matrix. pad = (k−1)/2 for 'same', 0 for 'valid'; out-of-image taps are 0. */
export function im2col(B: i32, H: i32, W: i32, C: i32, k: i32, pad: i32, OH: i32, OW: i32, src: usize, cols: usize): void {
  const rowBytes = <usize>C << 2;
  let dst = cols;
  for (let b = 0; b < B; b++) {
    const img = src + <usize>b * <usize>H * <usize>W * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < k; kh++) {
          const ih = oh + kh - pad;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow + kw - pad;
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            if (C == 1) store<f32>(dst, inside ? load<f32>(img + ((<usize>ih * <usize>W + <usize>iw) << 2)) : 0);
            else if (inside) memory.copy(dst, img + (<usize>ih * <usize>W + <usize>iw) * rowBytes, rowBytes);
            else memory.fill(dst, 0, rowBytes);
            dst += rowBytes;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each patch row of `cols` back into dx (which the caller zeroes). */
export function col2im(B: i32, H: i32, W: i32, C: i32, k: i32, pad: i32, OH: i32, OW: i32, cols: usize, dx: usize): void {
  const C4 = C & ~3;
  let src = cols;
  for (let b = 0; b < B; b++) {
    const img = dx + ((<usize>b * <usize>H * <usize>W * <usize>C) << 2);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < k; kh++) {
          const ih = oh + kh - pad;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow + kw - pad;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              const d = img + ((<usize>ih * <usize>W + <usize>iw) * <usize>C << 2);
              let c = 0;
              for (; c < C4; c += 4) {
                const o = <usize>c << 2;
                v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(src + o)));
              }
              for (; c < C; c++) {
                const o = <usize>c << 2;
                store<f32>(d + o, load<f32>(d + o) + load<f32>(src + o));
              }
            }
            src += <usize>C << 2;
          }
        }
      }
    }
  }
}

/**
 * 2×2 max-pooling with stride 2 (H and W even), vectorised over channels. The
 * backward pass finds each window's maximum again from the input and output, so
 * nothing else is stored.
 */
export function maxPool2Forward(B: i32, H: i32, W: i32, C: i32, src: usize, dst: usize): void {
  const OH = H >> 1;
  const OW = W >> 1;
  const cBytes = <usize>C << 2;
  const rowBytes = <usize>W * cBytes;
  const C4 = C & ~3;
  let o = dst;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const top = src + (<usize>b * <usize>H + <usize>(2 * oh)) * rowBytes;
      for (let ow = 0; ow < OW; ow++) {
        const p0 = top + <usize>(2 * ow) * cBytes;
        let c = 0;
        for (; c < C4; c += 4) {
          const q = <usize>c << 2;
          const m01 = f32x4.max(v128.load(p0 + q), v128.load(p0 + cBytes + q));
          const m23 = f32x4.max(v128.load(p0 + rowBytes + q), v128.load(p0 + rowBytes + cBytes + q));
          v128.store(o + q, f32x4.max(m01, m23));
        }
        for (; c < C; c++) {
          const q = <usize>c << 2;
          const m01 = max<f32>(load<f32>(p0 + q), load<f32>(p0 + cBytes + q));
          const m23 = max<f32>(load<f32>(p0 + rowBytes + q), load<f32>(p0 + rowBytes + cBytes + q));
          store<f32>(o + q, max<f32>(m01, m23));
        }
        o += cBytes;
      }
    }
  }
}

/**
 * Routes each pooled gradient to its window's maximum (the first of equal maxima,
 * in the order top-left, top-right, bottom-left, bottom-right); dx is fully written.
 */
export function maxPool2Backward(B: i32, H: i32, W: i32, C: i32, x: usize, y: usize, dy: usize, dx: usize): void {
  const OH = H >> 1;
  const OW = W >> 1;
  const cBytes = <usize>C << 2;
  const rowBytes = <usize>W * cBytes;
  const C4 = C & ~3;
  let off: usize = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const base = (<usize>b * <usize>H + <usize>(2 * oh)) * rowBytes;
      for (let ow = 0; ow < OW; ow++) {
        const p = base + <usize>(2 * ow) * cBytes;
        let c = 0;
        for (; c < C4; c += 4) {
          const q = <usize>c << 2;
          const m = v128.load(y + off + q);
          const g = v128.load(dy + off + q);
          const e0 = f32x4.eq(v128.load(x + p + q), m);
          const e1 = v128.andnot(f32x4.eq(v128.load(x + p + cBytes + q), m), e0);
          const taken = v128.or(e0, e1);
          const e2 = v128.andnot(f32x4.eq(v128.load(x + p + rowBytes + q), m), taken);
          const e3 = v128.not(v128.or(taken, e2));
          v128.store(dx + p + q, v128.and(g, e0));
          v128.store(dx + p + cBytes + q, v128.and(g, e1));
          v128.store(dx + p + rowBytes + q, v128.and(g, e2));
          v128.store(dx + p + rowBytes + cBytes + q, v128.and(g, e3));
        }
        for (; c < C; c++) {
          const q = <usize>c << 2;
          const m = load<f32>(y + off + q);
          const g = load<f32>(dy + off + q);
          let idx = 3;
          if (load<f32>(x + p + q) == m) idx = 0;
          else if (load<f32>(x + p + cBytes + q) == m) idx = 1;
          else if (load<f32>(x + p + rowBytes + q) == m) idx = 2;
          store<f32>(dx + p + q, idx == 0 ? g : 0);
          store<f32>(dx + p + cBytes + q, idx == 1 ? g : 0);
          store<f32>(dx + p + rowBytes + q, idx == 2 ? g : 0);
          store<f32>(dx + p + rowBytes + cBytes + q, idx == 3 ? g : 0);
        }
        off += cBytes;
      }
    }
  }
}
