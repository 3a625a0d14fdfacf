import { CheckpointError, ConfigError } from '../../shared/errors.ts';
import { cryptoNoiseSource, formatDpSpec, type DpSpec, type NoiseSource } from '../../shared/privacy/index.ts';
import { aggregationProblems, needsEveryUpdate, perRoundProblem, type StrategySpec } from '../../shared/strategy-spec.ts';
import { clientSide } from './client-side.ts';
import { plainCombiner, type CombineRule } from './combine/combiner.ts';
import { dpRelease } from './combine/dp-release.ts';
import { krumOf, multiKrumOf } from './combine/krum.ts';
import { medianOf } from './combine/median.ts';
import type { PrivacyLedger } from './combine/privacy-ledger.ts';
import { trimmedMeanOf } from './combine/trimmed-mean.ts';
import { meanFold, weightedMean } from './combine/weighted-mean.ts';
import { evaluateClients, weightedMetrics } from './evaluate.ts';
import { fullRound, sampleClients } from './sampling.ts';
import { adaptiveStep } from './step/adaptive.ts';
import { fedAvgStep } from './step/fedavg.ts';
import { fedAvgMStep } from './step/fedavgm.ts';
import type { ServerStep } from './step/server-step.ts';
import type { Strategy, StrategyContext } from './strategy.ts';

/**
 * The strategy a spec names: the sampled clients train with the strategy's fit settings
 * (client-side.ts), its combiner turns their results into one update, its server step
 * applies that to the global model. Failed clients are left out. A configuration the
 * strategy cannot work with (Krum with too few clients a round) is a ConfigError.
 */
export function createStrategy(spec: StrategySpec, ctx: StrategyContext): Strategy {
  const problem = perRoundProblem(spec, fullRound(ctx));
  if (problem) throw new ConfigError(problem);
  const client = clientSide(spec);
  const rule = combineRule(spec);
  const step = serverStep(spec);
  return {
    name: spec.name,
    configureFit: (round, available, base) => {
      const config = client.configure(base);
      return sampleClients(available, round, ctx.sampling).map((c) => ({ client: c, config }));
    },
    combiner: plainCombiner(rule, {
      needsEveryUpdate: needsEveryUpdate(spec),
      acceptsPartialWork: client.acceptsPartialWork,
      // the averaging strategies fold each result as it arrives; the robust rules need every update at once
      ...(rule === weightedMean ? { foldRule: meanFold } : {}),
    }),
    step,
    configureEvaluate: (round, available) => evaluateClients(ctx, round, available),
    aggregateEvaluate: (_round, results) => weightedMetrics(results),
    toConfig: () => ({ ...spec }),
    snapshot: () => ({ step: step.snapshot() }),
    restore(state) {
      if (state.dp) throw new CheckpointError(`the checkpoint holds a differential-privacy state, but this run's ${spec.name} has no DP`);
      step.restore(state.step);
    },
  };
}

/** How a strategy's results become one update: the example-weighted mean (FedAvg and the server optimizers) or a robust rule. */
function combineRule(spec: StrategySpec): CombineRule {
  switch (spec.name) {
    case 'fedmedian':
      return medianOf;
    case 'trimmedmean':
      return trimmedMeanOf(spec.beta);
    case 'krum':
      return krumOf(spec);
    case 'multikrum':
      return multiKrumOf(spec);
    default:
      return weightedMean;
  }
}

/** How the combined update moves the global model: w + Δ, or a server optimizer with state. */
function serverStep(spec: StrategySpec): ServerStep {
  switch (spec.name) {
    case 'fedavgm':
      return fedAvgMStep(spec);
    case 'fedadam':
    case 'fedyogi':
    case 'fedadagrad':
      return adaptiveStep(spec);
    default:
      return fedAvgStep;
  }
}

export interface AggregationOptions {
  readonly ctx: StrategyContext;
  /** Secure aggregation: the server step gets only the decoded mean, never an individual update. */
  readonly secagg: boolean;
  /** With dp: the δ at which ε is reported. */
  readonly delta: number;
  /** With dp: the coordinator's noise; a ChaCha20 stream keyed from crypto.randomBytes when absent (simulations pass a seeded one). */
  readonly noise?: NoiseSource;
  /** With dp: whether the client sample is secret (dp-release.ts, DpOptions.samplingSecret). */
  readonly samplingSecret: boolean;
}

/** A run's aggregation: the strategy the round loop runs, and with differential privacy what it has spent. */
export interface RunAggregation {
  readonly strategy: Strategy;
  readonly privacy?: PrivacyLedger;
  /** With differential privacy: charges releases its account does not hold (DpRelease.chargeUnrecorded). */
  readonly chargeUnrecorded?: (rates: readonly number[]) => void;
  /** With differential privacy: the rate a round samples at, once drawn (DpRelease.rateOf). */
  readonly releaseRate?: (round: number) => number;
}

/**
 * The run's aggregation from its strategy spec and DP spec: the strategy, with DP its
 * combiner replaced by the DP release (combine/dp-release.ts) and its fit side adding local
 * DP's clip and noise. Secure aggregation and DP both hand the server step one combined
 * update, so strategies that need every individual update are refused with either.
 */
export function createAggregation(spec: StrategySpec, dp: DpSpec | undefined, options: AggregationOptions): RunAggregation {
  const strategy = createStrategy(spec, options.ctx);
  // the config refuses these already (config/checks.ts); a strategy built from a hand-made config is held to the same
  const [problem] = aggregationProblems(spec, { dp: dp !== undefined, secagg: options.secagg });
  if (problem) throw new ConfigError(`${problem.field}: ${problem.message}`);
  if (!dp) return { strategy };
  const release = dpRelease(
    {
      spec: dp,
      delta: options.delta,
      source: options.noise ?? cryptoNoiseSource(),
      samplingSecret: options.samplingSecret,
      acceptsPartialWork: clientSide(spec).acceptsPartialWork,
    },
    options.ctx,
  );
  return {
    strategy: {
      ...strategy,
      configureFit(round, available, base) {
        const instructions = strategy.configureFit(round, available, release.configure(base));
        release.sampled(round, instructions.length, available.length);
        return instructions;
      },
      combiner: release.combiner,
      toConfig: () => ({ ...strategy.toConfig(), dp: formatDpSpec(dp), dpDelta: options.delta }),
      snapshot: () => ({ ...strategy.snapshot(), dp: release.snapshot() }),
      restore(state) {
        if (!state.dp) throw new CheckpointError('the checkpoint has no differential-privacy state, but this run uses DP');
        strategy.restore({ step: state.step });
        release.restore(state.dp);
      },
    },
    privacy: release.privacy,
    chargeUnrecorded: (rates) => release.chargeUnrecorded(rates),
    releaseRate: (round) => release.rateOf(round),
  };
}
