import type { CleanReport } from './clean.ts';
import { labelCounts } from './dataset.ts';
import { partition, type PartitionSpec } from './partition.ts';
import { loadData, type RunDataOptions } from './run-data.ts';

export interface ClientSummary {
  readonly client: number;
  readonly size: number;
  /** Rows per class (regression: one count, every row). */
  readonly labels: number[];
  /** Regression: the mean of the client's targets (a skew a histogram of classes would show). */
  readonly targetMean?: number;
}

/** The data as a run would cut it: what cleaning dropped, the splits' sizes, and each client's rows. */
export interface DataInspection {
  readonly features: number;
  readonly classes: number;
  /** Regression: the labels are real-valued targets. */
  readonly regression?: boolean;
  /** With named labels: the class names, in index order. */
  readonly classNames?: readonly string[];
  readonly report?: CleanReport;
  readonly testReport?: CleanReport;
  readonly splits: { readonly train: number; readonly validation?: number; readonly test: number };
  readonly clients: ClientSummary[];
}

/** Each client's size and label histogram for a run's data cut as the run would cut it. */
export async function inspectData(options: RunDataOptions, spec: PartitionSpec, clients: number, seed: number): Promise<DataInspection> {
  const d = await loadData(options, clients, seed);
  const shards = d.shards ?? partition(spec, d.train.y, d.train.classes, clients, seed);
  return {
    features: d.train.features,
    classes: d.train.classes,
    ...(d.train.targets ? { regression: true } : {}),
    ...(d.classNames ? { classNames: d.classNames } : {}),
    ...(d.report ? { report: d.report } : {}),
    ...(d.testReport ? { testReport: d.testReport } : {}),
    splits: { train: d.train.size, ...(d.validation ? { validation: d.validation.size } : {}), test: d.test.size },
    clients: shards.map((indices, i) => ({
      client: i + 1,
      size: indices.length,
      labels: labelCounts({ dataset: d.train, indices }),
      ...(d.train.targets ? { targetMean: meanTarget(d.train.targets, d.train.classes, indices) } : {}),
    })),
  };
}

/** The mean of the target values of some rows (0 for none). */
function meanTarget(targets: Float32Array, width: number, rows: Uint32Array): number {
  let sum = 0;
  for (const r of rows) for (let k = 0; k < width; k++) sum += targets[r * width + k]!;
  return rows.length ? sum / (rows.length * width) : 0;
}
