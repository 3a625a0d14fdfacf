import { labelCounts } from './dataset.ts';
import { partition, type PartitionSpec } from './partition.ts';
import { loadData, type RunDataSpec } from './source.ts';

export interface ClientSummary {
  readonly client: number;
  readonly size: number;
  /** Rows per class. */
  readonly labels: number[];
}

/** Each client's size and label histogram for a data source cut as a run would cut it. */
export function inspectPartition(data: RunDataSpec, spec: PartitionSpec, clients: number, seed: number, validation = 0): ClientSummary[] {
  const d = loadData(data, clients, seed, validation);
  const shards = d.shards ?? partition(spec, d.train.y, d.train.classes, clients, seed);
  return shards.map((indices, i) => ({ client: i + 1, size: indices.length, labels: labelCounts({ dataset: d.train, indices }) }));
}
