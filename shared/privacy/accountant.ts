import { sampledGaussianRdp } from './rdp.ts';
import { type EpsilonAtOrder, type RdpConversion, epsilonFromRdp } from './rdp-to-dp.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * The orders the accountant tracks: TF-Privacy's default list
 * (1.1, 1.2, …, 10.9, then 11, 12, …, 63, then 128, 256, 512).
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128,
  256,
  512,
]);

/** An accountant's state: the RDP spent at each of its orders, and the steps recorded. */
export interface AccountantSnapshot {
  readonly rdp: readonly number[];
  readonly steps: number;
}

/**
 * A running RDP account of sampled Gaussian steps. Each round of DP-FedAvg is
 * one step with q = expected clients / population and z = the noise multiplier
 * (for adaptive clipping, the *total* z, not the update's z_Δ). RDP at each
 * order adds up over steps; `epsilon(δ)` converts at the end.
 */
export class RdpAccountant {
  readonly orders: readonly number[];
  private readonly total: number[];
  private readonly cache = new Map<string, readonly number[]>();
  private count = 0;

  constructor(orders: readonly number[] = DEFAULT_ORDERS) {
    if (orders.length === 0) throw new InvalidArgumentError('the accountant needs at least one order');
    for (const a of orders) if (!(a > 1) || !Number.isFinite(a)) throw new InvalidArgumentError(`RDP orders must be finite and > 1 (got ${a})`);
    this.orders = Object.freeze([...orders]);
    this.total = orders.map(() => 0);
  }

  /** Records `steps` steps at sampling rate q with noise multiplier z. */
  step(q: number, z: number, steps = 1): void {
    if (!Number.isInteger(steps) || steps < 0) throw new InvalidArgumentError(`steps must be a whole number ≥ 0 (got ${steps})`);
    const key = `${q}/${z}`;
    let one = this.cache.get(key);
    if (!one) {
      one = this.orders.map((a) => sampledGaussianRdp(q, z, a));
      this.cache.set(key, one);
    }
    one.forEach((r, i) => {
      this.total[i]! += steps * r;
    });
    this.count += steps;
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.count;
  }

  /** The accumulated RDP at each of `orders`. */
  rdp(): readonly number[] {
    return [...this.total];
  }

  /** The account as a checkpoint keeps it: the RDP total at each order and the steps behind it. */
  snapshot(): AccountantSnapshot {
    return { rdp: [...this.total], steps: this.count };
  }

  /** Continues from `s`, an account of this accountant's orders. */
  restore(s: AccountantSnapshot): void {
    if (s.rdp.length !== this.orders.length) throw new InvalidArgumentError(`an account of ${s.rdp.length} orders cannot restore one of ${this.orders.length}`);
    if (!Number.isInteger(s.steps) || s.steps < 0) throw new InvalidArgumentError(`steps must be a whole number ≥ 0 (got ${s.steps})`);
    s.rdp.forEach((r, i) => {
      if (!(r >= 0)) throw new InvalidArgumentError(`RDP at order ${this.orders[i]} must be ≥ 0 (got ${r})`);
      this.total[i] = r;
    });
    this.count = s.steps;
  }

  /** The (ε, δ) guarantee so far: the smallest ε over the orders and where it was found. */
  epsilon(delta: number, conversion: RdpConversion = 'tight'): EpsilonAtOrder {
    return epsilonFromRdp(this.orders, this.total, delta, conversion);
  }
}
