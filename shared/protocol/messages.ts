import { z } from 'zod';
import { modelSpecSchema } from '../models/spec.ts';
import { fitConfigSchema } from './fit-config.ts';

/**
 * Every message of the Starling protocol, one schema per type. A frame's
 * payload must parse as exactly one of these (a discriminated union on `type`);
 * anything else is a protocol error. PROTOCOL_VERSION is defined beside the
 * handshake that binds it into every transcript (crypto/handshake-types.ts).
 */
export { PROTOCOL_VERSION } from '../crypto/handshake-types.ts';

const float32Array = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const roundNumber = z.number().int().min(1).max(1_000_000);
const metricsSchema = z.record(z.string().max(64), z.number()).refine((m) => Object.keys(m).length <= 64, 'at most 64 metrics');

/** client → coordinator, first message on a connection. */
export const helloSchema = z.strictObject({
  type: z.literal('hello'),
  protocolVersion: z.number().int(),
  clientName: z.string().min(1).max(128),
});

/** coordinator → client, accepts the hello. */
export const welcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  protocolVersion: z.number().int(),
  clientId: z.string().min(1).max(128),
  runId: z.string().min(1).max(128),
});

/** What a client trains on: a fit task's fields, also carried by secure aggregation's maskedInput task. */
const trainingFields = {
  modelVersion: z.number().int().min(0),
  spec: modelSpecSchema,
  /** The global weights; absent when the client already holds `modelVersion`. */
  weights: float32Array.optional(),
  /** With frozen parameters, instead of `weights`: only the trainable values of `modelVersion` (flat order), for a client holding an earlier version of this run's model. */
  trainable: float32Array.optional(),
  config: fitConfigSchema,
  /** Seed for this client's batch order this round. */
  seed: z.number().int().min(0).max(0xffffffff),
};

/** coordinator → client: train the global model of `modelVersion` and reply with a fitResult. */
export const fitTaskSchema = z.strictObject({ type: z.literal('fit'), round: roundNumber, ...trainingFields });

/** client → coordinator: the result of a fit task. */
export const fitResultSchema = z.strictObject({
  type: z.literal('fitResult'),
  round: roundNumber,
  numExamples: z.number().int().min(1).max(1e9),
  delta: float32Array,
  metrics: metricsSchema,
  seconds: z.number().min(0),
});

/**
 * coordinator → client: score the global model of `modelVersion` (the round's new
 * model) on the client's own held-out rows and reply with an evaluateResult.
 */
export const evaluateTaskSchema = z.strictObject({
  type: z.literal('evaluate'),
  round: roundNumber,
  modelVersion: z.number().int().min(0),
  spec: modelSpecSchema,
  /** The global weights; absent when the client already holds `modelVersion`. */
  weights: float32Array.optional(),
  /** With frozen parameters: only the trainable values of `modelVersion`, for a client holding an earlier version (it keeps the frozen ones). */
  trainable: float32Array.optional(),
  /** With `trainable`: the frozen names (as a fit task's config.frozen), so the client can place the values. */
  frozen: z.array(z.string().min(1).max(256)).max(4096).optional(),
});

/**
 * client → coordinator: the result of an evaluate task. `numExamples` is the count of
 * held-out rows scored; 0 (with no metrics) says the client holds no evaluation rows.
 */
const fraction = z.number().min(0).max(1);
/** The metrics a client may report from federated evaluation, each in its range (a hostile value cannot skew the aggregate out of it). */
const evaluationMetricsSchema = z.strictObject({
  accuracy: fraction.optional(),
  loss: z.number().min(0).max(1e6).optional(),
  precisionMacro: fraction.optional(),
  recallMacro: fraction.optional(),
  f1Macro: fraction.optional(),
  precisionWeighted: fraction.optional(),
  recallWeighted: fraction.optional(),
  f1Weighted: fraction.optional(),
  /** Regression: errors in the targets' own units (finite, not negative), and R² (at most 1; a model worse than the mean goes below 0). */
  mae: z.number().min(0).max(Number.MAX_VALUE).optional(),
  mse: z.number().min(0).max(Number.MAX_VALUE).optional(),
  rmse: z.number().min(0).max(Number.MAX_VALUE).optional(),
  r2: z.number().max(1).optional(),
});

export const evaluateResultSchema = z
  .strictObject({
    type: z.literal('evaluateResult'),
    round: roundNumber,
    numExamples: z.number().int().min(0).max(1e9),
    metrics: evaluationMetricsSchema,
  })
  .refine((m) => (m.numExamples === 0) === (Object.keys(m.metrics).length === 0), {
    message: 'metrics must be empty exactly when numExamples is 0',
    path: ['metrics'],
  });

/**
 * Secure aggregation (shared/secagg, docs/protocol.md): one round is four request/response
 * tasks — advertise keys → share keys → masked input → unmask — each a `secagg` task
 * answered by a `secaggResult` of the same round and phase. Only shapes are checked here;
 * SecAggServer / SecAggClient judge the content (a bad one makes its sender a dropout).
 */
const bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected 32 bytes');
const clientIndex = z.number().int().min(1).max(100_000);
const indexList = z.array(clientIndex).max(100_000);
const uint32Array = z.custom<Uint32Array>((v) => v instanceof Uint32Array, 'expected a Uint32Array');
const encryptedShareSchema = z.strictObject({
  from: clientIndex,
  to: clientIndex,
  ciphertext: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= 1024, 'expected a ciphertext of at most 1 KiB'),
});
const advertisedKeysSchema = z.strictObject({ from: clientIndex, cPk: bytes32, sPk: bytes32 });
const revealedShareSchema = z.strictObject({ of: clientIndex, share: uint32Array.refine((a) => a.length <= 64, 'a share has at most 64 limbs') });

export const secaggTaskSchema = z.discriminatedUnion('phase', [
  z.strictObject({
    type: z.literal('secagg'),
    phase: z.literal('advertise'),
    round: roundNumber,
    /** This client's index (its Shamir x-coordinate) among the round's n. */
    index: clientIndex,
    clients: clientIndex,
    threshold: clientIndex,
    /** m: words in the masked vector (the trainable parameter count). */
    dimension: z.number().int().min(1).max(1e9),
    /** Fixed point: the L2 clip C (also the clamp R) and the scale s. */
    clip: z.number().positive().max(1e6),
    scale: z
      .number()
      .positive()
      .max(2 ** 31),
    /** W: weight the mean by examples — the vector's last word carries min(n_k, W)/W (shared/secagg/weighting.ts); unweighted when absent. */
    weightCap: z.number().int().min(1).max(1e9).optional(),
    /** SecAgg+: the neighbour graph's degree and public seed; absent: all pairs. */
    graph: z.strictObject({ degree: z.number().int().min(2).max(100_000), seed: bytes32 }).optional(),
  }),
  z.strictObject({ type: z.literal('secagg'), phase: z.literal('shareKeys'), round: roundNumber, keys: z.array(advertisedKeysSchema).max(100_000) }),
  z.strictObject({
    type: z.literal('secagg'),
    phase: z.literal('maskedInput'),
    round: roundNumber,
    senders: indexList,
    shares: z.array(encryptedShareSchema).max(100_000),
    /** What a fit task carries: the client trains on it, then clips, encodes and masks its delta. */
    ...trainingFields,
  }),
  z.strictObject({ type: z.literal('secagg'), phase: z.literal('unmask'), round: roundNumber, survivors: indexList, dropped: indexList }),
]);

export const secaggResultSchema = z.discriminatedUnion('phase', [
  z.strictObject({ type: z.literal('secaggResult'), phase: z.literal('advertise'), round: roundNumber, cPk: bytes32, sPk: bytes32 }),
  z.strictObject({ type: z.literal('secaggResult'), phase: z.literal('shareKeys'), round: roundNumber, shares: z.array(encryptedShareSchema).max(100_000) }),
  z.strictObject({
    type: z.literal('secaggResult'),
    phase: z.literal('maskedInput'),
    round: roundNumber,
    masked: uint32Array,
    complaints: z.array(z.strictObject({ about: clientIndex, reason: z.string().max(256) })).max(100_000),
    /** Training loss/accuracy/epochs and seconds, in the clear (not the update); numExamples is not sent. */
    metrics: metricsSchema,
    seconds: z.number().min(0),
  }),
  z.strictObject({
    type: z.literal('secaggResult'),
    phase: z.literal('unmask'),
    round: roundNumber,
    selfMaskShares: z.array(revealedShareSchema).max(100_000),
    keyShares: z.array(revealedShareSchema).max(100_000),
  }),
]);

/**
 * client → coordinator: this client could not carry out the outstanding task of `round`
 * (its training diverged to NaN/Infinity from the model it was sent, say). The connection
 * stays open: the task counts as a failure of the round, not as a broken protocol.
 */
export const taskFailedSchema = z.strictObject({
  type: z.literal('taskFailed'),
  round: roundNumber,
  task: z.enum(['fit', 'evaluate', 'secagg']),
  code: z.string().min(1).max(64),
  message: z.string().max(1024),
});

/** coordinator → client: the run is over; the client disconnects and exits. */
export const doneSchema = z.strictObject({
  type: z.literal('done'),
  reason: z.string().max(1024),
  rounds: z.number().int().min(0),
});

/** either direction: a precise reason before the sender closes the connection. */
export const errorSchema = z.strictObject({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(4096),
});

export const toCoordinatorSchema = z.discriminatedUnion('type', [
  helloSchema,
  fitResultSchema,
  evaluateResultSchema,
  secaggResultSchema,
  taskFailedSchema,
  errorSchema,
]);
export const toClientSchema = z.discriminatedUnion('type', [welcomeSchema, fitTaskSchema, evaluateTaskSchema, secaggTaskSchema, doneSchema, errorSchema]);

export type Hello = z.infer<typeof helloSchema>;
export type Welcome = z.infer<typeof welcomeSchema>;
export type FitTask = z.infer<typeof fitTaskSchema>;
export type FitResult = z.infer<typeof fitResultSchema>;
export type EvaluateTask = z.infer<typeof evaluateTaskSchema>;
export type EvaluateResult = z.infer<typeof evaluateResultSchema>;
export type SecAggTask = z.infer<typeof secaggTaskSchema>;
export type SecAggResultMessage = z.infer<typeof secaggResultSchema>;
export type SecAggWirePhase = SecAggTask['phase'];
export type TaskFailed = z.infer<typeof taskFailedSchema>;
export type Done = z.infer<typeof doneSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
export type ToCoordinator = z.infer<typeof toCoordinatorSchema>;
export type ToClient = z.infer<typeof toClientSchema>;
export type Message = ToCoordinator | ToClient;
