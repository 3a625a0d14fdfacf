import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../backend.ts';
import { viewSize, type DatasetView } from '../data/dataset.ts';
import { DataError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { isRegression, paramShapes } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';
import type { TrainConfig } from '../train-config.ts';
import { checkData } from './check.ts';
import type { Engine, EvalMetrics, FitOptions, TrainResult } from './engine.ts';
import { kernelsUnavailable } from './simd/kernels.ts';
import { gatherAll, prepareGradients, rows, tensorsFrom } from './tfjs-common.ts';
import { tfjsNet } from './tfjs-nets/index.ts';
import type { TfjsNet } from './tfjs-nets/net.ts';
import { regressionScores } from './regression-scores.ts';
import { trainNet } from './tfjs-train.ts';
import { registerWasmKernels } from './tfjs-wasm-kernels.ts';

/**
 * The tfjs engine: every architecture, each through its net (tfjs-nets/: a
 * forward pass and a training step) in one training loop (tfjs-train.ts).
 * Why not `model.fit` or `optimizer.minimize`? On the wasm backend their per-op
 * overhead dominates small models; the loop keeps each step to the kernels it needs.
 */
export class TfjsEngine implements Engine {
  readonly name = 'tfjs';
  readonly backend: BackendName;

  private constructor(backend: BackendName) {
    this.backend = backend;
  }

  /**
   * On the wasm backend, Starling's SIMD kernels supply the missing
   * Conv2DBackpropFilter and replace the slow transposed matrix multiplies and
   * Conv2DBackpropInput (tfjs-wasm-kernels.ts); `simdKernels: false` adds only the
   * missing kernel (the benchmark compares both).
   */
  static async create(backend?: string, log?: Logger, opts: { simdKernels?: boolean } = {}): Promise<TfjsEngine> {
    const name = await selectBackend(backend, log);
    if (name === 'wasm') {
      const why = kernelsUnavailable();
      if (why) log?.warn(`tfjs-wasm keeps its own kernels and cannot train conv nets: ${why}`);
      else registerWasmKernels({ missingOnly: opts.simdKernels === false });
    }
    return new TfjsEngine(name);
  }

  async train(spec: ModelSpec, weights: Float32Array, data: DatasetView, config: TrainConfig & FitOptions, seed: number): Promise<TrainResult> {
    const n = checkedRows(spec, data, 'cannot train on an empty shard');
    return trainNet(tfjsNet(spec), spec, weights, data, n, config, seed);
  }

  async evaluate(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<EvalMetrics> {
    const n = checkedRows(spec, data, 'cannot evaluate on an empty dataset');
    // in float64 on the CPU: a sum of squared targets in float32 loses R²'s precision on large targets
    if (isRegression(spec)) return regressionScores(data, await this.predict(spec, weights, data));
    const net = tfjsNet(spec);
    const { features, classes } = data.dataset;
    const { xs, ys } = gatherAll(data, n);
    const totals = await withParams(net, spec, weights, (params) =>
      tf.tidy(() => {
        // score gives [loss sum, correct calls] for every net (net.stats sizes training's statistics, a gan's three)
        let acc = tf.zeros([2]);
        for (let start = 0; start < n; start += net.chunk) {
          const b = Math.min(net.chunk, n - start);
          acc = tf.add(acc, net.score(spec, params, rows(xs, start, b, features), rows(ys, start, b, classes), start));
        }
        return acc;
      }),
    );
    const { loss, accuracy } = net.metrics(Array.from(totals.dataSync()), n);
    totals.dispose();
    return { loss, accuracy, numExamples: n };
  }

  async predict(spec: ModelSpec, weights: Float32Array, data: DatasetView): Promise<Float32Array> {
    const n = checkedRows(spec, data, 'cannot predict on an empty dataset');
    const net = tfjsNet(spec);
    const logits = net.logits?.(spec);
    if (!logits) throw new DataError(`a ${spec.type} predicts no classes; score it with evaluate`);
    const { features, classes } = data.dataset;
    const { xs } = gatherAll(data, n);
    const out = new Float32Array(n * classes);
    // a regression model's linear outputs are its predictions
    const raw = isRegression(spec);
    await withParams(net, spec, weights, (params) => {
      for (let start = 0; start < n; start += net.chunk) {
        const b = Math.min(net.chunk, n - start);
        const probs = tf.tidy(() => {
          const z = logits(params, rows(xs, start, b, features));
          return raw ? z : tf.softmax(z);
        });
        out.set(probs.dataSync(), start * classes);
        probs.dispose();
      }
    });
    return out;
  }
}

/** The rows of `data` after checking they fit `spec`; `empty` is the error when there are none. */
function checkedRows(spec: ModelSpec, data: DatasetView, empty: string): number {
  checkData(spec, data.dataset);
  const n = viewSize(data);
  if (n === 0) throw new DataError(empty);
  return n;
}

/** Runs `use` on the weights as constant tensors, disposed after. */
async function withParams<S extends ModelSpec, T>(net: TfjsNet<S>, spec: S, weights: Float32Array, use: (params: readonly tf.Tensor[]) => T): Promise<T> {
  if (net.autodiff) await prepareGradients();
  await net.prepare?.(spec);
  const params = tensorsFrom(weights, paramShapes(spec));
  try {
    return use(params);
  } finally {
    for (const p of params) p.dispose();
  }
}
