import { InvalidArgumentError } from '../errors.ts';
/**
 * From Rényi DP to (ε, δ)-DP, minimised over the orders evaluated.
 *
 * - `tight` (the default): Balle, Barthe, Gaboardi, Hsu and Sato 2020 (Thm 21),
 *   as used by TF-Privacy's `compute_dp_sgd_privacy` and by Opacus:
 *   ε = rdp + log1p(−1/α) − (log δ + log α)/(α − 1), with ε = 0 where
 *   δ² + expm1(−rdp) ≥ 0 (the RDP bound alone already gives δ), and orders
 *   α ≤ 1.01 skipped (TF-Privacy's guard against the 1/(α−1) blow-up).
 * - `classic`: Mironov 2017, Prop. 3: ε = rdp + log(1/δ)/(α − 1).
 *
 * Both are valid upper bounds; the tight one is never larger.
 */
export type RdpConversion = 'tight' | 'classic';

export interface EpsilonAtOrder {
  readonly epsilon: number;
  /** The order α at which the minimum was reached. */
  readonly order: number;
}

export function epsilonAtOrder(order: number, rdp: number, delta: number, conversion: RdpConversion = 'tight'): number {
  if (!(order > 1)) throw new InvalidArgumentError(`RDP order must be > 1 (got ${order})`);
  if (!(rdp >= 0)) throw new InvalidArgumentError(`RDP must be ≥ 0 (got ${rdp} at order ${order})`);
  if (rdp === Infinity) return Infinity;
  if (conversion === 'classic') return rdp + Math.log(1 / delta) / (order - 1);
  if (delta * delta + Math.expm1(-rdp) >= 0) return 0;
  if (order <= 1.01) return Infinity;
  return rdp + Math.log1p(-1 / order) - (Math.log(delta) + Math.log(order)) / (order - 1);
}

/** The smallest ε over the orders, and its order; ε is clamped at 0 from below. */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number, conversion: RdpConversion = 'tight'): EpsilonAtOrder {
  if (!(delta > 0 && delta < 1)) throw new InvalidArgumentError(`δ must be in (0, 1) (got ${delta})`);
  if (orders.length === 0 || orders.length !== rdp.length)
    throw new InvalidArgumentError(`need one RDP value per order (got ${orders.length} orders, ${rdp.length} values)`);
  let best: EpsilonAtOrder = { epsilon: Infinity, order: orders[0]! };
  orders.forEach((a, i) => {
    const eps = epsilonAtOrder(a, rdp[i]!, delta, conversion);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}
