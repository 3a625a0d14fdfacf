// Optimizer updates over flat parameter arrays (n values). L2 weight decay `wd`
// adds wd·w to the gradient. Learning rates arrive already bias-corrected where
// the optimizer needs it (Adam), so these stay pure elementwise loops.

/** y += alpha · x */
export function axpy(n: i32, alpha: f32, x: usize, y: usize): void {
  const n4 = n & ~3;
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i < n4; i += 4) {
    const p = <usize>i << 2;
    v128.store(y + p, f32x4.add(v128.load(y + p), f32x4.mul(va, v128.load(x + p))));
  }
  for (; i < n; i++) {
    const p = <usize>i << 2;
    store<f32>(y + p, load<f32>(y + p) + alpha * load<f32>(x + p));
  }
}

/** x *= s */
export function scale(n: i32, x: usize, s: f32): void {
  const n4 = n & ~3;
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i < n4; i += 4) {
    const p = <usize>i << 2;
    v128.store(x + p, f32x4.mul(v128.load(x + p), vs));
  }
  for (; i < n; i++) {
    const p = <usize>i << 2;
    store<f32>(x + p, load<f32>(x + p) * s);
  }
}

/**
 * SGD with momentum μ (heavy ball, or Nesterov): v = μ·v + (g + wd·w);
 * w −= lr·v, or for Nesterov w −= lr·(g + wd·w + μ·v). μ = 0 is plain SGD.
 */
export function sgdUpdate(n: i32, w: usize, g: usize, v: usize, lr: f32, mu: f32, wd: f32, nesterov: bool): void {
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    const wi = load<f32>(w + p);
    const gi = load<f32>(g + p) + wd * wi;
    if (mu == 0) {
      store<f32>(w + p, wi - lr * gi);
      continue;
    }
    const vi = mu * load<f32>(v + p) + gi;
    store<f32>(v + p, vi);
    store<f32>(w + p, wi - lr * (nesterov ? gi + mu * vi : vi));
  }
}

/**
 * Adam (Kingma & Ba 2015) with L2 decay added to the gradient:
 * m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w −= lrT · m / (√v + epsT),
 * where the caller passes lrT = lr·√(1−β2^t)/(1−β1^t), epsT = eps·√(1−β2^t), and
 * 1 − β1, 1 − β2 computed in double precision (0.999 has no exact f32: 1 − f32(0.999)
 * would be off by 1e-5 relative).
 */
export function adamUpdate(n: i32, w: usize, g: usize, m: usize, v: usize, lrT: f32, b1: f32, c1: f32, b2: f32, c2: f32, epsT: f32, wd: f32): void {
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    const wi = load<f32>(w + p);
    const gi = load<f32>(g + p) + wd * wi;
    const mi = b1 * load<f32>(m + p) + c1 * gi;
    const vi = b2 * load<f32>(v + p) + c2 * gi * gi;
    store<f32>(m + p, mi);
    store<f32>(v + p, vi);
    store<f32>(w + p, wi - (lrT * mi) / (Mathf.sqrt(vi) + epsT));
  }
}

/** AdaGrad: G ← G + g²; w −= lr · g / (√G + eps), with g including wd·w. */
export function adagradUpdate(n: i32, w: usize, g: usize, acc: usize, lr: f32, eps: f32, wd: f32): void {
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    const wi = load<f32>(w + p);
    const gi = load<f32>(g + p) + wd * wi;
    const a = load<f32>(acc + p) + gi * gi;
    store<f32>(acc + p, a);
    store<f32>(w + p, wi - (lr * gi) / (Mathf.sqrt(a) + eps));
  }
}

/** RMSprop: s ← ρ·s + (1 − ρ)·g²; w −= lr · g / (√s + eps), with g including wd·w; `c` = 1 − ρ from the caller. */
export function rmspropUpdate(n: i32, w: usize, g: usize, acc: usize, lr: f32, rho: f32, c: f32, eps: f32, wd: f32): void {
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    const wi = load<f32>(w + p);
    const gi = load<f32>(g + p) + wd * wi;
    const a = rho * load<f32>(acc + p) + c * gi * gi;
    store<f32>(acc + p, a);
    store<f32>(w + p, wi - (lr * gi) / (Mathf.sqrt(a) + eps));
  }
}
