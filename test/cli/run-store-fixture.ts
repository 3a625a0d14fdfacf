import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { afterAll } from 'vitest';
import { runsCommand } from '../../cli/runs.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { type ClientRoundResult, type RunStart, RunStore } from '../../coordinator/store/run-store.ts';

/** A temp folder for this test file, removed after it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const runStart = (id: string, over: Partial<RunStart> = {}): RunStart => ({
  id,
  startedAt: '2026-01-01T00:00:00.000Z',
  config: { clients: 2, rounds: 3 },
  seed: 1,
  roundsPlanned: 3,
  data: 'mnist',
  model: 'mlp',
  strategy: 'fedavg',
  codeVersion: 'starling test',
  ...over,
});

export const roundRecord = (round: number, accuracy: number | null, extra: Partial<RoundRecord> = {}): RoundRecord => ({
  round,
  accuracy,
  loss: 0.5,
  seconds: 0.1,
  bytesIn: 10,
  bytesOut: 20,
  clients: 2,
  failures: 0,
  partial: 0,
  trainLoss: 0.4,
  trainAccuracy: 0.8,
  federated: null,
  timings: { collect: 0.05, slowestClientTrain: 0.04, aggregate: 0.001, evaluate: 0.01, federatedEvaluate: 0 },
  ...extra,
});

/** A round's federated evaluation: one client scored the model on its held-out rows. */
export const federatedRecord: NonNullable<RoundRecord['federated']> = {
  clients: 1,
  failures: 0,
  failed: [],
  numExamples: 5,
  metrics: { accuracy: 0.6 },
  perClient: [{ client: 'a', numExamples: 5, metrics: { accuracy: 0.6 } }],
};

export interface StoredRound {
  readonly record: RoundRecord;
  readonly clients?: readonly ClientRoundResult[];
}

/**
 * Writes a run into the store at `path`: its rounds, then how it ended. 'interrupted' leaves it
 * marked running with a pid no process holds, as a crashed process leaves it.
 */
export function writeRun(path: string, start: RunStart, rounds: readonly StoredRound[], end: 'complete' | 'failed' | 'interrupted'): void {
  const store = RunStore.open(path);
  try {
    store.beginRun(start);
    for (const r of rounds) store.recordRound(start.id, r.record, r.clients ?? []);
    if (end !== 'interrupted') store.finishRun(start.id, { status: end, finishedAt: '2026-01-01T01:00:00.000Z' });
  } finally {
    store.close();
  }
  if (end !== 'interrupted') return;
  const db = new Database(path);
  db.prepare('UPDATE runs SET pid = 2147483646 WHERE id = ?').run(start.id);
  db.close();
}

/**
 * Runs `starling runs <args>` in this process: what it wrote to stdout and stderr. An error (a
 * StarlingError from an action, a CommanderError for a bad flag) rejects, as the CLI would exit 1 with it.
 */
export async function runs(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const command = runsCommand();
  const quiet = (c: Command) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  quiet(command);
  for (const sub of command.commands) quiet(sub);
  let stdout = '';
  let stderr = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await command.parseAsync(['node', 'runs', ...args]);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  return { stdout, stderr };
}

/** r-alpha: 3 rounds of accuracy 0.5, 0.7, 0.9 (loss 1 − accuracy), complete. */
export function writeAlpha(store: string): void {
  writeRun(
    store,
    runStart('r-alpha'),
    [0.5, 0.7, 0.9].map((a, i) => ({ record: roundRecord(i + 1, a, { loss: 1 - a }) })),
    'complete',
  );
}
