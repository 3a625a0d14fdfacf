import type { TrainMetrics } from '../shared/engine/engine.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import { cryptoNoiseSource, localDp, type NoiseSource } from '../shared/privacy/index.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';
import type { FitResult } from '../shared/protocol/messages.ts';
import { gatherTrainable, trainableLayout } from '../shared/trainable.ts';
import { allFinite } from '../shared/weights.ts';
import type { Trainer } from './trainer.ts';

/**
 * What a client does with a training task, whatever carried it: a client agent over its
 * WebSocket (client/agent.ts) or a virtual client of the in-memory transport
 * (simulations/memory-transport.ts). Both run this code, so the two give the same bytes.
 */
export interface TrainingTask {
  readonly round: number;
  readonly modelVersion: number;
  readonly spec: ModelSpec;
  readonly config: FitConfig;
  readonly seed: number;
}

/** One local training's outcome: the delta (only its trainable values when parameters are frozen), counts and metrics. */
export interface LocalUpdate {
  readonly numExamples: number;
  readonly delta: Float32Array;
  readonly metrics: TrainMetrics;
  readonly seconds: number;
}

/** Training gave NaN or Infinity: what the client reports as a failed task (it stays in the run). */
export interface Diverged {
  readonly diverged: string;
}

/** Trains `weights` (the task's model) on the trainer's rows; a diverged update is never returned, only said. */
export async function trainLocally(trainer: Trainer, task: TrainingTask, weights: Float32Array): Promise<LocalUpdate | Diverged> {
  const started = performance.now();
  const result = await trainer.fit(task.spec, weights, task.config, task.seed);
  const seconds = (performance.now() - started) / 1000;
  const loss = result.metrics.loss;
  if (!allFinite(result.delta) || (typeof loss === 'number' && !Number.isFinite(loss)))
    return { diverged: `training from model version ${task.modelVersion} diverged: the update holds NaN or Infinity (loss ${loss})` };
  // with frozen parameters only the trainable values travel, in both directions
  const frozen = task.config.frozen;
  const delta = frozen.length ? gatherTrainable(result.delta, trainableLayout(task.spec, frozen)) : result.delta;
  return { numExamples: result.numExamples, delta, metrics: result.metrics, seconds };
}

/**
 * A fit task's answer from a local update: with local differential privacy asked for, the
 * delta clipped to S with N(0, (z·S)²) added, from this client's own noise (a CSPRNG when
 * `noise` is absent; simulations pass a seeded one).
 */
export function fitResult(task: TrainingTask, update: LocalUpdate, noise?: (round: number) => NoiseSource): FitResult {
  const dp = task.config.localDp;
  const delta = dp
    ? localDp(update.delta, { clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, source: noise?.(task.round) ?? cryptoNoiseSource() }).update
    : update.delta;
  return { type: 'fitResult', round: task.round, numExamples: update.numExamples, delta, metrics: reportedMetrics(update.metrics), seconds: update.seconds };
}

/** The training metrics a result carries: those the model has (no accuracy for regression, no MAE for a classifier), never an undefined one. */
export function reportedMetrics(m: TrainMetrics): Record<string, number> {
  const out: Record<string, number> = { loss: m.loss, epochs: m.epochs };
  for (const key of ['accuracy', 'mae', 'generatorLoss'] as const) {
    const v = m[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}
