import { labelCounts } from './dataset.ts';
import { parsePartition, partition } from './partition.ts';
import { loadData } from './source.ts';

export interface ClientSummary {
  readonly client: number;
  readonly size: number;
  /** Rows per class. */
  readonly labels: number[];
}

/** Each client's size and label histogram for a data source cut as a run would cut it. */
export function inspectPartition(data: string, partitionText: string, clients: number, seed: number, validation = 0): ClientSummary[] {
  const d = loadData(data, clients, seed, validation);
  const shards = d.shards ?? partition(parsePartition(partitionText), d.train.y, d.train.classes, clients, seed);
  return shards.map((indices, i) => ({ client: i + 1, size: indices.length, labels: labelCounts({ dataset: d.train, indices }) }));
}
