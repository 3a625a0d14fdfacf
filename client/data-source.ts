import { loadCsv, loadCsvCleaned } from '../shared/data/csv.ts';
import { formatCleanReport } from '../shared/data/clean.ts';
import { loadIdx } from '../shared/data/idx.ts';
import { applyNormalizer, fitNormalizer, type NormalizeKind } from '../shared/data/normalize.ts';
import type { DataView } from '../shared/data/dataset.ts';
import { localHoldout, localHoldoutSeed } from '../shared/data/holdout.ts';
import { loadData, parseDataSpec } from '../shared/data/source.ts';
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

export interface DataSourceOptions {
  /** `mnist` for the embedded digits, `idx:<images>,<labels>` for IDX files, `text:<window>:<path>` for next-character windows of a text file, or a path to a CSV file. */
  readonly data: string;
  readonly shard?: string;
  readonly label?: string;
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
  readonly train: DataView;
  readonly holdout?: DataView;
}

/**
 * Resolves a client's private data (openDataSource), then holds out
 * `localValidation` of its rows (seeded by the run seed and the shard number) and
 * fits `normalize` on the remaining training rows only, applying it to both.
 */
export async function openClientData(o: DataSourceOptions): Promise<ClientData> {
  const all = await openRows(o);
  const split: ClientData =
    o.localValidation === undefined ? { train: all } : localHoldout(all, o.localValidation, localHoldoutSeed(o.seed, o.shard ? parseShard(o.shard).index : 0));
  if (!o.normalize) return split;
  const dataset = applyNormalizer(fitNormalizer(o.normalize, split.train), all.dataset);
  return { train: { ...split.train, dataset }, ...(split.holdout ? { holdout: { ...split.holdout, dataset } } : {}) };
}

/** The rows a client trains on (all of its rows without a local validation fraction). */
export async function openDataSource(o: DataSourceOptions): Promise<DataView> {
  return (await openClientData(o)).train;
}

/**
 * A client's private data, unsplit and unnormalized: a shard of the embedded MNIST
 * training digits (partitioned exactly as `simulate` does, so shard k/N matches
 * simulated client k), a local IDX images + labels pair, a text file as
 * next-character windows, or a local CSV file with a label column.
 */
async function openRows(o: DataSourceOptions): Promise<DataView> {
  if (o.data === 'mnist') {
    if (o.clean) throw new ConfigError('--clean applies to CSV data; the embedded digits are clean');
    if (o.normalize) throw new ConfigError('--normalize applies to CSV and IDX data; the embedded digits are already scaled to [0, 1] like the coordinator\'s test split');
    const { train } = loadData('mnist', 1, o.seed, o.validation ?? 0);
    if (!o.shard) return { dataset: train };
    const { index, count } = parseShard(o.shard);
    const shards = partition(o.partition, train.y, train.classes, count, o.seed);
    return { dataset: train, indices: shards[index - 1]! };
  }
  if (o.data.startsWith('text:')) {
    if (o.shard || o.clean || o.normalize) throw new ConfigError('--shard, --clean and --normalize do not apply to text data (text:<window>:<path> is one client\'s text, as token ids)');
    const spec = parseTextSpec(o.data);
    let text: string;
    try {
      text = await readFile(spec.path, 'utf8');
    } catch (cause) {
      throw new DataError(`cannot read text file ${spec.path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
    return { dataset: textDataset(text, spec.window) };
  }
  if (o.data.startsWith('idx:')) {
    const paths = o.data.slice(4).split(',');
    if (paths.length !== 2 || paths.some((p) => p === '')) throw new ConfigError(`--data idx:<images>,<labels> needs two paths, got "${o.data}"`);
    if (o.shard) throw new ConfigError('--shard applies to --data mnist only; IDX files are already one client\'s data');
    if (o.clean) throw new ConfigError('--clean applies to CSV data; an IDX file is checked whole (a bad file fails with the reason)');
    return { dataset: await loadIdx(paths[0]!, paths[1]!) };
  }
  if (!o.label) throw new ConfigError('--label COLUMN is required with a CSV file (--data path/to/file.csv)');
  if (o.shard) throw new ConfigError('--shard applies to --data mnist only; a CSV file is already one client\'s data');
  if (!o.clean) return { dataset: await loadCsv(o.data, { label: o.label }) };
  const { dataset, report } = await loadCsvCleaned(o.data, { label: o.label, ...o.clean });
  o.report?.(`${o.data}: ${formatCleanReport(report)}`);
  return { dataset };
}

function parseTextSpec(data: string): { window: number; path: string } {
  let spec;
  try {
    spec = parseDataSpec(data);
  } catch (e) {
    throw new ConfigError(`--data: ${(e as Error).message}`);
  }
  if (spec.kind !== 'text') throw new ConfigError(`--data ${data} is not text:<window>:<path>`);
  return spec;
}
