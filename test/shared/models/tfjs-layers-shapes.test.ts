import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { inputShapeOf, readGraph, tfjsForm } from '../../../shared/models/tfjs-layer-graph.ts';
import { deriveModel, TFJS_LAYER_CLASSES } from '../../../shared/models/tfjs-layer-shapes.ts';
import { tfjsModelSpec } from '../../../shared/models/tfjs-layers-api.ts';
import { separable } from '../../fixtures/tfjs-model/models.ts';

/**
 * The shapes and weights Starling derives from a topology without tfjs are tfjs' own:
 * for a model of every layer class it builds, in most of their settings, every layer's
 * output shape and the model's weights (names, shapes, order) are what tfjs gives the
 * model, and the model Starling builds from the spec predicts what the model does.
 */
const engine = await TfjsEngine.create();
const seeded = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });
const L = tf.layers;
const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;

function images(): tf.LayersModel {
  return tf.sequential({
    layers: [
      L.conv2d({ inputShape: [12, 9, 2], filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', useBias: false, name: 'c1', ...seeded(1) }),
      L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, activation: 'relu', name: 'c2', ...seeded(2) }),
      L.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'p1' }),
      L.averagePooling2d({ poolSize: [2, 1], name: 'p2' }),
      L.batchNormalization({ center: false, name: 'bn' }),
      L.flatten({ name: 'flat' }),
      L.dense({ units: 3, activation: 'softmax', name: 'out', ...seeded(3) }),
    ],
  });
}

function sequences(): tf.LayersModel {
  return tf.sequential({
    layers: [
      L.conv1d({ inputShape: [20, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'c1', ...seeded(1) }),
      L.maxPooling1d({ poolSize: 3, strides: 1, name: 'p1' }),
      L.averagePooling1d({ poolSize: 2, name: 'p2' }),
      L.spatialDropout1d({ rate: 0.1, name: 'sd' }),
      L.lstm({ units: 5, returnSequences: true, name: 'lstm', ...seeded(2) }),
      L.gru({ units: 4, returnSequences: true, name: 'gru', ...seeded(3) }),
      L.simpleRNN({ units: 3, returnSequences: true, useBias: false, name: 'rnn', ...seeded(4) }),
      L.globalMaxPooling1d({ name: 'gmp' }),
      L.dense({ units: 3, name: 'out', ...seeded(5) }),
    ],
  });
}

function tokens(): tf.LayersModel {
  return tf.sequential({
    layers: [
      L.embedding({ inputDim: 10, outputDim: 4, inputLength: 6, name: 'embed' }),
      L.layerNormalization({ axis: -1, name: 'ln1' }),
      L.globalAveragePooling1d({ name: 'gap' }),
      L.reshape({ targetShape: [2, 2], name: 'reshape' }),
      L.layerNormalization({ axis: [1, 2], name: 'ln2' }),
      L.flatten({ name: 'flat' }),
      L.dense({ units: 6, name: 'hidden', ...seeded(1) }),
      L.prelu({ name: 'prelu' }),
      L.leakyReLU({ name: 'leaky' }),
      L.elu({ name: 'elu' }),
      L.dense({ units: 3, name: 'logits', ...seeded(2) }),
      L.softmax({ name: 'probs' }),
    ],
  });
}

function merges(): tf.LayersModel {
  const input = tf.input({ shape: [8], name: 'features' });
  const a = apply(L.dense({ units: 6, activation: 'relu', name: 'a', ...seeded(1) }), input);
  const b = apply(L.dense({ units: 6, name: 'b', ...seeded(2) }), input);
  const merged = [L.add({ name: 'add' }), L.multiply({ name: 'mul' }), L.average({ name: 'avg' }), L.maximum({ name: 'max' }), L.minimum({ name: 'min' })].map(
    (m) => apply(m, [a, b]),
  );
  let x = apply(L.concatenate({ name: 'cat' }), merged);
  for (const noise of [L.dropout({ rate: 0.2, name: 'drop' }), L.gaussianNoise({ stddev: 0.1, name: 'noise' })]) x = apply(noise, x);
  for (const noise of [L.gaussianDropout({ rate: 0.1, name: 'gdrop' }), L.alphaDropout({ rate: 0.1, name: 'adrop' })]) x = apply(noise, x);
  for (const act of [L.thresholdedReLU({ name: 'thr' }), L.reLU({ name: 'relu' }), L.activation({ activation: 'tanh', name: 'tanh' })]) x = apply(act, x);
  const out = apply(L.dense({ units: 3, activation: 'softmax', name: 'out', ...seeded(3) }), x);
  return tf.model({ inputs: input, outputs: out });
}

function branches(): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 1], name: 'image' });
  const x1 = apply(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'x1', ...seeded(1) }), input);
  const x2 = apply(L.conv2d({ filters: 3, kernelSize: 1, name: 'x2', ...seeded(2) }), input);
  const both = apply(L.concatenate({ axis: -1, name: 'channels' }), [x1, x2]);
  const pooled = [apply(L.globalAveragePooling2d({ name: 'gap' }), both), apply(L.globalMaxPooling2d({ name: 'gmp' }), both)];
  const flat = apply(L.concatenate({ name: 'pooled' }), pooled);
  return tf.model({ inputs: input, outputs: apply(L.dense({ units: 3, name: 'out', ...seeded(3) }), flat) });
}

const ZOO = { images, sequences, tokens, merges, branches };

/** Rows for the model: token ids for the embedding model, real values otherwise. */
function dataFor(name: string, features: number) {
  const data = separable(24, features, 3);
  if (name === 'tokens') data.x = data.x.map((_, i) => (i * 7) % 10);
  return data;
}

describe('the layer shapes and weights Starling derives from a topology', () => {
  it('covers every layer class it builds', () => {
    const used = new Set(
      Object.values(ZOO)
        .flatMap((f) => f().layers)
        .map((l) => l.getClassName()),
    );
    expect(TFJS_LAYER_CLASSES.filter((c) => !used.has(c))).toEqual([]);
  });

  for (const [name, make] of Object.entries(ZOO)) {
    it(`are tfjs' own for the ${name} model, and the model built from its spec predicts as it does`, async () => {
      const model = make();
      const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
      const form = tfjsForm(topology);
      if (typeof form === 'string') throw new Error(form);
      const graph = readGraph(form.className as string, form.config);
      if (typeof graph === 'string') throw new Error(graph);
      const input = inputShapeOf(graph.layers[graph.input]!);
      if (typeof input === 'string') throw new Error(input);
      const derived = deriveModel(graph.nodes, input, graph.output);
      if (typeof derived === 'string') throw new Error(derived);
      const own = new Map(model.layers.map((l) => [l.name, (l.outputShape as number[]).slice(1)]));
      expect(Object.fromEntries(graph.layers.map((l, i) => [l.name, derived.shapes[i]]))).toEqual(
        Object.fromEntries(graph.layers.map((l) => [l.name, own.get(l.name)])),
      );
      // as a set: tfjs lists the trainable weights first
      const byName = (ws: readonly { name: string }[]) => [...ws].sort((a, b) => a.name.localeCompare(b.name));
      expect(byName(derived.weights)).toEqual(byName(model.weights.map((w) => ({ name: w.originalName, shape: w.shape }))));

      const { spec, weights } = await tfjsModelSpec(model);
      const data = dataFor(
        name,
        input.reduce((a, b) => a * b, 1),
      );
      const probs = await engine.predict(spec, weights, { dataset: data });
      const theirs = tf.tidy(() => {
        const out = model.predict(tf.tensor(data.x, [data.size, ...input])) as tf.Tensor;
        return (name === 'branches' || name === 'sequences' ? tf.softmax(out) : out).dataSync();
      });
      expect(Math.max(...probs.map((p, i) => Math.abs(p - theirs[i]!)))).toBeLessThan(1e-5);
    });
  }
});
