// Elementwise and row-wise kernels of dense layers: bias + activation, activation
// gradients, losses, bias gradients, dropout. Row-major f32, byte-offset pointers.

export const ACT_IDENTITY = 0;
export const ACT_RELU = 1;
export const ACT_TANH = 2;
export const ACT_SIGMOID = 3;

/** z[i, :] = act(z[i, :] + bias) for M rows of N, in place. */
export function biasActivate(M: i32, N: i32, z: usize, bias: usize, act: i32): void {
  const N4 = N & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < M; i++) {
    const row = z + ((<usize>i * <usize>N) << 2);
    if (act == ACT_RELU || act == ACT_IDENTITY) {
      let j = 0;
      for (; j < N4; j += 4) {
        let v = f32x4.add(v128.load(row + (<usize>j << 2)), v128.load(bias + (<usize>j << 2)));
        if (act == ACT_RELU) v = f32x4.max(v, zero);
        v128.store(row + (<usize>j << 2), v);
      }
      for (; j < N; j++) {
        let v = load<f32>(row + (<usize>j << 2)) + load<f32>(bias + (<usize>j << 2));
        if (act == ACT_RELU) v = max<f32>(v, 0);
        store<f32>(row + (<usize>j << 2), v);
      }
    } else {
      for (let j = 0; j < N; j++) {
        const v = load<f32>(row + (<usize>j << 2)) + load<f32>(bias + (<usize>j << 2));
        store<f32>(row + (<usize>j << 2), act == ACT_TANH ? Mathf.tanh(v) : <f32>1 / (<f32>1 + Mathf.exp(-v)));
      }
    }
  }
}

/** g *= act'(·), written in terms of the activation's output a (n values). */
export function activationGrad(n: i32, g: usize, a: usize, act: i32): void {
  const n4 = n & ~3;
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  let i = 0;
  for (; i < n4; i += 4) {
    const p = <usize>i << 2;
    const av = v128.load(a + p);
    const gv = v128.load(g + p);
    let d: v128;
    if (act == ACT_RELU) d = v128.and(gv, f32x4.gt(av, zero));
    else if (act == ACT_TANH) d = f32x4.mul(gv, f32x4.sub(one, f32x4.mul(av, av)));
    else if (act == ACT_SIGMOID) d = f32x4.mul(gv, f32x4.mul(av, f32x4.sub(one, av)));
    else d = gv;
    v128.store(g + p, d);
  }
  for (; i < n; i++) {
    const p = <usize>i << 2;
    const av = load<f32>(a + p);
    const gv = load<f32>(g + p);
    let d: f32;
    if (act == ACT_RELU) d = av > 0 ? gv : 0;
    else if (act == ACT_TANH) d = gv * (1 - av * av);
    else if (act == ACT_SIGMOID) d = gv * av * (1 - av);
    else d = gv;
    store<f32>(g + p, d);
  }
}

/**
 * Softmax cross-entropy over M rows of N logits, in place: z becomes
 * scale · (softmax(z) − onehot(label)), the loss gradient times `scale`.
 * Adds Σ loss to stats[0] and the number of correct argmax predictions to stats[1] (f64).
 */
export function softmaxCrossEntropy(M: i32, N: i32, z: usize, labels: usize, scale: f32, stats: usize): void {
  let lossSum: f64 = 0;
  let correct: f64 = 0;
  for (let i = 0; i < M; i++) {
    const row = z + ((<usize>i * <usize>N) << 2);
    const label = <i32>load<u8>(labels + <usize>i);
    let mx = load<f32>(row);
    let arg = 0;
    for (let j = 1; j < N; j++) {
      const v = load<f32>(row + (<usize>j << 2));
      if (v > mx) {
        mx = v;
        arg = j;
      }
    }
    let sum: f32 = 0;
    for (let j = 0; j < N; j++) {
      const e = Mathf.exp(load<f32>(row + (<usize>j << 2)) - mx);
      store<f32>(row + (<usize>j << 2), e);
      sum += e;
    }
    const inv = <f32>1 / sum;
    const pLabel = load<f32>(row + (<usize>label << 2)) * inv;
    lossSum += -Math.log(<f64>max<f32>(pLabel, 1e-30));
    if (arg == label) correct += 1;
    for (let j = 0; j < N; j++) {
      const p = load<f32>(row + (<usize>j << 2)) * inv;
      store<f32>(row + (<usize>j << 2), scale * (j == label ? p - 1 : p));
    }
  }
  store<f64>(stats, load<f64>(stats) + lossSum);
  store<f64>(stats, load<f64>(stats, 8) + correct, 8);
}

/**
 * Mean-squared-error over n predictions, in place: pred becomes scale · 2(pred − target).
 * Adds Σ (pred − target)² to stats[0] (f64).
 */
export function mseGrad(n: i32, pred: usize, target: usize, scale: f32, stats: usize): void {
  let sq: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    const d = load<f32>(pred + p) - load<f32>(target + p);
    sq += <f64>d * <f64>d;
    store<f32>(pred + p, scale * 2 * d);
  }
  store<f64>(stats, load<f64>(stats) + sq);
}

/** out[j] = beta·out[j] + alpha · Σ_i g[i, j] (bias gradients; alpha < 0 fuses the SGD step). */
export function columnSum(M: i32, N: i32, g: usize, out: usize, alpha: f32, beta: f32): void {
  const N4 = N & ~3;
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  let j = 0;
  for (; j < N4; j += 4) {
    let s = f32x4.splat(0);
    for (let i = 0; i < M; i++) s = f32x4.add(s, v128.load(g + ((<usize>i * <usize>N + <usize>j) << 2)));
    const o = out + (<usize>j << 2);
    v128.store(o, f32x4.add(f32x4.mul(vb, v128.load(o)), f32x4.mul(va, s)));
  }
  for (; j < N; j++) {
    let s: f32 = 0;
    for (let i = 0; i < M; i++) s += load<f32>(g + ((<usize>i * <usize>N + <usize>j) << 2));
    const o = out + (<usize>j << 2);
    store<f32>(o, beta * load<f32>(o) + alpha * s);
  }
}

/**
 * Inverted dropout, forward: each of n activations is kept with probability 1 − p and
 * scaled by 1/(1 − p); the per-element factor (0 or 1/(1 − p)) is written to `mask` for
 * the backward pass. Randomness: xorshift32 from `seed` (non-zero), returned advanced.
 */
export function dropoutForward(n: i32, a: usize, mask: usize, p: f32, seed: u32): u32 {
  let s = seed == 0 ? 0x9e3779b9 : seed;
  const keep = <f32>1 / (<f32>1 - p);
  const threshold = <u32>(<f64>p * 4294967296.0);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    const m: f32 = s >= threshold ? keep : 0;
    const q = <usize>i << 2;
    store<f32>(mask + q, m);
    store<f32>(a + q, load<f32>(a + q) * m);
  }
  return s;
}

/** x *= y elementwise over n values (dropout backward: g *= mask). */
export function multiplyInto(n: i32, x: usize, y: usize): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const p = <usize>i << 2;
    v128.store(x + p, f32x4.mul(v128.load(x + p), v128.load(y + p)));
  }
  for (; i < n; i++) {
    const p = <usize>i << 2;
    store<f32>(x + p, load<f32>(x + p) * load<f32>(y + p));
  }
}

/** z[i, :] += bias, then max(·, 0) when `relu` (M rows of N). Data-free: also built into the shared-memory module. */
export function biasRelu(M: i32, N: i32, z: usize, bias: usize, relu: bool): void {
  const N4 = N & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < M; i++) {
    const row = z + ((<usize>i * <usize>N) << 2);
    let j = 0;
    for (; j < N4; j += 4) {
      let v = v128.load(row + (<usize>j << 2));
      if (bias) v = f32x4.add(v, v128.load(bias + (<usize>j << 2)));
      if (relu) v = f32x4.max(v, zero);
      v128.store(row + (<usize>j << 2), v);
    }
    for (; j < N; j++) {
      let v = load<f32>(row + (<usize>j << 2));
      if (bias) v += load<f32>(bias + (<usize>j << 2));
      if (relu) v = max<f32>(v, 0);
      store<f32>(row + (<usize>j << 2), v);
    }
  }
}
