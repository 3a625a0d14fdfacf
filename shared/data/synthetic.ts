import { deriveSeed, mulberry32, normal } from '../rng.ts';
import type { Dataset } from './dataset.ts';

/**
 * The synthetic(α, β) federated data of the FedProx paper (Li et al. 2020, after
 * Shamir et al. 2014), as its generator builds it: device k draws u_k ~ N(0, α²) and
 * B_k ~ N(0, β²) (α and β are standard deviations, as in the paper's code), a local
 * model W_k, b_k ~ N(u_k, 1) and a feature mean v_k ~ N(B_k, 1); its samples are
 * x ~ N(v_k, Σ) with Σ_jj = j^(−1.2) and y = argmax(W_k x + b_k). α controls how
 * much the local models differ, β how much the local data do. Sample counts follow
 * lognormal(4, 2) + 50; each device keeps 90 % for training and 10 % for testing.
 */
export const SYNTHETIC_FEATURES = 60;
export const SYNTHETIC_CLASSES = 10;

export interface SyntheticData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Each device's rows of `train`: the natural partition. */
  readonly shards: Uint32Array[];
}

export function generateSynthetic(alpha: number, beta: number, devices: number, seed: number): SyntheticData {
  const d = SYNTHETIC_FEATURES;
  const c = SYNTHETIC_CLASSES;
  const sigma = Float64Array.from({ length: d }, (_, j) => Math.sqrt((j + 1) ** -1.2));
  const trainX: number[] = [];
  const trainY: number[] = [];
  const testX: number[] = [];
  const testY: number[] = [];
  const shards: Uint32Array[] = [];
  for (let k = 0; k < devices; k++) {
    const rng = mulberry32(deriveSeed(seed, k));
    const u = alpha * normal(rng);
    const bMean = beta * normal(rng);
    const W = Float64Array.from({ length: c * d }, () => u + normal(rng));
    const b = Float64Array.from({ length: c }, () => u + normal(rng));
    const v = Float64Array.from({ length: d }, () => bMean + normal(rng));
    const count = Math.floor(Math.exp(4 + 2 * normal(rng))) + 50;
    const trainCount = Math.floor(0.9 * count);
    const first = trainY.length;
    const x = new Float64Array(d);
    for (let s = 0; s < count; s++) {
      for (let j = 0; j < d; j++) x[j] = v[j]! + sigma[j]! * normal(rng);
      let best = 0;
      let bestScore = -Infinity;
      for (let cls = 0; cls < c; cls++) {
        let score = b[cls]!;
        for (let j = 0; j < d; j++) score += W[cls * d + j]! * x[j]!;
        if (score > bestScore) {
          bestScore = score;
          best = cls;
        }
      }
      const [X, Y] = s < trainCount ? [trainX, trainY] : [testX, testY];
      for (let j = 0; j < d; j++) X.push(x[j]!);
      Y.push(best);
    }
    shards.push(Uint32Array.from({ length: trainCount }, (_, i) => first + i));
  }
  const dataset = (xs: number[], ys: number[]): Dataset => {
    const x = new Float32Array(new SharedArrayBuffer(xs.length * 4));
    x.set(xs);
    const y = new Uint8Array(new SharedArrayBuffer(ys.length));
    y.set(ys);
    return { x, y, size: ys.length, features: d, classes: c };
  };
  return { train: dataset(trainX, trainY), test: dataset(testX, testY), shards };
}
