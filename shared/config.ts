import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { trainConfigSchema } from './engine/engine.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_MODEL, modelSpecSchema } from './models/spec.ts';
import { readManifest, sameSpec } from './models/saved-model.ts';
import { trainableLayout } from './trainable.ts';
import { parsePartition } from './data/partition.ts';
import { parseDataSpec } from './data/source.ts';
import { scheduleSchema } from './optimizers/schedule.ts';
import { parseDpSpec } from './privacy/dp-spec.ts';
import { fixedPoint } from './secagg/fixed-point.ts';
import { encodingRange } from './secagg/weighting.ts';

/**
 * The run config: one schema, one merge. Defaults ← YAML file ← command-line
 * flags ← programmatic options all pass through `resolveRunConfig`, which
 * reports every bad field with its path.
 */
export const DEFAULT_PORT = 7070;

/** A string that `parse` must accept; its error message becomes the field's issue. */
function parsedString(parse: (s: string) => unknown) {
  return z.string().superRefine((s, ctx) => {
    try {
      parse(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });
}

export const runConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(DEFAULT_PORT),
  /** Clients to wait for before round 1 (simulate: clients to start). */
  clients: z.number().int().min(1).max(100_000).default(10),
  rounds: z.number().int().min(1).max(1_000_000).default(10),
  /** Stop after the first round whose central test accuracy reaches this (rounds is then the cap). */
  targetAccuracy: z.number().gt(0).max(1).optional(),
  /** Fraction of the MNIST training digits held out (stratified, seeded) for per-round evaluation and early stopping; the test split is then scored once, at the end. */
  validation: z.number().min(0).max(0.5).default(0),
  /** Early stopping: stop after this many rounds without a better evaluated accuracy, and keep the best model. */
  patience: z.number().int().min(1).optional(),
  /** Fewest results a round may be aggregated from; fewer fails the round. */
  minFitClients: z.number().int().min(1).default(1),
  /** Fraction C of the available clients asked to train each round (at least minFitClients). */
  fractionFit: z.number().gt(0).max(1).default(1),
  /**
   * Federated evaluation: the fraction (0, 0.5] of each client's own rows held out
   * (stratified, seeded) and never trained on. In simulations every virtual client
   * holds it out; on a coordinator it switches on evaluate tasks after each round
   * (deployed clients choose theirs with --local-validation). Off when absent.
   */
  localValidation: z.number().gt(0).max(0.5).optional(),
  /** Fraction of the connected clients asked to evaluate each round (seeded sample, at least one). */
  fractionEvaluate: z.number().gt(0).max(1).default(1),
  /** Differential privacy: `central:z=1.0,clip=1.0`, `local:z=…,clip=…` or `central:z=1.0,adaptive=0.5` (shared/privacy). Off when absent. */
  dp: parsedString(parseDpSpec).optional(),
  /** The δ the accountant reports ε for (each round's record carries both). */
  dpDelta: z.number().gt(0).lt(1).default(1e-5),
  /** Secure aggregation (issue 7): the coordinator learns only the sum of the clients' clipped deltas (README, "Secure aggregation"). */
  secagg: z.boolean().default(false),
  /** t: shares needed to unmask, and the fewest clients any phase may end with; ⌈2n/3⌉ of the round's n when absent. */
  secaggThreshold: z.number().int().min(2).optional(),
  /** C: each client clips its delta to this L2 norm before fixed-point encoding (coordinates in [−C, C]). */
  secaggClip: z.number().gt(0).max(1e6).default(10),
  /** W: weight the secure mean by examples, min(n_k, W)/W per client (a client with more counts as W); unweighted when absent. */
  secaggMaxExamples: z.number().int().min(1).max(1e9).optional(),
  /** SecAgg+: each client masks and shares with this many neighbours (even); all pairs when absent. */
  secaggNeighbours: z.number().int().min(2).multipleOf(2).optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  model: modelSpecSchema.default(DEFAULT_MODEL),
  /** Start from a saved model (its model.json, or a run directory): its weights are the initial global model, its spec the model. */
  init: z.string().min(1).optional(),
  /** Parameters (names or '/'-groups, e.g. dense0) that no client updates; only the others travel and are aggregated. */
  freeze: z.array(z.string().min(1).max(256)).max(4096).default([]),
  train: trainConfigSchema.default(trainConfigSchema.parse({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05 })),
  strategy: z.string().min(1).default('fedavg'),
  /** Plain path: an update whose L2 norm exceeds this is dropped (a failure) or clipped to it (maxUpdateNormAction) before the strategy sees it; no bound when absent. */
  maxUpdateNorm: z.number().gt(0).optional(),
  maxUpdateNormAction: z.enum(['drop', 'clip']).default('drop'),
  /** How train.lr changes from round to round (constant unless set). */
  schedule: scheduleSchema.default({ type: 'constant', warmupRounds: 0 }),
  /** The data: mnist (the embedded digits) or synthetic:<alpha>,<beta> (the FedProx generator, one device per client). */
  data: parsedString(parseDataSpec).default('mnist'),
  /** Central evaluation after each round: on the data's test split (the 2,000 MNIST test digits), or none. */
  evaluate: z.enum(['test', 'none']).default('test'),
  /** How simulate and the MNIST client split the training digits. */
  partition: parsedString(parsePartition).default('iid'),
  /** Training engine: simd (Starling's kernels), tfjs, or auto (simd where it covers the model and no GPU is present). */
  engine: z.enum(['auto', 'simd', 'tfjs']).default('auto'),
  backend: z.string().optional(),
  /** The coordinator's identity key file (starling keygen). */
  key: z.string().min(1).optional(),
  /** Allowlist of client public keys, one per line. */
  allow: z.string().min(1).optional(),
  /** A shared secret that admits any client proving it holds it (quick starts, simulations). */
  joinToken: z.string().min(16, 'a join token needs at least 16 characters').optional(),
  /** A file (mode 0600) holding the join token: keeps the secret out of the process list, shell history and config files (STARLING_JOIN_TOKEN is read when neither is set). */
  joinTokenFile: z.string().min(1).optional(),
  /** simulate: the probability that a client is a straggler in a round (fewer local epochs). */
  stragglers: z.number().min(0).lt(1).default(0),
  /** Plaintext frames, no identities: loopback only. */
  insecure: z.boolean().default(false),
  /** Directory the history JSON is written to. */
  out: z.string().min(1).default('runs'),
  json: z.boolean().default(false),
  /** From a connection's TCP accept to its proven identity (HTTP upgrade and handshake), and then to its hello. */
  handshakeTimeoutMs: z.number().int().min(10).default(10_000),
  waitForClientsTimeoutMs: z.number().int().min(10).default(600_000),
  roundTimeoutMs: z.number().int().min(10).default(600_000),
  /** The hard cap on any frame the coordinator receives; by default sized from the model (its largest legitimate answer, rounded up to a MiB). */
  maxPayloadBytes: z.number().int().min(1024).max(2 ** 31 - 1).optional(),
  /** What every connection together may hold in result-sized frame allowances at once; by default 2 × clients × maxPayloadBytes, at least 64 MiB. */
  receiveBudgetBytes: z.number().int().min(1024 * 1024).optional(),
  /** A frame that has started arriving must be complete within this (a peer trickling a frame is cut off). */
  frameTimeoutMs: z.number().int().min(10).default(120_000),
  /** Connections not yet authenticated, in all and from one address; more are refused at TCP accept (and logged). */
  maxUnauthenticated: z.number().int().min(1).default(256),
  maxUnauthenticatedPerAddress: z.number().int().min(1).default(32),
  /** Serve GET /status (progress and the connected clients' names) without authentication. */
  statusEndpoint: z.boolean().default(false),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});
export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Reads a YAML (or JSON) run config file into a plain object, unvalidated. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must hold a mapping of settings`);
  return doc as Record<string, unknown>;
}

/**
 * Merges layers left to right (later wins; undefined values are skipped) and
 * validates. Every bad field is listed, each with its dotted path.
 */
export function resolveRunConfig(source: string, ...layers: Record<string, unknown>[]): RunConfig {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  }
  // a saved model brings its spec; a `model:` given as well must be the same one
  const saved = typeof merged.init === 'string' && merged.init !== '' ? readManifest(merged.init) : undefined;
  if (saved && merged.model === undefined) merged.model = saved.manifest.spec;
  const parsed = runConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(`invalid run config (${source}):\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  const problem = (field: string, message: string) => new ConfigError(`invalid run config (${source}):\n  ${field}: ${message}`);
  if (cfg.minFitClients > cfg.clients) throw problem('minFitClients', `${cfg.minFitClients} is more than clients (${cfg.clients})`);
  if (cfg.model.type === 'gan' && (cfg.patience !== undefined || cfg.targetAccuracy !== undefined)) {
    // a gan's round accuracy is its discriminator's: neither higher nor lower means a better model
    throw problem(cfg.patience !== undefined ? 'patience' : 'targetAccuracy', 'early stopping watches a classifier\'s accuracy; a gan\'s is its discriminator\'s, which says no model is better');
  }
  if (saved && !sameSpec(cfg.model, saved.manifest.spec)) {
    throw problem('model', `differs from the spec of the saved model ${saved.file} (${JSON.stringify(saved.manifest.spec)}); leave model unset to use the saved one`);
  }
  if (cfg.train.frozen.length) throw problem('train.frozen', 'set by the coordinator from `freeze:`; use freeze instead');
  if (cfg.train.localDp) throw problem('train.localDp', 'set by the coordinator from `dp: local:…`; use dp instead');
  const secaggOnly = (['secaggThreshold', 'secaggNeighbours', 'secaggMaxExamples'] as const).find((k) => cfg[k] !== undefined);
  if (!cfg.secagg && secaggOnly) throw problem(secaggOnly, 'needs secagg: true');
  if (cfg.secagg && cfg.secaggThreshold !== undefined && cfg.secaggThreshold > cfg.clients) throw problem('secaggThreshold', `${cfg.secaggThreshold} is more than clients (${cfg.clients})`);
  if (cfg.secagg && cfg.secaggNeighbours !== undefined && cfg.secaggThreshold !== undefined && cfg.secaggNeighbours + 1 < cfg.secaggThreshold) {
    throw problem('secaggNeighbours', `${cfg.secaggNeighbours} neighbours give neighbourhoods of ${cfg.secaggNeighbours + 1} clients, fewer than secaggThreshold ${cfg.secaggThreshold}: no secret could be reconstructed`);
  }
  if (cfg.secagg) {
    try {
      fixedPoint({ clip: encodingRange(cfg.secaggClip, cfg.secaggMaxExamples !== undefined), maxClients: cfg.clients });
    } catch (e) {
      throw problem('secaggClip', (e as Error).message);
    }
  }
  // DP-FedAvg clips each delta on the coordinator, which under secure aggregation never sees one;
  // doing both would need the clients to clip (and the noise added to the sum): not built yet
  if (cfg.secagg && cfg.dp) throw problem('dp', 'differential privacy together with secure aggregation is not supported yet (DP-FedAvg clips each client\'s delta on the coordinator, which under secagg only sees the sum); drop one of dp or secagg');
  try {
    trainableLayout(cfg.model, cfg.freeze);
  } catch (e) {
    throw problem('freeze', (e as Error).message.replace(/^freeze: /, ''));
  }
  return cfg;
}

/** Loads defaults ← file ← overrides. */
export function loadRunConfig(file: string | undefined, overrides: Record<string, unknown> = {}): RunConfig {
  const fromFile = file ? readConfigFile(file) : {};
  return resolveRunConfig(file ?? 'flags', fromFile, overrides);
}
