import { z } from 'zod';
import { partitionSpecSchema } from '../data/partition.ts';
import { runDataSpecSchema } from '../data/source.ts';
import { runTrainSchema } from '../protocol/fit-config.ts';
import { modelSpecSchema } from '../models/spec.ts';
import { scheduleSchema } from '../optimizers/schedule.ts';
import { dpSpecSchema } from '../privacy/dp-spec.ts';
import { strategySpecSchema } from '../strategy-spec.ts';
import { configProblems } from './checks.ts';
import { sections } from './sections.ts';

export const DEFAULT_PORT = 7070;

/** The training settings of the core round, under any `train:` field a config leaves out. */
const TRAIN_DEFAULTS = { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05 } as const;

/**
 * The run config as it is written: one flat mapping (YAML file, command-line flags,
 * programmatic options), whose spec fields — strategy, dp, data, partition — take the
 * short string (`fedprox:mu=0.1`) or a mapping and come out typed. `runConfigSchema`
 * then groups the fields into the sections the code reads (config/sections.ts).
 */
export const runConfigInputSchema = z.strictObject({
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
  /** Differential privacy: `central:z=1.0,clip=1.0`, `local:z=…,clip=…` or `central:z=1.0,adaptive=0.5` (or the same as a mapping). Off when absent. */
  dp: dpSpecSchema.optional(),
  /** The δ the accountant reports ε for (each round's record carries both). */
  dpDelta: z.number().gt(0).lt(1).default(1e-5),
  /** Secure aggregation: the coordinator learns only the sum of the clients' clipped deltas (README, "Secure aggregation"). */
  secagg: z.boolean().default(false),
  /**
   * t: shares needed to unmask, and the fewest clients any phase may end with; when absent ⌈2n/3⌉ of the
   * round's n, or ⌈2(k+1)/3⌉ of a SecAgg+ neighbourhood of k + 1 (coordinator/secagg-round.ts).
   */
  secaggThreshold: z.number().int().min(2).optional(),
  /** C: each client clips its delta to this L2 norm before fixed-point encoding (coordinates in [−C, C]). */
  secaggClip: z.number().gt(0).max(1e6).default(10),
  /** W: weight the secure mean by examples, min(n_k, W)/W per client (a client with more counts as W); unweighted when absent. */
  secaggMaxExamples: z.number().int().min(1).max(1e9).optional(),
  /**
   * SecAgg+: each client masks and shares with this many neighbours (even); when absent, all pairs for rounds
   * of at most 64 clients and 2⌈log₂ n⌉ neighbours above (widened to k + 1 ≥ secaggThreshold); n − 1 or more means all pairs.
   */
  secaggNeighbours: z.number().int().min(2).multipleOf(2).optional(),
  seed: z.number().int().min(0).max(0xffffffff).default(42),
  /** The model; when absent, the default MLP (784-128-10), its inputs and outputs sized to a CSV, IDX or synthetic run's data. */
  model: modelSpecSchema.optional(),
  /** Start from a saved model (its model.json, or a run directory): its weights are the initial global model, its spec the model. */
  init: z.string().min(1).optional(),
  /** Parameters (names or '/'-groups, e.g. dense0) that no client updates; only the others travel and are aggregated. */
  freeze: z.array(z.string().min(1).max(256)).max(4096).default([]),
  // a partial section (only batchSize, say) takes the other fields' defaults
  train: z.preprocess(
    (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...TRAIN_DEFAULTS, ...v } : v),
    runTrainSchema.default(runTrainSchema.parse(TRAIN_DEFAULTS)),
  ),
  /** The aggregation strategy: `fedavg`, `fedprox:mu=0.1`, `krum:f=1` … or `{ name: fedprox, mu: 0.1 }`. */
  strategy: strategySpecSchema.default({ name: 'fedavg' }),
  /** Plain path: an update whose L2 norm exceeds this is dropped (a failure) or clipped to it (maxUpdateNormAction) before the strategy sees it; no bound when absent. */
  maxUpdateNorm: z.number().gt(0).optional(),
  maxUpdateNormAction: z.enum(['drop', 'clip']).default('drop'),
  /** How train.lr changes from round to round (constant unless set). */
  schedule: scheduleSchema.default({ type: 'constant', warmupRounds: 0 }),
  /**
   * The data: mnist (the embedded digits), synthetic:<alpha>,<beta> (the FedProx generator, one device per
   * client), text:<window>:<path>, idx:<images>,<labels>, or a CSV file (csv:<path> or the bare path).
   */
  data: runDataSpecSchema.default({ kind: 'mnist' }),
  /**
   * What the label column is: class indices or names (classification), or a real-valued target
   * (regression: CSV data, an MLP with a linear output trained on mean squared error, rounds scored by MSE, MAE and R²).
   */
  task: z.enum(['classification', 'regression']).default('classification'),
  /** CSV data: the label column (class indices, or class names; with task regression, the target). */
  label: z.string().min(1).max(256).optional(),
  /** CSV data: the class names in index order, the model's outputs (a list, or `a,b,c`); by default the file's distinct labels, sorted. */
  classes: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((c) => c.trim()) : v),
      z
        .array(z.string().min(1).max(256))
        .min(2)
        .max(256)
        .refine((names) => new Set(names).size === names.length, 'each class name once'),
    )
    .optional(),
  /** CSV data: drop rows with missing values, bad labels or duplicate content (and report each) instead of failing. */
  clean: z.boolean().default(false),
  /** CSV data with clean: also drop rows with a feature outside [lo, hi] (a pair, or `lo,hi`). */
  cleanRange: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((c) => (c.trim() === '' ? Number.NaN : Number(c))) : v),
      z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo <= hi, 'lo must be ≤ hi'),
    )
    .optional(),
  /** CSV or IDX data: scale each feature (minmax or zscore) with statistics fitted on the training rows. */
  normalize: z.enum(['minmax', 'zscore']).optional(),
  /** CSV or IDX data: the test split from this file (same form as data) instead of a hold-out of the data's rows. */
  testData: runDataSpecSchema.optional(),
  /** CSV or IDX data without testData: the fraction of rows held out (stratified, seeded) as the test split; 0.2 when absent. */
  testFraction: z.number().gt(0).max(0.5).optional(),
  /** Central evaluation after each round: on the data's test split (the 2,000 MNIST test digits), or none. */
  evaluate: z.enum(['test', 'none']).default('test'),
  /** How simulate and the MNIST client split the training digits: iid, dirichlet:<alpha>, shards:<k>, quantity:<sigma>. */
  partition: partitionSpecSchema.default({ kind: 'iid' }),
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
  /**
   * simulate: how the virtual clients reach the coordinator — ws (a real client agent per client over
   * loopback WebSockets, with the secure channel), memory (handles the coordinator calls directly,
   * training on the worker pool: 100,000 clients in bounded memory), or auto (ws up to 100 clients).
   */
  transport: z.enum(['auto', 'ws', 'memory']).default('auto'),
  /** Plaintext frames, no identities: loopback only. */
  insecure: z.boolean().default(false),
  /** Directory the history JSON is written to. */
  out: z.string().min(1).default('runs'),
  /** The run store (SQLite): every run, round and client result as it happens; <out>/starling.db when absent, false for none. */
  store: z.union([z.string().min(1), z.literal(false)]).optional(),
  json: z.boolean().default(false),
  /** From a connection's TCP accept to its proven identity (HTTP upgrade and handshake), and then to its hello. */
  handshakeTimeoutMs: z.number().int().min(10).default(10_000),
  waitForClientsTimeoutMs: z.number().int().min(10).default(600_000),
  roundTimeoutMs: z.number().int().min(10).default(600_000),
  /** The hard cap on any frame the coordinator receives; by default sized from the model (its largest legitimate answer, rounded up to a MiB). */
  maxPayloadBytes: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 31 - 1)
    .optional(),
  /** What every connection together may hold in result-sized frame allowances at once; by default 2 × clients × maxPayloadBytes, at least 64 MiB. */
  receiveBudgetBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .optional(),
  /** A frame that has started arriving must be complete within this (a peer trickling a frame is cut off). */
  frameTimeoutMs: z.number().int().min(10).default(120_000),
  /**
   * The coordinator pings every session this often; one that answers nothing (no pong, no frame)
   * between two pings is cut off as dead. 0 turns heartbeats off. (Client agents ping the
   * coordinator at an interval of their own.)
   */
  heartbeatIntervalMs: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .refine((ms) => ms === 0 || ms >= 10, 'must be 0 (off) or at least 10 ms')
    .default(15_000),
  /** Connections not yet authenticated, in all and from one address; more are refused at TCP accept (and logged). */
  maxUnauthenticated: z.number().int().min(1).default(256),
  maxUnauthenticatedPerAddress: z.number().int().min(1).default(32),
  /** Serve GET /status (progress and the connected clients' names) without authentication. */
  statusEndpoint: z.boolean().default(false),
  /** Serve GET /metrics (Prometheus text format: rounds, durations, clients, failures by kind, bytes, ε, process) without authentication. */
  metricsEndpoint: z.boolean().default(false),
  /** Serve the live dashboard (GET /dashboard: curves, round times, bytes, ε, the clients table); loopback only. */
  dashboard: z.boolean().default(false),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});
export type RunConfigInput = z.input<typeof runConfigInputSchema>;
/** The validated flat fields, before grouping. */
export type RunConfigFields = z.output<typeof runConfigInputSchema>;

/** The run config: the flat input validated, its fields checked against each other (config/checks.ts), then grouped into sections. */
export const runConfigSchema = runConfigInputSchema
  .superRefine((fields, ctx) => {
    for (const p of configProblems(fields)) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
  })
  .transform(sections);
export type RunConfig = z.output<typeof runConfigSchema>;
