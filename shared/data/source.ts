import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { textDataset } from './text.ts';
import type { Dataset } from './dataset.ts';
import { loadMnist } from './mnist.ts';
import { subset } from './dataset.ts';
import { deriveSeed } from '../rng.ts';
import { splitRows } from './split.ts';
import { generateSynthetic } from './synthetic.ts';

/**
 * The data a simulation or a coordinator's evaluation uses, by name: `mnist` (the
 * embedded digits, partitioned by `partition`), `synthetic:α,β` (the FedProx
 * generator, one device per client, naturally partitioned) or `text:W:path` (a
 * text file as next-character windows of W characters, partitioned by `partition`).
 */
export type DataSpec = { kind: 'mnist' } | { kind: 'synthetic'; alpha: number; beta: number } | { kind: 'text'; window: number; path: string };

export function parseDataSpec(text: string): DataSpec {
  if (text === 'mnist') return { kind: 'mnist' };
  const t = /^text:(\d+):(.+)$/.exec(text);
  if (t) {
    const window = Number(t[1]);
    if (!(window >= 1 && window <= 4096)) throw new RangeError(`text:<window>:<path> needs a window of 1..4096 characters, got ${t[1]}`);
    return { kind: 'text', window, path: t[2]! };
  }
  if (text.startsWith('text:')) throw new RangeError(`text data is text:<window>:<path> (e.g. text:32:corpus.txt), got "${text}"`);
  const m = /^synthetic:([^,]+),([^,]+)$/.exec(text);
  if (m) {
    const alpha = Number(m[1]);
    const beta = Number(m[2]);
    if (!(alpha >= 0) || !(beta >= 0)) throw new RangeError(`synthetic:α,β needs two numbers ≥ 0, got "${m[1]}" and "${m[2]}"`);
    return { kind: 'synthetic', alpha, beta };
  }
  throw new RangeError(`unknown data "${text}" (expected mnist, synthetic:<alpha>,<beta> or text:<window>:<path>)`);
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
 * A text file's first nine tenths as next-character training windows and the last
 * tenth as the test split, cut in the text so no window straddles both.
 */
function splitText(path: string, window: number): LoadedData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`data: cannot read text file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const cut = Math.floor(text.length * 0.9);
  try {
    return { train: textDataset(text.slice(0, cut), window), test: textDataset(text.slice(cut), window) };
  } catch (e) {
    throw new ConfigError(`data: ${path}: ${(e as Error).message} (each of the train and test parts needs more than ${window} characters)`);
  }
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
  if (spec.kind === 'text') {
    if (validation > 0) throw new ConfigError('validation: a held-out validation split applies to mnist data (text keeps its last tenth as the test split)');
    return splitText(spec.path, spec.window);
  }
  const mnist = loadMnist();
  if (!(validation > 0)) return mnist;
  const rows = splitRows(mnist.train.y, mnist.train.classes, { validation, test: 0, stratified: true, seed: deriveSeed(seed, 0x7a11d) });
  return { train: subset(mnist.train, rows.train), test: mnist.test, validation: subset(mnist.train, rows.validation) };
}
