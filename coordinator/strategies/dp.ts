import { ConfigError } from '../../shared/errors.ts';
import {
  RdpAccountant,
  adaptClip,
  defaultBitNoise,
  dpFedAvg,
  formatDpSpec,
  updateNoiseMultiplier,
  type DpSpec,
  type NoiseSource,
} from '../../shared/privacy/index.ts';
import { requireFinite } from './common.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/** The privacy spent so far, as the round records report it; `clip` is the norm the next round uses (it moves under adaptive clipping). */
export type PrivacySpent = ReturnType<NonNullable<Strategy['privacy']>>;

export interface DpOptions {
  readonly spec: DpSpec;
  readonly delta: number;
  /** Where the coordinator's noise comes from (a ChaCha20 CSPRNG; seeded only in simulations). */
  readonly source: NoiseSource;
}

/**
 * Differential privacy around a strategy that averages.
 *
 * central (DP-FedAvg, McMahan et al. 2018): the coordinator clips each client's delta
 * to S, releases Σ clip(Δ_k)/(qN) + N(0, σ²) with σ = z·S/(qN) — qN the clients a
 * round asks, a fixed denominator so one client moves the result by at most S/(qN)
 * — and hands that one update to the inner strategy (FedAvg applies it; FedAvgM,
 * FedAdam … use it as their pseudo-gradient). With `adaptive` the clip follows the
 * target quantile of the update norms (Andrew et al. 2021), the noise budget split
 * between the update (z_Δ) and the clipped count (σ_b).
 *
 * local: each client clips and noises its own delta (the fit task carries S and z;
 * client/agent.ts applies them); the inner strategy averages as usual.
 *
 * Either way an RDP accountant tracks (ε, δ) for a client's data: central rounds are
 * the sampled Gaussian mechanism at q = qN/N (the round's sample, accounted as if
 * Poisson-sampled at that rate); local rounds at q = 1, since the coordinator sees
 * who took part.
 *
 * A round the loop skips (the inner step's model is not finite: an AggregationError)
 * still counts for the accountant: the mechanism ran (local: the clients' noised deltas
 * reached the coordinator; central: the noise was drawn, and skipping is a function of
 * the release), so leaving it out would understate ε. The adaptive clip, like the inner
 * strategy's state, moves only in a round whose model enters.
 */
export function withDp(inner: Strategy, ctx: StrategyContext, o: DpOptions): Strategy & { privacy(): PrivacySpent } {
  if (inner.needsAllUpdates) {
    throw new ConfigError(`dp: ${inner.name} needs every individual update (a robust aggregator), which differential privacy's clipped, noised average replaces; use fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad`);
  }
  const { spec } = o;
  const expected = Math.max(1, Math.min(ctx.clients, Math.max(ctx.sampling.min, Math.ceil(ctx.sampling.fraction * ctx.clients))));
  const q = spec.mode === 'central' ? expected / ctx.clients : 1;
  const bitNoise = spec.adaptive ? (spec.adaptive.bitNoise ?? defaultBitNoise(expected)) : undefined;
  // under adaptive clipping part of the budget noises the clipped count; the update gets z_Δ
  const updateZ = bitNoise !== undefined ? updateNoiseMultiplier(spec.noiseMultiplier, bitNoise) : spec.noiseMultiplier;
  const accountant = new RdpAccountant();
  let clip = spec.clip;

  const privacy = (): PrivacySpent => ({ epsilon: accountant.steps === 0 ? 0 : accountant.epsilon(o.delta).epsilon, delta: o.delta, clip });

  return {
    ...inner,
    name: inner.name,
    configureFit(round, available, base) {
      // local DP: the clip and noise travel with the task; the client applies them
      const config = spec.mode === 'local' ? { ...base, localDp: { clip, noiseMultiplier: spec.noiseMultiplier } } : base;
      return inner.configureFit(round, available, config);
    },
    aggregateFit(round, global, results, failures) {
      // counted before anything can fail: see above, a skipped round spends privacy too
      accountant.step(q, spec.noiseMultiplier);
      if (spec.mode === 'local') return inner.aggregateFit(round, global, results, failures);
      const released = dpFedAvg(
        results.map((r) => r.delta),
        { clip, noiseMultiplier: updateZ, expectedClients: expected, source: o.source, dimension: global.length },
      );
      const nextClip = spec.adaptive && bitNoise !== undefined
        ? adaptClip(clip, released.norms, { targetQuantile: spec.adaptive.targetQuantile, learningRate: spec.adaptive.learningRate, bitNoise, expectedClients: expected, source: o.source }).clip
        : clip;
      const update = { client: { id: 'dp', name: '(dp aggregate)' }, numExamples: 1, delta: released.update, metrics: {} };
      const next = requireFinite(inner.aggregateFit(round, global, [update], failures), inner.name);
      clip = nextClip;
      return next;
    },
    toConfig: () => ({ ...inner.toConfig(), dp: formatDpSpec(spec), dpDelta: o.delta }),
    privacy,
  };
}
