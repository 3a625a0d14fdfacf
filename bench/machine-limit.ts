/**
 * The machine's limit for one round of the core workload, measured here and now: one epoch of
 * the 8,000 training digits on one core, split over the training workers (every client's
 * samples together, whatever the client count), plus central evaluation of the 2,000 test
 * digits. A round cannot take less; the round bench prints how many times this each round takes.
 */
import { loadMnist } from '../shared/data/mnist.ts';
import { EngineFactory, type EngineChoice } from '../shared/engine/factory.ts';
import { DEFAULT_MODEL } from '../shared/models/spec.ts';
import { initWeights } from '../shared/models/registry.ts';
import { fitConfig } from '../shared/protocol/fit-config.ts';
import { median } from './stats.ts';

export interface MachineLimit {
  /** One epoch of the 8,000 digits on one core (median). */
  readonly epochSecondsOneCore: number;
  /** Scoring the 2,000 test digits (median). */
  readonly evaluateSeconds: number;
  readonly workers: number;
  /** epochSecondsOneCore / workers + evaluateSeconds. */
  readonly roundSeconds: number;
}

export async function machineLimit(engine: EngineChoice, workers: number, runs = 3): Promise<MachineLimit> {
  const { train, test } = loadMnist();
  const chosen = await new EngineFactory({ engine }).forSpec(DEFAULT_MODEL);
  const w0 = initWeights(DEFAULT_MODEL, 42);
  const cfg = fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0 });
  // a first epoch warms the engine up (JIT, buffers); it is not counted
  await chosen.train(DEFAULT_MODEL, w0, { dataset: train }, cfg, 0);
  const epochs: number[] = [];
  const evaluations: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    await chosen.train(DEFAULT_MODEL, w0, { dataset: train }, cfg, r + 1);
    epochs.push((performance.now() - t) / 1000);
    t = performance.now();
    await chosen.evaluate(DEFAULT_MODEL, w0, { dataset: test });
    evaluations.push((performance.now() - t) / 1000);
  }
  const epochSecondsOneCore = median(epochs);
  const evaluateSeconds = median(evaluations);
  return { epochSecondsOneCore, evaluateSeconds, workers, roundSeconds: epochSecondsOneCore / workers + evaluateSeconds };
}
