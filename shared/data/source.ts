import { ConfigError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { loadMnist } from './mnist.ts';
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
  /** Natural per-client partition, when the data has one. */
  readonly shards?: Uint32Array[];
}

export function loadData(text: string, clients: number, seed: number): LoadedData {
  let spec: DataSpec;
  try {
    spec = parseDataSpec(text);
  } catch (e) {
    throw new ConfigError(`data: ${(e as Error).message}`);
  }
  if (spec.kind === 'mnist') return loadMnist();
  return generateSynthetic(spec.alpha, spec.beta, clients, seed);
}
