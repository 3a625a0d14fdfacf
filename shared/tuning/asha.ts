import { InvalidArgumentError } from '../errors.ts';
/**
 * Asynchronous successive halving (ASHA, Li et al. 2020) over rounds: every trial
 * first runs `rungs[0]` rounds; whenever a worker is free, a trial that is in the top
 * 1/η of the finished trials at some rung (and has not been promoted from it) is
 * promoted to the next rung's round count, the highest rung first; otherwise a new
 * trial starts. Pure bookkeeping: the runner asks, runs, and reports.
 */
export interface RungResult {
  readonly trial: number;
  /** Index into the rungs. */
  readonly rung: number;
  /** Validation score (higher is better); null when the trial failed at this rung. */
  readonly score: number | null;
}

export interface AshaOptions {
  /** Round counts, strictly increasing (e.g. [2, 6, 18]). One rung: no early stopping. */
  readonly rungs: readonly number[];
  /** Reduction factor η ≥ 2: the top 1/η of a rung is promoted. */
  readonly eta: number;
}

export function checkAsha(options: AshaOptions): void {
  if (options.rungs.length === 0) throw new InvalidArgumentError('rungs: at least one round count');
  options.rungs.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 1) throw new InvalidArgumentError(`rungs: ${r} is not a positive whole number of rounds`);
    if (i > 0 && r <= options.rungs[i - 1]!) throw new InvalidArgumentError(`rungs must increase, got ${options.rungs.join(', ')}`);
  });
  if (!Number.isInteger(options.eta) || options.eta < 2) throw new InvalidArgumentError(`eta must be a whole number ≥ 2, got ${options.eta}`);
}

/**
 * The next promotion, or undefined: scanning from the second-highest rung down, the
 * best trial at that rung that is in its top ⌊n/η⌋ (n counting failed trials, ranked
 * last) and neither promoted nor running
 * at the next rung. `started` holds "trial:rung" for every job started (running or done).
 */
export function nextPromotion(results: readonly RungResult[], options: AshaOptions, started: ReadonlySet<string>): { trial: number; rung: number } | undefined {
  for (let rung = options.rungs.length - 2; rung >= 0; rung--) {
    // a failed trial counts as finished at the bottom of its rung
    const finished = results.filter((r) => r.rung === rung);
    const scored = finished.filter((r) => r.score !== null).sort((a, b) => b.score! - a.score! || a.trial - b.trial);
    const top = scored.slice(0, Math.floor(finished.length / options.eta));
    const pick = top.find((r) => !started.has(jobKey(r.trial, rung + 1)));
    if (pick) return { trial: pick.trial, rung: rung + 1 };
  }
  return undefined;
}

export function jobKey(trial: number, rung: number): string {
  return `${trial}:${rung}`;
}
