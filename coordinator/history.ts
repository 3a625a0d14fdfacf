import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../shared/atomic-file.ts';
import { runConfigFields, type RunConfig } from '../shared/config.ts';
import { saveModel } from '../shared/models/saved-model.ts';
import type { RoundRecord } from './round-loop.ts';

export interface RunHistory {
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly config: RunConfig;
  readonly strategy: Record<string, unknown>;
  readonly backend: string | null;
  readonly paramCount: number;
  /** With frozen parameters: how many trained (and travelled). */
  readonly trainableParamCount?: number;
  readonly rounds: readonly RoundRecord[];
  /** Which split each round's accuracy and loss come from. */
  readonly evaluatedOn: 'validation' | 'test' | 'none';
  /** With a validation split: the kept model's score on the test split, computed once at the end. */
  readonly test?: { readonly accuracy?: number; readonly loss: number; readonly mae?: number; readonly r2?: number };
  /** With early stopping: the round whose model final-weights.f32 holds. */
  readonly bestRound?: number;
  readonly finalWeightsSha256: string;
  /** Peak resident set size of the coordinator's process. */
  readonly peakRssBytes: number;
  /**
   * With differential privacy: what the run spent, and how to read it. `samplingSecret` false
   * (a simulation's seeded sample) means ε's amplification does not hold; `clients` then gives
   * each client's ε without it, over the rounds its update was in.
   */
  readonly privacy?: {
    readonly epsilon: number;
    readonly delta: number;
    readonly samplingSecret: boolean;
    readonly epsilonUnamplifiedMax?: number;
    readonly epsilonReplaceOne?: number;
    readonly clients?: Readonly<Record<string, { readonly rounds: number; readonly epsilon: number }>>;
  };
}

/** What history.json holds: the history with its config in the flat, secret-free form of publicConfig. */
export type RunHistoryFile = Omit<RunHistory, 'config'> & { readonly config: Record<string, unknown> };

export function sha256(weights: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength))
    .digest('hex');
}

/** Peak RSS of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Config fields that hold a secret itself (not a path to one): never written to a run's files. */
const SECRET_FIELDS: readonly string[] = ['joinToken'];

/**
 * The config as a run's files record it: the flat form a config file is written in (spec
 * fields as their short strings, so `--config` reads it back to the same run), every secret
 * field dropped. File paths stay (`key`, `allow`, `joinTokenFile` say which files the run
 * used, not what is in them).
 */
export function publicConfig(config: RunConfig): Record<string, unknown> {
  const fields = runConfigFields(config);
  for (const field of SECRET_FIELDS) delete fields[field];
  return fields;
}

/** A run directory holds results derived from what the peers sent: its owner's alone. */
const RUN_DIR_MODE = 0o700;
const RUN_FILE_MODE = 0o600;

/**
 * Writes `history.json` (its config without secrets: publicConfig) and the final model as a
 * saved model (`model.json` + `final-weights.f32`, raw little-endian float32, flat layout;
 * shared/models/saved-model.ts) into `dir`, created mode 0700, each file mode 0600 through a
 * temporary name and a rename: a run directory can start another run (`init:`).
 */
export function writeRun(dir: string, history: RunHistory, weights: Float32Array): void {
  mkdirSync(dir, { recursive: true, mode: RUN_DIR_MODE });
  const stored: RunHistoryFile = { ...history, config: publicConfig(history.config) };
  atomicWrite(join(dir, 'history.json'), `${JSON.stringify(stored, null, 2)}\n`, RUN_FILE_MODE);
  const last = history.rounds.at(-1);
  saveModel(dir, history.config.model, weights, {
    runId: history.runId,
    rounds: history.rounds.length,
    ...(history.bestRound !== undefined ? { bestRound: history.bestRound } : {}),
    accuracy: history.bestRound !== undefined ? (history.rounds[history.bestRound - 1]?.accuracy ?? null) : (last?.accuracy ?? null),
    ...(history.config.init ? { init: history.config.init } : {}),
    ...(history.config.freeze.length ? { frozen: history.config.freeze } : {}),
  });
}

/** The run directories under `out` (folders holding a history.json; the run store beside them is not one), sorted by name: oldest first. */
export function runDirectories(out: string): string[] {
  return readdirSync(out)
    .filter((name) => existsSync(join(out, name, 'history.json')))
    .sort();
}
