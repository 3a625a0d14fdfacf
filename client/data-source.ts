import { loadCsvCleaned, readCsv } from '../shared/data/csv.ts';
import { formatCleanReport } from '../shared/data/clean.ts';
import { loadIdx } from '../shared/data/idx.ts';
import { applyNormalizer, fitNormalizer, type NormalizeKind } from '../shared/data/normalize.ts';
import type { DatasetView } from '../shared/data/dataset.ts';
import { localHoldout, localHoldoutSeed } from '../shared/data/holdout.ts';
import { formatDataSpec, isDataSpecText, parseDataSpec, type DataSpec } from '../shared/data/source.ts';
import { loadData } from '../shared/data/run-data.ts';
import { partition, type PartitionSpec } from '../shared/data/partition.ts';
import { ConfigError, DataError } from '../shared/errors.ts';
import { readFile } from 'node:fs/promises';
import { textDataset } from '../shared/data/text.ts';

/** `k/N`: the k-th (1-based) of N shards. */
export interface ShardRef {
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): ShardRef {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`--shard must look like k/N (e.g. 3/10), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new ConfigError(`--shard ${text}: k must be between 1 and N`);
  return { index, count };
}

/**
 * A client's `--data`: the one data grammar (shared/data/source.ts), where a bare path
 * (no known prefix) also means a CSV file, as `csv:<path>` does.
 */
export function parseClientData(text: string): DataSpec {
  let spec: DataSpec;
  try {
    spec = isDataSpecText(text) ? parseDataSpec(text) : { kind: 'csv', path: text };
  } catch (e) {
    throw new ConfigError(`--data: ${(e as Error).message}`);
  }
  if (spec.kind === 'synthetic') throw new ConfigError(`--data ${text}: synthetic devices exist only in simulations (starling simulate --data ${text})`);
  return spec;
}

export interface DataSourceOptions {
  /** The embedded digits, an IDX pair, a text file as next-character windows, or a CSV file (parseClientData). */
  readonly data: DataSpec;
  readonly shard?: string;
  readonly label?: string;
  /** For CSV data: `regression` reads the label column as real-valued targets (the run's task, as the coordinator's). */
  readonly task?: 'classification' | 'regression';
  /** For CSV data whose labels are names: the run's classes in index order (the same list on every client). */
  readonly classes?: readonly string[];
  readonly partition: PartitionSpec;
  readonly seed: number;
  /** The run's validation fraction: those MNIST rows are the coordinator's, not any client's. */
  readonly validation?: number;
  /** For CSV/IDX data: normalize each feature with statistics fitted on this client's training rows. */
  readonly normalize?: NormalizeKind;
  /** Hold out this fraction (0, 0.5] of the client's rows for federated evaluation (stratified, seeded), never trained on. */
  readonly localValidation?: number;
  /** For CSV data: drop bad and duplicate rows instead of failing, optionally also values outside a range. */
  readonly clean?: { readonly range?: readonly [number, number] };
  /** Receives the cleaning report, one line. */
  readonly report?: (line: string) => void;
}

/** A client's rows: those it trains on and, with a local validation fraction, those it only evaluates on. */
export interface ClientData {
  readonly train: DatasetView;
  readonly holdout?: DatasetView;
}

/**
 * Resolves a client's private data (openDataSource), then holds out
 * `localValidation` of its rows (seeded by the run seed and the shard number) and
 * fits `normalize` on the remaining training rows only, applying it to both.
 */
export async function openClientData(options: DataSourceOptions): Promise<ClientData> {
  const all = await openRows(options);
  const split: ClientData =
    options.localValidation === undefined
      ? { train: all }
      : localHoldout(all, options.localValidation, localHoldoutSeed(options.seed, options.shard ? parseShard(options.shard).index : 0));
  if (!options.normalize) return split;
  const dataset = applyNormalizer(fitNormalizer(options.normalize, split.train), all.dataset);
  return { train: { ...split.train, dataset }, ...(split.holdout ? { holdout: { ...split.holdout, dataset } } : {}) };
}

/** The rows a client trains on (all of its rows without a local validation fraction). */
export async function openDataSource(options: DataSourceOptions): Promise<DatasetView> {
  return (await openClientData(options)).train;
}

/**
 * A client's private data, unsplit and unnormalized: a shard of the embedded MNIST
 * training digits (partitioned exactly as `simulate` does, so shard k/N matches
 * simulated client k), a local IDX images + labels pair, a text file as
 * next-character windows, or a local CSV file with a label column.
 */
async function openRows(options: DataSourceOptions): Promise<DatasetView> {
  const spec = options.data;
  const only = (what: string) => new ConfigError(`${what}; ${formatDataSpec(spec)} is already one client's data`);
  if (spec.kind !== 'csv' && options.task === 'regression') throw new ConfigError(`--task regression reads its targets from a CSV file, not ${spec.kind} data`);
  if (spec.kind === 'mnist') {
    if (options.clean) throw new ConfigError('--clean applies to CSV data; the embedded digits are clean');
    if (options.normalize)
      throw new ConfigError("--normalize applies to CSV and IDX data; the embedded digits are already scaled to [0, 1] like the coordinator's test split");
    const { train } = await loadData({ source: spec, validation: options.validation ?? 0 }, 1, options.seed);
    if (!options.shard) return { dataset: train };
    const { index, count } = parseShard(options.shard);
    const shards = partition(options.partition, train.y, train.classes, count, options.seed);
    return { dataset: train, indices: shards[index - 1]! };
  }
  if (spec.kind === 'text') {
    if (options.shard || options.clean || options.normalize)
      throw new ConfigError("--shard, --clean and --normalize do not apply to text data (text:<window>:<path> is one client's text, as token ids)");
    let text: string;
    try {
      text = await readFile(spec.path, 'utf8');
    } catch (cause) {
      throw new DataError(`cannot read text file ${spec.path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
    return { dataset: textDataset(text, spec.window) };
  }
  if (options.shard) throw only('--shard applies to --data mnist only');
  if (spec.kind === 'idx') {
    if (options.clean) throw new ConfigError('--clean applies to CSV data; an IDX file is checked whole (a bad file fails with the reason)');
    return { dataset: await loadIdx(spec.images, spec.labels) };
  }
  if (spec.kind !== 'csv') throw new ConfigError(`--data ${formatDataSpec(spec)} is not a client's data (mnist, text, idx or csv)`);
  if (!options.label) throw new ConfigError('--label COLUMN is required with a CSV file (--data path/to/file.csv)');
  if (options.task === 'regression' && options.classes) throw new ConfigError('--classes: a regression target is a number, not one of a list of classes');
  // one client's file cannot say the run's class order: named labels need the declared list
  const csv =
    options.task === 'regression'
      ? { label: options.label, task: 'regression' as const }
      : { label: options.label, namesMustBeDeclared: true, ...(options.classes ? { classNames: options.classes } : {}) };
  if (!options.clean) return { dataset: (await readCsv(spec.path, csv)).dataset };
  const { dataset, report } = await loadCsvCleaned(spec.path, { ...csv, ...options.clean });
  options.report?.(`${spec.path}: ${formatCleanReport(report)}`);
  return { dataset };
}
