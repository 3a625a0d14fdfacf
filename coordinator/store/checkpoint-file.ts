import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { atomicWriteAsync } from '../../shared/atomic-file.ts';
import { CheckpointError } from '../../shared/errors.ts';
import type { StrategyState } from '../strategies/strategy.ts';
import type { DpState } from '../strategies/combine/dp-release.ts';

/**
 * A round's checkpoint: everything the round loop carries into the next round, in one file
 * written atomically (a temporary name, fsync, rename) and checked by SHA-256 when read.
 *
 * Layout: the magic "STARCKP1" (8 bytes) ‖ SHA-256 of the rest (32) ‖ header length (u32
 * little-endian) ‖ header (JSON) ‖ zero padding to a multiple of 8 ‖ the arrays the header
 * lists, in its order, little-endian. The header holds the run id, the round, the early-stopping
 * best, the DP state (±∞ and NaN as {"$number": "Infinity"}: JSON has no such numbers), and each array's name, type and length.
 */
export interface Checkpoint {
  readonly runId: string;
  /** The last round whose model this is. */
  readonly round: number;
  /** The global model after `round`. */
  readonly weights: Float32Array;
  /** With early stopping: the best round so far and its model. */
  readonly best?: { readonly round: number; readonly accuracy: number; readonly weights: Float32Array };
  readonly strategy: StrategyState;
}

const MAGIC = Buffer.from('STARCKP1', 'latin1');
const PREFIX = MAGIC.length + 32 + 4;

const noisePosition = z.strictObject({ bytes: z.number().int().nonnegative(), spare: z.number().optional() });
/** RDP at an order: ≥ 0, and +∞ where the order bounds nothing (zod's numbers are finite). */
const rdpValue = z.custom<number>((v) => typeof v === 'number' && v >= 0, 'an RDP value ≥ 0 (or Infinity)');
const account = z.strictObject({ rdp: z.array(rdpValue), steps: z.number().int().nonnegative() });
const dpState = z.strictObject({
  clip: z.number().positive(),
  ledger: z.strictObject({
    accountant: account,
    replaceOne: account.optional(),
    lastRate: z.number().min(0).max(1),
    joined: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).optional(),
  }),
  noise: noisePosition.optional(),
});
const header = z.strictObject({
  format: z.literal(1),
  runId: z.string().min(1),
  round: z.number().int().nonnegative(),
  best: z.strictObject({ round: z.number().int().positive(), accuracy: z.number() }).optional(),
  dp: dpState.optional(),
  arrays: z.array(z.strictObject({ name: z.string().min(1), type: z.enum(['f32', 'f64']), length: z.number().int().nonnegative() })),
});
type Header = Omit<z.infer<typeof header>, 'dp'> & { readonly dp?: DpState };

/** The checkpoint as bytes (the file's whole content). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const arrays: { name: string; data: Float32Array | Float64Array }[] = [
    { name: 'weights', data: c.weights },
    ...(c.best ? [{ name: 'best', data: c.best.weights }] : []),
    ...Object.entries(c.strategy.step).map(([name, data]) => ({ name: `step.${name}`, data })),
  ];
  const head: Header = {
    format: 1,
    runId: c.runId,
    round: c.round,
    ...(c.best ? { best: { round: c.best.round, accuracy: c.best.accuracy } } : {}),
    ...(c.strategy.dp ? { dp: c.strategy.dp } : {}),
    arrays: arrays.map((a) => ({ name: a.name, type: a.data instanceof Float32Array ? 'f32' : 'f64', length: a.data.length })),
  };
  const json = Buffer.from(
    JSON.stringify(head, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v)),
    'utf8',
  );
  const bodyStart = align8(4 + json.length);
  const size = bodyStart + arrays.reduce((s, a) => s + a.data.byteLength, 0);
  const rest = Buffer.alloc(size);
  rest.writeUInt32LE(json.length, 0);
  json.copy(rest, 4);
  let at = bodyStart;
  for (const { data } of arrays) {
    rest.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return Buffer.concat([MAGIC, createHash('sha256').update(rest).digest(), rest]);
}

/**
 * Writes `c` to `file` atomically (mode 0600) without blocking the event loop while the disk
 * works; its size and its checksum (the SHA-256 the file carries, in hex), for the store.
 */
export async function writeCheckpoint(file: string, c: Checkpoint): Promise<{ readonly bytes: number; readonly sha256: string }> {
  const bytes = encodeCheckpoint(c);
  await atomicWriteAsync(file, bytes, 0o600);
  return { bytes: bytes.length, sha256: checksumOf(bytes) };
}

/** The checksum a checkpoint's bytes carry, in hex (what the store records). */
function checksumOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + MAGIC.length, 32).toString('hex');
}

/**
 * Reads and checks the checkpoint in `file`: a regular file (of `bytes` bytes, when the store
 * says), whole, its checksum right, of run `runId` and round `round`, its model `weights`
 * values long and its server state `trainable` (the trainable values), and with `sha256` the
 * very file the store recorded. Anything else is a CheckpointError naming the file.
 */
export function readCheckpoint(
  file: string,
  expect: {
    readonly runId: string;
    readonly round: number;
    readonly weights: number;
    readonly trainable?: number;
    readonly sha256?: string;
    readonly bytes?: number;
  },
): Checkpoint {
  let bytes: Buffer;
  try {
    // checked before reading: a path the store names could be a FIFO or a device, or far larger than a checkpoint
    const stat = statSync(file);
    if (!stat.isFile()) throw new CheckpointError(`checkpoint ${file} is not a regular file`);
    if (expect.bytes !== undefined && stat.size !== expect.bytes)
      throw new CheckpointError(`checkpoint ${file} is truncated or was changed: ${stat.size} bytes, the store recorded ${expect.bytes}`);
    bytes = readFileSync(file);
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError(`checkpoint ${file} cannot be read: ${(cause as Error).message}`, { cause });
  }
  const c = decodeCheckpoint(bytes, file);
  if (expect.sha256 !== undefined && checksumOf(bytes) !== expect.sha256)
    throw new CheckpointError(`checkpoint ${file} is not the file the store recorded for round ${expect.round} (its SHA-256 differs)`);
  if (c.runId !== expect.runId) throw new CheckpointError(`checkpoint ${file} belongs to run ${c.runId}, not ${expect.runId}`);
  if (c.round !== expect.round) throw new CheckpointError(`checkpoint ${file} holds round ${c.round}, the store says ${expect.round}`);
  for (const [what, w] of [
    ['model', c.weights],
    ['best model', c.best?.weights],
  ] as const)
    if (w && w.length !== expect.weights) throw new CheckpointError(`checkpoint ${file}: its ${what} has ${w.length} values, this run's has ${expect.weights}`);
  for (const [name, v] of Object.entries(c.strategy.step))
    if (expect.trainable !== undefined && v.length !== expect.trainable)
      throw new CheckpointError(`checkpoint ${file}: its server state ${name} has ${v.length} values, this run trains ${expect.trainable}`);
  return c;
}

/** The checkpoint in `bytes` (the content of `file`, named in errors). */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw new CheckpointError(`checkpoint ${file} is not a Starling checkpoint (${buf.length < PREFIX ? `only ${buf.length} bytes` : 'wrong magic'})`);
  const rest = buf.subarray(MAGIC.length + 32);
  if (
    !createHash('sha256')
      .update(rest)
      .digest()
      .equals(buf.subarray(MAGIC.length, MAGIC.length + 32))
  )
    throw new CheckpointError(`checkpoint ${file} is corrupt or truncated: its SHA-256 checksum does not match its ${buf.length} bytes`);
  const length = rest.readUInt32LE(0);
  if (4 + length > rest.length) throw new CheckpointError(`checkpoint ${file}: its header runs past the end of the file`);
  let head: Header;
  try {
    const parsed: unknown = JSON.parse(rest.subarray(4, 4 + length).toString('utf8'), (_k, v: unknown) => nonFinite(v) ?? v);
    head = header.parse(parsed);
  } catch (cause) {
    throw new CheckpointError(`checkpoint ${file} has a malformed header: ${(cause as Error).message.slice(0, 300)}`, { cause });
  }
  const arrays = new Map<string, Float32Array | Float64Array>();
  let at = align8(4 + length);
  for (const a of head.arrays) {
    const width = a.type === 'f32' ? 4 : 8;
    const end = at + a.length * width;
    if (end > rest.length) throw new CheckpointError(`checkpoint ${file}: array ${a.name} runs past the end of the file`);
    // copied out: the file's buffer is not aligned for typed-array views
    const copy = new Uint8Array(rest.subarray(at, end));
    arrays.set(a.name, a.type === 'f32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer));
    at = end;
  }
  if (at !== rest.length) throw new CheckpointError(`checkpoint ${file}: ${rest.length - at} bytes after its last array`);
  const weights = arrays.get('weights');
  const best = arrays.get('best');
  if (!(weights instanceof Float32Array)) throw new CheckpointError(`checkpoint ${file} has no float32 model weights`);
  if ((best !== undefined) !== (head.best !== undefined) || (best && !(best instanceof Float32Array)))
    throw new CheckpointError(`checkpoint ${file}: its early-stopping best round and best model do not go together`);
  const step: Record<string, Float64Array> = {};
  for (const [name, data] of arrays) {
    if (name === 'weights' || name === 'best') continue;
    if (!name.startsWith('step.') || !(data instanceof Float64Array)) throw new CheckpointError(`checkpoint ${file} holds an unknown array ${name}`);
    step[name.slice('step.'.length)] = data;
  }
  return {
    runId: head.runId,
    round: head.round,
    weights,
    ...(head.best && best ? { best: { ...head.best, weights: best as Float32Array } } : {}),
    strategy: { step, ...(head.dp ? { dp: head.dp as DpState } : {}) },
  };
}

/** A number JSON cannot hold, as encodeCheckpoint wrote it; undefined for anything else. */
function nonFinite(v: unknown): number | undefined {
  if (typeof v !== 'object' || v === null || Object.keys(v).length !== 1) return undefined;
  const text = (v as { $number?: unknown }).$number;
  return text === 'Infinity' || text === '-Infinity' || text === 'NaN' ? Number(text) : undefined;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
