import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../shared/config.ts';
import type { RoundRecord } from './round-loop.ts';

export interface RunHistory {
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly config: RunConfig;
  readonly strategy: Record<string, unknown>;
  readonly backend: string | null;
  readonly paramCount: number;
  readonly rounds: readonly RoundRecord[];
  /** Which split each round's accuracy and loss come from. */
  readonly evaluatedOn: 'validation' | 'test' | 'none';
  /** With a validation split: the kept model's score on the test split, computed once at the end. */
  readonly test?: { readonly accuracy: number; readonly loss: number };
  /** With early stopping: the round whose model final-weights.f32 holds. */
  readonly bestRound?: number;
  readonly finalWeightsSha256: string;
  /** Peak resident set size of the coordinator's process. */
  readonly peakRssBytes: number;
}

export function sha256(weights: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)).digest('hex');
}

/** Peak RSS of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Writes `history.json` and `final-weights.f32` (raw little-endian float32, flat
 * layout) into `dir`, each through a temporary name and a rename.
 */
export function writeRun(dir: string, history: RunHistory, weights: Float32Array): void {
  mkdirSync(dir, { recursive: true });
  atomicWrite(join(dir, 'history.json'), JSON.stringify(history, null, 2) + '\n');
  atomicWrite(join(dir, 'final-weights.f32'), new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
}

function atomicWrite(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
