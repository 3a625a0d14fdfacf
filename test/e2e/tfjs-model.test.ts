import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openResumePoint } from '../../coordinator/resume.ts';
import type { RunConfigInput } from '../../shared/config.ts';
import { silentLogger } from '../../shared/log.ts';
import { loadSavedModel } from '../../shared/models/saved-model.ts';
import { tfjsModelSpec } from '../../shared/models/tfjs-layers-api.ts';
import { readTfjsModelFile } from '../../shared/models/tfjs-layers-file.ts';
import { allFinite } from '../../shared/weights.ts';
import { simulate } from '../../simulations/simulate.ts';
import { saveModelFiles, sequentialModel } from '../fixtures/tfjs-model/models.ts';
import { testConfig } from './helpers.ts';

/**
 * A user's own tfjs model trained federated end to end: saved as model.json + shards and
 * named in the config, or passed as an object's spec and weights; with freezing and secure
 * aggregation, with central DP, and stopped and resumed. The data is the FedProx synthetic
 * set (60 features, 10 classes, one device per client); the model Dense 60 → 16 relu → 10 softmax,
 * compiled with Adam, whose settings become the run's train: defaults.
 */
const root = mkdtempSync(join(tmpdir(), 'starling-tfjs-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = sequentialModel({ compile: true, inputs: 60, classes: 10 });
const file = await saveModelFiles(model, join(root, 'model'), { includeOptimizer: true, shards: 2 });
const fileWeights = readTfjsModelFile(file, { weights: true }).weights!;
// the short form is expanded as the config is resolved, before the schema (whose type knows only full specs) sees it
const ref = { type: 'tfjs', path: file } as unknown as RunConfigInput['model'];
const base = { clients: 3, data: 'synthetic:1,1', seed: 3, model: ref, train: { epochs: 2, batchSize: 16 } } as const;
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** dense_1's kernel and bias: the first 60 × 16 + 16 values. */
const firstLayer = (w: Float32Array) => w.subarray(0, 60 * 16 + 16);

describe('federated training of a tfjs layers model', () => {
  let uninterrupted: Float32Array | undefined;

  it('trains from the model file, its compiled Adam as the train: defaults: the test loss falls round after round, accuracy does not drop', async () => {
    const config = testConfig({ ...base, rounds: 3, out: join(root, 'plain') });
    expect(config.train).toMatchObject({ optimizer: 'adam', lr: 0.01, epochs: 2 });
    const r = await simulate(config, { log: silentLogger, workers: 2 });
    expect(r.engine).not.toBe('simd');
    expect(r.agents.every((a) => a.status === 'fulfilled')).toBe(true);
    const [first, second, last] = r.history.rounds;
    expect(second!.loss!).toBeLessThan(first!.loss!);
    expect(last!.loss!).toBeLessThan(second!.loss!);
    expect(last!.loss!).toBeLessThan(first!.loss! * 0.7);
    expect(last!.accuracy!).toBeGreaterThanOrEqual(first!.accuracy!);
    expect(last!.accuracy!).toBeGreaterThan(0.8);
    // the run's output is a Starling saved model of the tfjs spec
    expect(bytes(loadSavedModel(r.dir!).weights).equals(bytes(r.weights))).toBe(true);
    uninterrupted = r.weights;
  });

  it('freezes a layer by its tfjs name under secure aggregation: the layer stays byte-identical to the file', async () => {
    const config = testConfig({ ...base, rounds: 2, freeze: ['dense_1'], secagg: true, evaluate: 'none' });
    const r = await simulate(config, { log: silentLogger, workers: 2, writeHistory: false });
    expect(r.agents.every((a) => a.status === 'fulfilled')).toBe(true);
    expect(r.history.trainableParamCount).toBe(16 * 10 + 10);
    expect(bytes(firstLayer(r.weights)).equals(bytes(firstLayer(fileWeights)))).toBe(true);
    expect(bytes(r.weights).equals(bytes(fileWeights))).toBe(false);
  });

  it('trains a model object passed as spec and initial weights, under central DP', async () => {
    const { spec, weights, train } = await tfjsModelSpec(model);
    const config = testConfig({ ...base, model: spec, train: { ...train, epochs: 1, batchSize: 16 }, rounds: 2, dp: 'central:z=0.5,clip=1.0' });
    const r = await simulate(config, { log: silentLogger, workers: 2, writeHistory: false, initialWeights: weights });
    expect(r.history.rounds).toHaveLength(2);
    expect(allFinite(r.weights)).toBe(true);
    expect(r.history.rounds.at(-1)!.epsilon).toBeGreaterThan(0);
    expect(bytes(r.weights).equals(bytes(weights))).toBe(false);
  });

  it('stops after a round and resumes from its checkpoint to the same model as the uninterrupted run', async () => {
    expect(uninterrupted, 'the first test ran the same run uninterrupted').toBeDefined();
    const out = join(root, 'resumed');
    const stop = new AbortController();
    const onRound = (r: { round: number }) => r.round === 2 && stop.abort();
    const stopped = await simulate(testConfig({ ...base, rounds: 3, out }), { log: silentLogger, workers: 2, onRound, signal: stop.signal });
    expect(stopped.stopped).toBe(true);
    expect(stopped.history.rounds).toHaveLength(2);
    const point = openResumePoint(join(out, 'starling.db'), stopped.history.runId, {}, silentLogger, 'simulation');
    expect(point.checkpoint?.round).toBe(2);
    const resumed = await simulate(point.config, { log: silentLogger, workers: 2, resume: point });
    expect(resumed.history.rounds).toHaveLength(3);
    expect(bytes(resumed.weights).equals(bytes(uninterrupted!))).toBe(true);
  });
});
