import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseMapping, specField } from '../config/spec-field.ts';
import { ConfigError } from '../errors.ts';
import { textDataset } from './text.ts';
import type { Dataset } from './dataset.ts';
import { loadMnist } from './mnist.ts';
import { subset } from './dataset.ts';
import { deriveSeed } from '../rng.ts';
import { splitRows } from './split.ts';
import { generateSynthetic } from './synthetic.ts';

/**
 * Data by name, one grammar for every command: `mnist` (the embedded digits, cut by
 * `partition`), `synthetic:α,β` (the FedProx generator, one device per client), `text:W:path`
 * (a text file as next-character windows of W characters), `idx:<images>,<labels>` (an IDX
 * pair) and `csv:<path>` (a CSV file with a label column). A run (coordinator, simulate)
 * evaluates on the first three; a client also reads IDX and CSV files (and takes a bare
 * path as `csv:<path>`).
 */
export type DataSpec =
  | { kind: 'mnist' }
  | { kind: 'synthetic'; alpha: number; beta: number }
  | { kind: 'text'; window: number; path: string }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'csv'; path: string };
export type RunDataSpec = Extract<DataSpec, { kind: 'mnist' | 'synthetic' | 'text' }>;

const FORMS = 'mnist, synthetic:<alpha>,<beta>, text:<window>:<path>, idx:<images>,<labels> or csv:<path>';
const RUN_FORMS = 'mnist, synthetic:<alpha>,<beta> or text:<window>:<path>';

/** Whether `text` is written in the data grammar (a known name or prefix), rather than, say, a bare file path. */
export function isDataSpecText(text: string): boolean {
  return /^(mnist$|synthetic:|text:|idx:|csv:)/.test(text);
}

export function parseDataSpec(text: string): DataSpec {
  if (text === 'mnist') return { kind: 'mnist' };
  const t = /^text:(\d+):(.+)$/.exec(text);
  if (t) {
    const window = Number(t[1]);
    if (!(window >= 1 && window <= 4096)) throw new ConfigError(`text:<window>:<path> needs a window of 1..4096 characters, got ${t[1]}`);
    return { kind: 'text', window, path: t[2]! };
  }
  if (text.startsWith('text:')) throw new ConfigError(`text data is text:<window>:<path> (e.g. text:32:corpus.txt), got "${text}"`);
  const m = /^synthetic:([^,]+),([^,]+)$/.exec(text);
  if (m) {
    const alpha = Number(m[1]);
    const beta = Number(m[2]);
    if (!(alpha >= 0) || !(beta >= 0)) throw new ConfigError(`synthetic:α,β needs two numbers ≥ 0, got "${m[1]}" and "${m[2]}"`);
    return { kind: 'synthetic', alpha, beta };
  }
  if (text.startsWith('idx:')) {
    const paths = text.slice(4).split(',');
    if (paths.length !== 2 || paths.some((p) => p === '')) throw new ConfigError(`idx:<images>,<labels> needs two paths, got "${text}"`);
    return { kind: 'idx', images: paths[0]!, labels: paths[1]! };
  }
  if (text.startsWith('csv:') && text.length > 4) return { kind: 'csv', path: text.slice(4) };
  throw new ConfigError(`unknown data "${text}" (expected ${FORMS})`);
}

/** The short form of a spec (parses back to an equal one). */
export function formatDataSpec(spec: DataSpec): string {
  switch (spec.kind) {
    case 'mnist':
      return 'mnist';
    case 'synthetic':
      return `synthetic:${spec.alpha},${spec.beta}`;
    case 'text':
      return `text:${spec.window}:${spec.path}`;
    case 'idx':
      return `idx:${spec.images},${spec.labels}`;
    case 'csv':
      return `csv:${spec.path}`;
  }
}

const dataObject = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('mnist') }),
    z.strictObject({ kind: z.literal('synthetic'), alpha: z.number().min(0), beta: z.number().min(0) }),
    z.strictObject({ kind: z.literal('text'), window: z.number().int().min(1).max(4096), path: z.string().min(1) }),
    z.strictObject({ kind: z.literal('idx'), images: z.string().min(1), labels: z.string().min(1) }),
    z.strictObject({ kind: z.literal('csv'), path: z.string().min(1) }),
  ],
  { error: 'kind must be mnist, synthetic, text, idx or csv' },
);

/** A run's data field: the short string or the object form; IDX and CSV files are one client's data, not a run's. */
export const runDataSpecSchema = specField<RunDataSpec>({
  text: parseRunData,
  object: (value) => runData(parseMapping(dataObject, value)),
});

/** A run's data from its short form: mnist, synthetic or text. */
export function parseRunData(text: string): RunDataSpec {
  if (!isDataSpecText(text)) throw new ConfigError(`unknown data "${text}" (expected ${RUN_FORMS})`);
  return runData(parseDataSpec(text));
}

function runData(spec: DataSpec): RunDataSpec {
  if (spec.kind === 'idx' || spec.kind === 'csv') {
    throw new ConfigError(
      `${formatDataSpec(spec)} is one client's data (starling client --data); a run evaluates on mnist, synthetic:<alpha>,<beta> or text:<window>:<path>`,
    );
  }
  return spec;
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
export function loadData(spec: RunDataSpec, clients: number, seed: number, validation = 0): LoadedData {
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
