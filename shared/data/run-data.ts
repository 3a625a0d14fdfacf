import { readFileSync } from 'node:fs';
import { ConfigError, DataError } from '../errors.ts';
import { deriveSeed } from '../rng.ts';
import type { CleanReport } from './clean.ts';
import { loadCsvCleaned, readCsv } from './csv.ts';
import { subset, type Dataset } from './dataset.ts';
import { loadIdx } from './idx.ts';
import { loadMnist } from './mnist.ts';
import { applyNormalizer, fitNormalizer, type NormalizeKind } from './normalize.ts';
import { formatDataSpec, type DataSpec } from './source.ts';
import { splitRows } from './split.ts';
import { generateSynthetic } from './synthetic.ts';
import { textDataset } from './text.ts';

/** The test split a CSV or IDX run holds out of its one file when no test file is named. */
export const DEFAULT_TEST_FRACTION = 0.2;

/** How a run reads its data: the source, and for a file (CSV, IDX) how its rows become a dataset and its splits. */
export interface RunDataOptions {
  readonly source: DataSpec;
  /** CSV: `regression` reads the label column as a real-valued target (Dataset.targets); classification by default. */
  readonly task?: 'classification' | 'regression';
  /** CSV: the label column. */
  readonly label?: string;
  /** CSV: the class names in index order; by default the file's distinct labels, sorted (or integer labels as indices). */
  readonly classes?: readonly string[];
  /** CSV: drop bad and duplicate rows (and report them) instead of failing; optionally values outside a range too. */
  readonly clean?: { readonly range?: readonly [number, number] };
  /** CSV, IDX: normalize each feature with statistics fitted on the training rows, applied to every split. */
  readonly normalize?: NormalizeKind;
  /** CSV, IDX: the test split from this file instead of a hold-out of the data's own rows. */
  readonly testData?: DataSpec;
  /** CSV, IDX without testData: the fraction of rows held out (stratified, seeded) as the test split. */
  readonly testFraction?: number;
  /** The fraction held out (stratified, seeded) as a validation split: of MNIST's training digits, of a file's rows. */
  readonly validation?: number;
}

export interface LoadedData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Held out of the training data when a validation fraction is asked for. */
  readonly validation?: Dataset;
  /** Natural per-client partition, when the data has one. */
  readonly shards?: Uint32Array[];
  /** With named labels: the class names, in index order. */
  readonly classNames?: readonly string[];
  /** With cleaning: what was dropped from the data, and from the test file. */
  readonly report?: CleanReport;
  readonly testReport?: CleanReport;
}

/**
 * The run's data, as the coordinator, a simulation and `data inspect` all cut it: the
 * embedded MNIST digits (with `validation`, a stratified, seeded part of the training
 * digits held out), the synthetic devices, a text file's windows, or a CSV / IDX file
 * whose test split is `testData` or a stratified, seeded hold-out of its own rows.
 */
export async function loadData(options: RunDataOptions, clients: number, seed: number): Promise<LoadedData> {
  const { source } = options;
  const validation = options.validation ?? 0;
  if (source.kind === 'synthetic') {
    if (validation > 0) throw new ConfigError('validation: synthetic devices keep their own test rows; a validation split applies to mnist, CSV and IDX data');
    return generateSynthetic(source.alpha, source.beta, clients, seed);
  }
  if (source.kind === 'text') {
    if (validation > 0) throw new ConfigError('validation: text keeps its last tenth as the test split; a validation split applies to mnist, CSV and IDX data');
    return splitText(source.path, source.window);
  }
  if (source.kind === 'mnist') {
    const mnist = loadMnist();
    if (!(validation > 0)) return mnist;
    const rows = splitRows(mnist.train.y, mnist.train.classes, { validation, test: 0, stratified: true, seed: validationSeed(seed) });
    return { train: subset(mnist.train, rows.train), test: mnist.test, validation: subset(mnist.train, rows.validation) };
  }
  return loadFileData(options, validation, seed);
}

const validationSeed = (seed: number) => deriveSeed(seed, 0x7a11d);

/** A CSV or IDX run: the file's rows (cleaned), split into train / validation / test, normalized on the training rows. */
async function loadFileData(options: RunDataOptions, validation: number, seed: number): Promise<LoadedData> {
  const main = await readFile(options, options.source);
  const all = main.dataset;
  const test = options.testData ? await readFile(options, options.testData, main) : undefined;
  if (test && test.dataset.features !== all.features) {
    throw new DataError(`the test data ${formatDataSpec(options.testData!)} has ${test.dataset.features} features, the training data ${all.features}`);
  }
  const fraction = test ? 0 : (options.testFraction ?? DEFAULT_TEST_FRACTION);
  // targets have no classes to keep in proportion: a regression split is a plain seeded shuffle
  const stratified = all.targets === undefined;
  const rows = splitRows(all.y, all.classes, { validation, test: fraction, stratified, seed: deriveSeed(seed, 0x7e57) });
  if (!test && rows.test.length === 0) {
    throw new DataError(
      `a test fraction of ${fraction} holds out none of the ${all.size} rows of ${formatDataSpec(options.source)} (every class rounds to 0): ` +
        'use a larger --test-fraction or name a test file with --test-data',
    );
  }
  if (validation > 0 && rows.validation.length === 0) throw new DataError(`a validation fraction of ${validation} holds out none of the ${all.size} rows`);
  if (rows.train.length === 0) throw new DataError(`no rows of ${formatDataSpec(options.source)} are left to train on`);
  const parts = {
    train: subset(all, rows.train),
    test: test ? { ...test.dataset, classes: all.classes } : subset(all, rows.test),
    validation: validation > 0 ? subset(all, rows.validation) : undefined,
  };
  const normalizer = options.normalize ? fitNormalizer(options.normalize, { dataset: parts.train }) : undefined;
  const scaled = (d: Dataset) => (normalizer ? applyNormalizer(normalizer, d) : d);
  return {
    train: scaled(parts.train),
    test: scaled(parts.test),
    ...(parts.validation ? { validation: scaled(parts.validation) } : {}),
    ...(main.classNames ? { classNames: main.classNames } : {}),
    ...(main.report ? { report: main.report } : {}),
    ...(test?.report ? { testReport: test.report } : {}),
  };
}

interface FileRows {
  readonly dataset: Dataset;
  readonly classNames?: readonly string[];
  readonly report?: CleanReport;
}

/** One CSV or IDX file; a test file (`like` the training file) takes its classes, so an unknown label is an error or a drop. */
async function readFile(options: RunDataOptions, spec: DataSpec, like?: FileRows): Promise<FileRows> {
  if (spec.kind === 'idx') {
    if (options.clean) throw new ConfigError('clean applies to CSV data; an IDX file is checked whole (a bad file fails with the reason)');
    if (options.task === 'regression') throw new ConfigError('task: regression reads its targets from a CSV file; an IDX label file holds class indices');
    return { dataset: await loadIdx(spec.images, spec.labels, like ? { classes: like.dataset.classes } : {}) };
  }
  if (spec.kind !== 'csv') throw new ConfigError(`${formatDataSpec(spec)} cannot be a run's data file (a CSV file or idx:<images>,<labels>)`);
  if (!options.label) throw new ConfigError(`label: ${formatDataSpec(spec)} needs the name of its label column (--label COLUMN)`);
  const classNames = like ? like.classNames : options.classes;
  const regression = options.task === 'regression';
  const opts = regression
    ? { label: options.label, task: 'regression' as const }
    : { label: options.label, ...(classNames ? { classNames } : like ? { classes: like.dataset.classes } : {}) };
  if (!options.clean) return readCsv(spec.path, opts);
  return loadCsvCleaned(spec.path, { ...opts, ...options.clean });
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
    throw new DataError(`data: ${path}: ${(e as Error).message} (each of the train and test parts needs more than ${window} characters)`);
  }
}
