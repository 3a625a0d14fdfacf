import { z } from 'zod';
import { parseMapping, specField } from '../config/spec-field.ts';
import { ConfigError, InvalidArgumentError } from '../errors.ts';
import { deriveSeed, mulberry32, permutation, dirichlet, normal } from '../rng.ts';

/**
 * Partitioners split the row indices 0..n-1 of a training set among clients.
 * Pure functions: the same labels, client count and seed give the same shards.
 * Every row goes to exactly one client.
 */
export type PartitionSpec =
  | { kind: 'iid' }
  | { kind: 'dirichlet'; alpha: number }
  | { kind: 'shards'; perClient: number }
  | { kind: 'quantity'; sigma: number }
  /** Each client draws `rows` rows of its own (seeded per client), so any number of clients get data; rows repeat across clients. */
  | { kind: 'sample'; rows: number };

/** The object form of a partition in a config file, e.g. `{ kind: dirichlet, alpha: 0.5 }`. */
const partitionObject = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('iid') }),
    z.strictObject({ kind: z.literal('dirichlet'), alpha: z.number().positive() }),
    z.strictObject({ kind: z.literal('shards'), perClient: z.number().int().min(1) }),
    z.strictObject({ kind: z.literal('quantity'), sigma: z.number().positive() }),
    z.strictObject({ kind: z.literal('sample'), rows: z.number().int().min(1) }),
  ],
  { error: 'kind must be iid, dirichlet, shards, quantity or sample' },
);

/** Parses `iid`, `dirichlet:<alpha>`, `shards:<k>`, `quantity:<sigma>` or `sample:<rows>`; throws a ConfigError naming what is wrong. */
export function parsePartition(text: string): PartitionSpec {
  if (text === 'iid') return { kind: 'iid' };
  const m = /^(dirichlet|shards|quantity|sample):(.+)$/.exec(text);
  if (!m) throw new ConfigError(`unknown partition "${text}" (expected iid, dirichlet:<alpha>, shards:<k>, quantity:<sigma> or sample:<rows>)`);
  const value = Number(m[2]);
  if (m[1] === 'shards' || m[1] === 'sample') {
    const what = m[1] === 'shards' ? 'shards per client' : 'rows per client';
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${what} must be a positive integer, got "${m[2]}"`);
    return m[1] === 'shards' ? { kind: 'shards', perClient: value } : { kind: 'sample', rows: value };
  }
  const what = m[1] === 'quantity' ? 'quantity skew sigma' : 'dirichlet alpha';
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${what} must be a positive number, got "${m[2]}"`);
  return m[1] === 'quantity' ? { kind: 'quantity', sigma: value } : { kind: 'dirichlet', alpha: value };
}

/** The short form of a spec (parses back to an equal one). */
export function formatPartition(spec: PartitionSpec): string {
  if (spec.kind === 'iid') return 'iid';
  if (spec.kind === 'dirichlet') return `dirichlet:${spec.alpha}`;
  if (spec.kind === 'shards') return `shards:${spec.perClient}`;
  if (spec.kind === 'sample') return `sample:${spec.rows}`;
  return `quantity:${spec.sigma}`;
}

/** The config field: the short string or the object form, either way a typed spec. */
export const partitionSpecSchema = specField<PartitionSpec>({
  text: parsePartition,
  object: (value) => parseMapping(partitionObject, value),
});

export function partition(spec: PartitionSpec, labels: ArrayLike<number>, classes: number, clients: number, seed: number): Uint32Array[] {
  if (spec.kind === 'sample') return Array.from({ length: clients }, (_, c) => sampleShard(labels.length, spec.rows, seed, c));
  if (spec.kind === 'iid') return partitionIid(labels.length, clients, seed);
  if (spec.kind === 'dirichlet') return partitionDirichlet(labels, classes, clients, spec.alpha, seed);
  if (spec.kind === 'quantity') return partitionQuantity(labels.length, clients, spec.sigma, seed);
  return partitionShards(labels, clients, spec.perClient, seed);
}

/**
 * Client `c`'s rows under `partition`, without cutting the others': `sample` draws them on demand
 * (a simulation of 100,000 clients holds only the sampled clients' rows, each round), the other
 * partitioners cut every shard once and hand out the one asked for.
 */
export function shardSource(spec: PartitionSpec, labels: ArrayLike<number>, classes: number, clients: number, seed: number): (client: number) => Uint32Array {
  if (spec.kind === 'sample') {
    if (!Number.isInteger(clients) || clients < 1) throw new InvalidArgumentError(`client count must be a positive integer, got ${clients}`);
    const n = labels.length;
    sampleShard(n, spec.rows, seed, 0);
    return (c) => sampleShard(n, spec.rows, seed, c);
  }
  const shards = partition(spec, labels, classes, clients, seed);
  return (c) => shards[c]!;
}

/**
 * `rows` distinct rows of 0..n−1 for client `c` (0-based), drawn uniformly by Floyd's algorithm
 * from a stream seeded by (seed, c): a pure function of its arguments, O(rows) time and memory.
 * Different clients' draws are independent, so a row can be in several clients' shards.
 */
export function sampleShard(n: number, rows: number, seed: number, c: number): Uint32Array {
  if (!Number.isInteger(rows) || rows < 1) throw new InvalidArgumentError(`rows per client must be a positive integer, got ${rows}`);
  if (rows > n) throw new InvalidArgumentError(`cannot draw ${rows} rows per client from ${n} rows`);
  const rng = mulberry32(deriveSeed(seed, c, 0x53414d));
  const chosen = new Set<number>();
  const out = new Uint32Array(rows);
  let k = 0;
  for (let j = n - rows; j < n; j++) {
    const t = Math.floor(rng() * (j + 1));
    const pick = chosen.has(t) ? j : t;
    chosen.add(pick);
    out[k++] = pick;
  }
  return out;
}

/** Shuffles the rows and deals them into `clients` shards whose sizes differ by at most one. */
export function partitionIid(n: number, clients: number, seed: number): Uint32Array[] {
  checkClients(clients, n);
  const order = permutation(n, mulberry32(seed));
  const shards: Uint32Array[] = [];
  for (let c = 0; c < clients; c++) {
    const start = Math.floor((c * n) / clients);
    const end = Math.floor(((c + 1) * n) / clients);
    shards.push(order.slice(start, end));
  }
  return shards;
}

/**
 * Label skew (Hsu et al. 2019): for each class, draw client proportions from
 * Dirichlet(alpha) and deal that class's shuffled rows accordingly. Small alpha
 * gives each client few classes; large alpha approaches IID. Redraws (up to a
 * bound) until every client holds at least one row.
 */
export function partitionDirichlet(labels: ArrayLike<number>, classes: number, clients: number, alpha: number, seed: number): Uint32Array[] {
  checkClients(clients, labels.length);
  if (!(alpha > 0)) throw new InvalidArgumentError(`dirichlet alpha must be > 0, got ${alpha}`);
  const rng = mulberry32(seed);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  for (let attempt = 0; attempt < 100; attempt++) {
    const shards: number[][] = Array.from({ length: clients }, () => []);
    for (const rows of byClass) {
      const order = permutation(rows.length, rng);
      const p = dirichlet(alpha, clients, rng);
      let start = 0;
      let cum = 0;
      for (let c = 0; c < clients; c++) {
        cum += p[c]!;
        const end = c === clients - 1 ? rows.length : Math.min(rows.length, Math.round(cum * rows.length));
        for (let k = start; k < end; k++) shards[c]!.push(rows[order[k]!]!);
        start = Math.max(start, end);
      }
    }
    if (shards.every((s) => s.length > 0)) return shards.map((s) => Uint32Array.from(s));
  }
  throw new InvalidArgumentError(`dirichlet(${alpha}) left some of ${clients} clients empty in 100 draws; use a larger alpha or fewer clients`);
}

/**
 * Pathological non-IID (McMahan et al. 2017): sort the rows by label, cut them into
 * clients × k equal shards, deal each client k shards at random — most clients see
 * only k classes.
 */
export function partitionShards(labels: ArrayLike<number>, clients: number, perClient: number, seed: number): Uint32Array[] {
  const n = labels.length;
  const count = clients * perClient;
  checkClients(count, n);
  // stable sort by label (ties in row order), so the shards are reproducible
  const byLabel = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[a]! - labels[b]! || a - b);
  const order = permutation(count, mulberry32(seed));
  return Array.from({ length: clients }, (_, c) => {
    const rows: number[] = [];
    for (let j = 0; j < perClient; j++) {
      const shard = order[c * perClient + j]!;
      const start = Math.floor((shard * n) / count);
      const end = Math.floor(((shard + 1) * n) / count);
      for (let k = start; k < end; k++) rows.push(byLabel[k]!);
    }
    return Uint32Array.from(rows);
  });
}

/**
 * Quantity skew: IID rows, but client sizes drawn from a lognormal(0, σ) and scaled to
 * the data (every client gets at least one row). Larger σ, more unequal clients.
 */
export function partitionQuantity(n: number, clients: number, sigma: number, seed: number): Uint32Array[] {
  checkClients(clients, n);
  const rng = mulberry32(seed);
  const weights = Array.from({ length: clients }, () => Math.exp(sigma * normal(rng)));
  const total = weights.reduce((a, b) => a + b, 0);
  // one row each, the rest by weight (largest remainders last), so sizes add up exactly
  const spare = n - clients;
  const exact = weights.map((w) => (w / total) * spare);
  const sizes = exact.map((x) => 1 + Math.floor(x));
  let left = n - sizes.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left === 0) break;
    sizes[i]!++;
    left--;
  }
  const order = permutation(n, rng);
  let start = 0;
  return sizes.map((size) => {
    const shard = order.slice(start, start + size);
    start += size;
    return shard;
  });
}

function checkClients(clients: number, n: number): void {
  if (!Number.isInteger(clients) || clients < 1) throw new InvalidArgumentError(`client count must be a positive integer, got ${clients}`);
  if (clients > n) throw new InvalidArgumentError(`cannot split ${n} rows among ${clients} clients`);
}
