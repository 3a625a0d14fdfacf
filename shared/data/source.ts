import { ConfigError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { loadMnist } from './mnist.ts';
import { subset } from './dataset.ts';
import { deriveSeed } from '../rng.ts';
import { splitRows } from './split.ts';
import { generateSynthetic } from './synthetic.ts';

/**
 * The data a simulation or a coordinator's evaluation uses, by name: `mnist` (the
 * embedded digits, partitioned by `partition`) or `synthetic:α,β` (the FedProx
 * generator, one device per client, naturally partitioned).
 */
export type DataSpec = { kind: 'mnist' } | { kind: 'synthetic'; alpha: number; beta: number };

export function parseDataSpec(text: string): DataSpec {
  if (text === 'mnist') return { kind: 'mnist' };
  const m = /^synthetic:([^,]+),([^,]+)$/.exec(text);
  if (m) {
    const alpha = Number(m[1]);
    const beta = Number(m[2]);
    if (!(alpha >= 0) || !(beta >= 0)) throw new RangeError(`synthetic:α,β needs two numbers ≥ 0, got "${m[1]}" and "${m[2]}"`);
    return { kind: 'synthetic', alpha, beta };
  }
  throw new RangeError(`unknown data "${text}" (expected mnist or synthetic:<alpha>,<beta>)`);
}

export interface LoadedData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Held out of the training data when a validation fraction is asked for. */
  readonly validation?: Dataset;
  /** Natural per-client partition, when the data has one. */
  readonly shards?: Uint32Array[];
}

/**
 * The named data; with `validation` > 0 (MNIST only) a stratified, seeded fraction of
 * the training rows is held out as a validation split and the rest is the training set
 * every partition cuts — coordinator, simulation and MNIST clients computing the same.
 */
export function loadData(text: string, clients: number, seed: number, validation = 0): LoadedData {
  let spec: DataSpec;
  try {
    spec = parseDataSpec(text);
  } catch (e) {
    throw new ConfigError(`data: ${(e as Error).message}`);
  }
  if (spec.kind === 'synthetic') {
    if (validation > 0) throw new ConfigError('validation: a held-out validation split applies to mnist data (synthetic devices keep their own test rows)');
    return generateSynthetic(spec.alpha, spec.beta, clients, seed);
  }
  const mnist = loadMnist();
  if (!(validation > 0)) return mnist;
  const rows = splitRows(mnist.train.y, mnist.train.classes, { validation, test: 0, stratified: true, seed: deriveSeed(seed, 0x7a11d) });
  return { train: subset(mnist.train, rows.train), test: mnist.test, validation: subset(mnist.train, rows.validation) };
}
