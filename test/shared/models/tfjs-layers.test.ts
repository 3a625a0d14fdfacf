import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../../shared/config.ts';
import type { StarlingError } from '../../../shared/errors.ts';
import { loadInitialModel, readInitialSpec } from '../../../shared/models/initial-model.ts';
import { describeSpec, initWeights, inputSize, outputClasses, paramCount, paramShapes } from '../../../shared/models/registry.ts';
import { sameSpec, saveModel } from '../../../shared/models/saved-model.ts';
import { modelSpecSchema } from '../../../shared/models/spec.ts';
import { tfjsLayersSpecSchema } from '../../../shared/models/tfjs-layers.ts';
import { tfjsModelSpec } from '../../../shared/models/tfjs-layers-api.ts';
import { readTfjsModelFile } from '../../../shared/models/tfjs-layers-file.ts';
import { decodeMessage, encodeMessage } from '../../../shared/protocol/codec.ts';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';
import { fitTaskSchema } from '../../../shared/protocol/messages.ts';
import { trainableLayout } from '../../../shared/trainable.ts';
import { flatWeights, functionalModel, saveModelFiles, sequentialModel } from '../../fixtures/tfjs-model/models.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-tfjs-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const fresh = () => join(root, `m${dirs++}`);

/** The error a call throws, as [class name, code, message]. */
function thrown(f: () => unknown): [string, string, string] {
  try {
    f();
  } catch (e) {
    return [(e as Error).constructor.name, (e as StarlingError).code, (e as Error).message];
  }
  throw new Error('expected an error');
}

/** A saved copy of the compiled sequential model, its model.json and its files' folder. */
async function savedSequential(opts: { shards?: number; includeOptimizer?: boolean } = {}) {
  const model = sequentialModel({ compile: true });
  const dir = fresh();
  const file = await saveModelFiles(model, dir, { includeOptimizer: true, ...opts });
  return { model, dir, file, doc: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> };
}

describe('a tfjs model as a spec', () => {
  it('reads a Sequential model object: weights in model.weights order, named by layer, shapes, data size, compiled optimizer', async () => {
    const model = sequentialModel({ compile: true });
    const { spec, weights, train } = await tfjsModelSpec(model);
    expect(spec.type).toBe('tfjs');
    expect(paramShapes(spec)).toEqual([
      { name: 'dense_1/kernel', shape: [4, 16] },
      { name: 'dense_1/bias', shape: [16] },
      { name: 'dense_2/kernel', shape: [16, 3] },
      { name: 'dense_2/bias', shape: [3] },
    ]);
    expect(Buffer.from(weights.buffer).equals(Buffer.from(flatWeights(model).buffer))).toBe(true);
    expect([inputSize(spec), outputClasses(spec), paramCount(spec)]).toEqual([4, 3, 4 * 16 + 16 + 16 * 3 + 3]);
    expect(spec.loss).toBe('categoricalCrossentropy');
    expect(train).toEqual({ optimizer: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    // the spec is plain JSON: it survives the schema, a JSON round trip, and a fit task on the wire
    const again = modelSpecSchema.parse(JSON.parse(JSON.stringify(spec)));
    expect(sameSpec(again, spec)).toBe(true);
    const task = {
      type: 'fit' as const,
      round: 1,
      modelVersion: 0,
      spec,
      weights,
      config: fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 }),
      seed: 1,
    };
    const decoded = decodeMessage(encodeMessage(task), fitTaskSchema, 1 << 24);
    expect(sameSpec(decoded.spec, spec)).toBe(true);
    // freezing by layer name: the tfjs weight names carry the layer's
    expect(trainableLayout(spec, ['dense_1']).trainable).toEqual([false, false, true, true]);
    expect(describeSpec(spec)).toMatch(/^a tfjs Sequential model \(2 layers, input \[4\], 3 classes, 131 parameters\)$/);
  });

  it('reads a functional model: one input, classes from the Dense before a softmax Activation, batch-norm statistics in the flat weights', async () => {
    const model = functionalModel(5, 4);
    const { spec, weights, train } = await tfjsModelSpec(model);
    expect(train).toBeUndefined();
    expect([inputSize(spec), outputClasses(spec)]).toEqual([5, 4]);
    expect(paramShapes(spec).map((p) => p.name)).toEqual(model.weights.map((w) => w.originalName));
    expect(paramShapes(spec).map((p) => p.name)).toContain('norm/moving_variance');
    expect(Buffer.from(weights.buffer).equals(Buffer.from(flatWeights(model).buffer))).toBe(true);
    // seeded weights (a spec without its own) follow Keras' defaults per kind of weight
    const seeded = initWeights(spec, 1);
    const at = (name: string) => {
      let offset = 0;
      for (const p of paramShapes(spec)) {
        const size = p.shape.reduce((a, b) => a * b, 1);
        if (p.name === name) return seeded.subarray(offset, offset + size);
        offset += size;
      }
      throw new Error(name);
    };
    expect([...at('norm/gamma')].every((v) => v === 1)).toBe(true);
    expect([...at('norm/moving_mean')].every((v) => v === 0)).toBe(true);
    expect([...at('hidden/kernel')].some((v) => v !== 0)).toBe(true);
  });

  it('refuses models it cannot train as a classifier, saying why', async () => {
    const sigmoid = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'sigmoid' })] });
    await expect(tfjsModelSpec(sigmoid)).rejects.toThrow(
      /output activation is sigmoid; Starling trains classifiers whose output is softmax probabilities or linear logits/,
    );
    const input = tf.input({ shape: [3] });
    const a = tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor;
    const twoOutputs = tf.model({ inputs: input, outputs: [a, b] });
    await expect(tfjsModelSpec(twoOutputs)).rejects.toThrow(/output_layers must name exactly one layer/);
    const pooled = tf.sequential({ layers: [tf.layers.globalAveragePooling1d({ inputShape: [4, 3] })] });
    await expect(tfjsModelSpec(pooled)).rejects.toThrow(/a GlobalAveragePooling1D layer: Starling reads a classifier's classes from its last Dense layer/);
  });

  it('keeps a topology at every bound within what a client decodes from a fit task', async () => {
    const { spec, weights } = await tfjsModelSpec(sequentialModel());
    const topology = spec.topology as { class_name: string; config: Record<string, unknown> };
    // topology (1) → config (2) → deep (3) … nine more levels: nesting 12 deep
    let deep: unknown = [0];
    for (let level = 0; level < 9; level++) deep = { level: deep };
    const numbers = Array.from({ length: 5 }, () => new Array(65_536).fill(0)); // 327,680 values
    const strings = Array.from({ length: 50 }, () => 'x'.repeat(64 * 1024)); // 3.2 M characters, each string at the limit
    const full = { ...spec, topology: { ...topology, config: { ...topology.config, deep, numbers, strings } } };
    expect(tfjsLayersSpecSchema.safeParse(full).success).toBe(true);
    const task = {
      type: 'fit' as const,
      round: 1,
      modelVersion: 0,
      spec: full,
      weights,
      config: fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 }),
      seed: 1,
    };
    expect(sameSpec(decodeMessage(encodeMessage(task), fitTaskSchema, 1 << 26).spec, full)).toBe(true);
  });

  it('bounds the topology a spec may carry, and names a weight listed twice', async () => {
    const { spec } = await tfjsModelSpec(sequentialModel());
    const issues = (s: unknown) => {
      const r = tfjsLayersSpecSchema.safeParse(s);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ ...spec, topology: [1, 2] })).toEqual(['topology: the model topology must be a JSON object (the modelTopology of a tfjs layers model)']);
    expect(issues({ ...spec, topology: { ...spec.topology, padding: 'x'.repeat(5 * 1024 * 1024) } })[0]).toMatch(/a string longer than 65536 bytes/);
    const wide = { ...spec.topology, padding: Array.from({ length: 60_000 }, () => 'x'.repeat(100)) };
    expect(issues({ ...spec, topology: wide })[0]).toMatch(/is larger than 4194304 characters as JSON/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { inner: deep };
    expect(issues({ ...spec, topology: { ...spec.topology, deep } })[0]).toMatch(/nests deeper than 12 levels/);
    expect(issues({ ...spec, topology: JSON.parse('{"__proto__": {}}') })[0]).toMatch(/the key "__proto__" is not allowed/);
    expect(issues({ ...spec, weights: [spec.weights[0], spec.weights[0]] })).toEqual(['weights.1.name: dense_1/kernel is listed twice']);
    expect(issues({ ...spec, topology: { class_name: 'Sequential', config: { layers: [] } } })).toEqual([
      'topology: the model topology: lists no layers (config.layers)',
    ]);
  });
});

describe('a tfjs model on disk (model.json + weight shards)', () => {
  it('loads to the same spec and the identical flat weights as the model object, across shards; config and init: take it', async () => {
    const { model, dir, file } = await savedSequential({ shards: 3 });
    const fromObject = await tfjsModelSpec(model);
    const loaded = readTfjsModelFile(dir, { weights: true });
    expect(loaded.file).toBe(file);
    expect(sameSpec(loaded.spec, fromObject.spec)).toBe(true);
    expect(Buffer.from(loaded.weights!.buffer).equals(Buffer.from(fromObject.weights.buffer))).toBe(true);

    // the config form: the file's spec as the model, the file as init:, its compiled optimizer as train: defaults
    const config = resolveRunConfig('test', { model: { type: 'tfjs', path: file }, train: { epochs: 2 } });
    expect(sameSpec(config.model, fromObject.spec)).toBe(true);
    expect(config.init).toBe(file);
    expect(config.train).toMatchObject({ optimizer: 'adam', lr: 0.01, epsilon: 1e-7, epochs: 2 });
    const initial = loadInitialModel(config.init!);
    expect(Buffer.from(initial.weights.buffer).equals(Buffer.from(fromObject.weights.buffer))).toBe(true);
    // train: naming its own optimizer wins; init: alone takes the spec from the tfjs file
    expect(resolveRunConfig('test', { model: { type: 'tfjs', path: file }, train: { optimizer: 'sgd', lr: 0.2 } }).train).toMatchObject({
      optimizer: 'sgd',
      lr: 0.2,
    });
    expect(sameSpec(resolveRunConfig('test', { init: dir }).model, fromObject.spec)).toBe(true);
  });

  it('still reads a Starling saved model for init:, also one holding a tfjs spec, and checks it against model:', async () => {
    const { model, file } = await savedSequential();
    const { spec, weights } = await tfjsModelSpec(model);
    const trained = weights.map((w) => w + 1);
    const starling = fresh();
    saveModel(starling, spec, trained);
    expect(sameSpec(readInitialSpec(starling).spec, spec)).toBe(true);
    const config = resolveRunConfig('test', { model: { type: 'tfjs', path: file }, init: starling });
    expect(config.init).toBe(starling);
    expect(Buffer.from(loadInitialModel(config.init!).weights.buffer).equals(Buffer.from(trained.buffer))).toBe(true);
    const other = fresh();
    saveModel(other, { type: 'mlp', inputs: 4, hidden: [], outputs: 3, activation: 'relu' }, new Float32Array(15));
    expect(() => resolveRunConfig('test', { model: { type: 'tfjs', path: file }, init: other })).toThrow(
      /model: differs from the spec of the saved model .*model\.json \(\{"type":"mlp"/,
    );
  });

  it('names the file and the problem for every malformed or missing piece', async () => {
    const load = (path: string) => thrown(() => readTfjsModelFile(path, { weights: true }));
    const { dir, file, doc } = await savedSequential();
    let variants = 0;
    const write = (d: unknown) => {
      const saved = join(dir, `variant-${variants++}.json`);
      writeFileSync(saved, typeof d === 'string' ? d : JSON.stringify(d));
      return saved;
    };

    expect(load(join(dir, 'none.json'))).toEqual(['ConfigError', 'E_CONFIG', expect.stringMatching(/tfjs model .*none\.json does not exist/)]);
    expect(load(write('{"modelTopology": '))).toEqual(['DataError', 'E_DATA', expect.stringMatching(/variant-\d+\.json is not valid JSON/)]);
    expect(load(write({ ...doc, modelTopology: 'Sequential' }))[2]).toMatch(/modelTopology must be a JSON object/);
    expect(load(write({ format: 'graph-model', modelTopology: {} }))[2]).toMatch(/is a tfjs graph model \(converted for inference\)/);
    expect(load(write({ weightsManifest: [] }))[2]).toMatch(/has no modelTopology: it is not a tfjs layers model's model\.json/);
    const manifest = doc.weightsManifest as { paths: string[]; weights: Record<string, unknown>[] }[];
    expect(load(write({ ...doc, weightsManifest: [{ paths: 'x.bin', weights: [] }] }))[2]).toMatch(/weightsManifest\[0\]\.paths: /);
    expect(load(write({ ...doc, weightsManifest: [{ ...manifest[0], paths: ['../escape.bin'] }] }))[2]).toMatch(
      /paths\[0\] "\.\.\/escape\.bin" must be a path relative to model\.json, inside its folder/,
    );
    const quantized = manifest[0]!.weights.map((w, i) => (i === 0 ? { ...w, quantization: { dtype: 'uint8' } } : w));
    expect(load(write({ ...doc, weightsManifest: [{ ...manifest[0], weights: quantized }] }))[2]).toMatch(/weight dense_1\/kernel is quantized/);
    const topology = doc.modelTopology as { config: object };
    const padding = Array.from({ length: 60_000 }, () => 'x'.repeat(100));
    const huge = { ...doc, modelTopology: { ...topology, config: { ...topology.config, padding } } };
    expect(load(write(huge))[2]).toMatch(/is not a model Starling can train:\n {2}topology: the model topology is larger than 4194304 characters/);
    expect(load(write({ ...doc, trainingConfig: { loss: 'hinge' } }))[2]).toMatch(/the compiled loss "hinge" is not one Starling trains with/);

    // the compiled optimizer must have a Starling counterpart, unless train: names one
    const adamax = write({ ...doc, trainingConfig: { loss: 'categorical_crossentropy', optimizer_config: { class_name: 'Adamax', config: {} } } });
    expect(thrown(() => resolveRunConfig('test', { model: { type: 'tfjs', path: adamax } }))[2]).toMatch(
      /Starling cannot train with the compiled optimizer Adamax \(it is not one of Starling's\)/,
    );
    expect(resolveRunConfig('test', { model: { type: 'tfjs', path: adamax }, train: { optimizer: 'adam', lr: 0.001 } }).train.optimizer).toBe('adam');
    expect(thrown(() => resolveRunConfig('test', { model: { type: 'tfjs', path: file, hidden: [3] } }))).toEqual([
      'ConfigError',
      'E_CONFIG',
      'model: a tfjs model is given as {type: tfjs, path: path/to/model.json} (hidden is not a setting there)',
    ]);

    // the shards: wrong size, missing, and the size checked before the run (the config) as well as when read
    const shard = join(dir, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    truncateSync(shard, bytes.length - 4);
    const short = load(file);
    expect(short[0]).toBe('DataError');
    expect(short[2]).toBe(
      `${file}: weights group 0 (group1-shard1of1.bin) holds ${bytes.length - 4} bytes, but its file must hold ${bytes.length} ` +
        '(the weights its manifest lists): the weights belong to another model, or were cut short',
    );
    expect(thrown(() => resolveRunConfig('test', { model: { type: 'tfjs', path: file } }))[2]).toBe(short[2]);
    unlinkSync(shard);
    expect(load(file)[2]).toMatch(/model\.json names weights file group1-shard1of1\.bin, but .*group1-shard1of1\.bin does not exist/);
    writeFileSync(shard, bytes);
    expect(readTfjsModelFile(file, { weights: true }).weights).toHaveLength(131);
  });
});
