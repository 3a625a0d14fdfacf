import type { FitConfig } from '../../../shared/protocol/fit-config.ts';
import {
  adaptClip,
  defaultBitNoise,
  dpFedAvgFold,
  updateNoiseMultiplier,
  type DpSpec,
  type NoisePosition,
  type NoiseSource,
} from '../../../shared/privacy/index.ts';
import { fullRound } from '../sampling.ts';
import type { ClientInfo, StrategyContext } from '../strategy.ts';
import { foldAll, usableFold, type CombineFold, type Combiner, type RoundInfo } from './combiner.ts';
import { type LedgerState, privacyLedger, type PrivacyLedger } from './privacy-ledger.ts';
import { meanFold } from './weighted-mean.ts';

export interface DpOptions {
  readonly spec: DpSpec;
  readonly delta: number;
  /** Where the coordinator's noise comes from (a ChaCha20 CSPRNG; seeded only in simulations). */
  readonly source: NoiseSource;
  /**
   * Whether the client sample is drawn from a secret source (ctx.sampling.random = secretRng).
   * Amplification by sampling assumes it; with a replayable (seeded) sample the report adds
   * each client's unamplified ε.
   */
  readonly samplingSecret: boolean;
  /** Whether the strategy counts stragglers' partial work (local DP averages like the strategy would). */
  readonly acceptsPartialWork: boolean;
}

/** Differential privacy's part of a run: its fit side, its combiner, and the privacy spent, read through `privacy`. */
export interface DpRelease {
  /** Local DP: the clip and noise travel with each fit task (client/agent.ts applies them); central DP: the config as it is. */
  configure(base: FitConfig): FitConfig;
  /** Central DP: notes the rate round `round` samples at, its `asked` clients over the `available` ones. */
  sampled(round: number, asked: number, available: number): void;
  readonly combiner: Combiner;
  readonly privacy: PrivacyLedger;
  /** What carries from round to round, for a checkpoint: the clip (adaptive), the account, a seeded noise stream's place. */
  snapshot(): DpState;
  restore(state: DpState): void;
  /**
   * Charges releases the account does not hold, one at each of `rates`: rounds of a resumed run
   * that released noised updates after its checkpoint (coordinator/resume.ts). Run again with
   * fresh noise, they are releases of their own.
   */
  chargeUnrecorded(rates: readonly number[]): void;
  /** The rate round `round` samples at (its sample over the clients available; 1 under local DP), once configureFit has drawn it. */
  rateOf(round: number): number;
}

export interface DpState {
  readonly clip: number;
  readonly ledger: LedgerState;
  /** A seeded (simulation) noise stream's position; a secret stream is never saved and a resumed run keys a fresh one. */
  readonly noise?: NoisePosition;
}

/**
 * Differential privacy in place of a strategy's weighted mean.
 *
 * central (DP-FedAvg, McMahan et al. 2018): the coordinator clips each client's delta
 * to S, releases Σ clip(Δ_k)/(qN) + N(0, σ²) with σ = z·S/(qN) — qN the clients a
 * round asks, a fixed denominator so one client moves the result by at most S/(qN)
 * — and hands that one update to the server step (FedAvg applies it; FedAvgM,
 * FedAdam … use it as their pseudo-gradient). With `adaptive` the clip follows the
 * target quantile of the update norms (Andrew et al. 2021), the noise budget split
 * between the update (z_Δ) and the clipped count (σ_b).
 *
 * local: each client clips and noises its own delta (the fit task carries S and z;
 * client/agent.ts applies them); the coordinator averages the noised updates as usual.
 *
 * Either way an RDP accountant tracks (ε, δ) for a client's data: central rounds are
 * the sampled Gaussian mechanism at the rate the round actually used — its sample over the
 * clients available to it, not the configured C (accounted as if Poisson-sampled at that
 * rate) — which amplifies only if nobody can know the sample (DpOptions.samplingSecret);
 * local rounds at q = 1, since the coordinator sees who took part, reported for both
 * neighbouring notions (an update against none, sensitivity S; any two updates, 2S).
 *
 * Whether a round releases never depends on an un-noised count: central DP releases every
 * round — with fewer results than minFitClients, even none, the release is the noised sum of
 * what arrived — and charges it; local DP charges a round whose noised updates reached the
 * coordinator, and skips it when they are fewer than minFitClients. A round skipped because
 * the server step's model is not finite still counts: the mechanism ran. The adaptive clip,
 * like the server step's state, moves only in a round whose model enters.
 */
export function dpRelease(options: DpOptions, ctx: StrategyContext): DpRelease {
  const { spec } = options;
  const expected = Math.max(1, fullRound(ctx));
  const q = spec.mode === 'central' ? expected / ctx.clients : 1;
  const bitNoise = spec.adaptive ? (spec.adaptive.bitNoise ?? defaultBitNoise(expected)) : undefined;
  // under adaptive clipping part of the budget noises the clipped count; the update gets z_Δ
  const updateZ = bitNoise !== undefined ? updateNoiseMultiplier(spec.noiseMultiplier, bitNoise) : spec.noiseMultiplier;
  let clip = spec.clip;
  const ledger = privacyLedger({ spec, delta: options.delta, samplingSecret: options.samplingSecret, rate: q, clip: () => clip });
  /** The rate each configured round actually samples at: its sample over the clients available to it. */
  const rates = new Map<number, number>();

  const local: Combiner = {
    needsEveryUpdate: false,
    combine: (r) => foldAll(local.fold!(r), r.results),
    fold(r) {
      const included: { client: ClientInfo }[] = [];
      const mean = usableFold(r, options.acceptsPartialWork, meanFold());
      return {
        add(result) {
          included.push({ client: result.client });
          mean.add(result);
        },
        finish() {
          // counted before anything can fail: the noised updates that arrived were released to the coordinator, whatever happens next
          if (included.length > 0) ledger.charge(1, included);
          return mean.finish();
        },
      };
    },
  };
  /** Central DP's release of a round: its updates clipped and summed as they come, noised once at the end. */
  const centralFold = (r: RoundInfo): CombineFold => {
    const rate = rates.get(r.round) ?? q;
    rates.delete(r.round);
    const included: { client: ClientInfo }[] = [];
    const release = dpFedAvgFold({ clip, noiseMultiplier: updateZ, expectedClients: expected, source: options.source, dimension: r.dimension });
    return {
      add(result) {
        included.push({ client: result.client });
        release.add(result.delta);
      },
      finish() {
        // counted before anything can fail: a skipped round spends privacy too
        ledger.charge(rate, included);
        const released = release.finish();
        const nextClip =
          spec.adaptive && bitNoise !== undefined
            ? adaptClip(clip, released.norms, {
                targetQuantile: spec.adaptive.targetQuantile,
                learningRate: spec.adaptive.learningRate,
                bitNoise,
                expectedClients: expected,
                source: options.source,
              }).clip
            : clip;
        return {
          kind: 'combined',
          update: { delta: released.update, clients: included.length },
          accept: () => {
            clip = nextClip;
          },
        };
      },
    };
  };
  const central: Combiner = {
    needsEveryUpdate: false,
    combine: (r) => foldAll(centralFold(r), r.results),
    fold: centralFold,
  };
  return {
    configure: (base) => (spec.mode === 'local' ? { ...base, localDp: { clip, noiseMultiplier: spec.noiseMultiplier } } : base),
    sampled(round, asked, available) {
      if (spec.mode === 'central' && available > 0) rates.set(round, asked / available);
    },
    combiner: spec.mode === 'local' ? local : central,
    privacy: ledger,
    snapshot() {
      const noise = options.source.position();
      return { clip, ledger: ledger.snapshot(), ...(noise ? { noise } : {}) };
    },
    chargeUnrecorded(rates) {
      for (const rate of rates) ledger.charge(rate, []);
    },
    rateOf: (round) => rates.get(round) ?? q,
    restore(state) {
      ledger.restore(state.ledger);
      clip = state.clip;
      if (state.noise) options.source.resume(state.noise);
    },
  };
}
