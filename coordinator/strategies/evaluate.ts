import { deriveSeed } from '../../shared/rng.ts';
import { sampleClients } from './sampling.ts';
import type { ClientInfo, EvaluateAggregate, EvaluateOutcome, StrategyContext } from './strategy.ts';
import { InvalidArgumentError } from '../../shared/errors.ts';

/**
 * The clients that evaluate round `round`'s model: a seeded fraction (fractionEvaluate),
 * drawn like configureFit's sample but from its own stream, so the two samples are
 * independent; every client when the context sets no evaluation sampling.
 */
export function evaluateClients(ctx: StrategyContext, round: number, available: readonly ClientInfo[]): ClientInfo[] {
  const s = ctx.evaluateSampling ?? { fraction: 1, min: 1, seed: ctx.sampling.seed };
  return sampleClients(available, round, { ...s, seed: deriveSeed(s.seed, 0xe7a1) });
}

/**
 * Federated evaluation's aggregate: for each metric, Σ n_k m_k / Σ n_k over the
 * results that report it (n_k: the client's scored rows); results with no rows
 * carry no weight. Pure; the keys come out sorted.
 */
export function weightedMetrics(results: readonly EvaluateOutcome[]): EvaluateAggregate {
  const sums = new Map<string, { sum: number; n: number }>();
  let numExamples = 0;
  for (const r of results) {
    if (!(r.numExamples >= 0) || !Number.isFinite(r.numExamples))
      throw new InvalidArgumentError(`weightedMetrics: ${r.client.name} reports ${r.numExamples} examples`);
    numExamples += r.numExamples;
    if (r.numExamples === 0) continue;
    for (const [key, value] of Object.entries(r.metrics)) {
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`weightedMetrics: ${r.client.name} reports ${key} = ${value}`);
      const acc = sums.get(key) ?? { sum: 0, n: 0 };
      acc.sum += r.numExamples * value;
      acc.n += r.numExamples;
      sums.set(key, acc);
    }
  }
  const metrics: Record<string, number> = {};
  for (const key of [...sums.keys()].sort()) metrics[key] = sums.get(key)!.sum / sums.get(key)!.n;
  return { numExamples, metrics };
}
