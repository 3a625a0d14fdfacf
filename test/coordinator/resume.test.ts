import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publicConfig } from '../../coordinator/history.ts';
import { locateRun, openResumePoint } from '../../coordinator/resume.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { writeCheckpoint } from '../../coordinator/store/checkpoint-file.ts';
import { RunRecorder } from '../../coordinator/store/run-recorder.ts';
import { RunStore } from '../../coordinator/store/run-store.ts';
import Database from 'better-sqlite3';
import { resolveRunConfig } from '../../shared/config.ts';
import type { StarlingError } from '../../shared/errors.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { paramCount } from '../../shared/models/registry.ts';
import { roundRecord } from '../cli/run-store-fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const config = resolveRunConfig('test', { clients: 2, rounds: 5, strategy: 'fedavgm:lr=1,momentum=0.5', seed: 9 });
const size = paramCount(config.model);
const record = (round: number): RoundRecord => roundRecord(round, round / 10);

/** A store holding one stopped run with `rounds` rounds, a checkpoint written for each of `checkpointed`. */
async function storedRun(rounds: number, checkpointed: readonly number[], status: 'stopped' | 'complete' = 'stopped') {
  const out = join(root, `out${n++}`);
  const id = `run-${n}`;
  const dir = join(out, id);
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const path = join(out, 'starling.db');
  const store = RunStore.open(path);
  store.beginRun({
    id,
    startedAt: '2026-12-07T00:00:00.000Z',
    config: publicConfig(config),
    seed: 9,
    roundsPlanned: 5,
    data: 'mnist',
    model: 'mlp',
    strategy: 'fedavgm',
    codeVersion: 'test',
    dir,
  });
  const files = new Map<number, string>();
  for (let round = 1; round <= rounds; round++) {
    store.recordRound(id, record(round), []);
    if (!checkpointed.includes(round)) continue;
    const file = join(dir, 'checkpoints', `round-${round}.ckpt`);
    const weights = new Float32Array(size).fill(round);
    const written = await writeCheckpoint(file, { runId: id, round, weights, strategy: { step: { velocity: new Float64Array(size).fill(-round) } } });
    store.addCheckpoint(id, { round, file, ...written });
    files.set(round, file);
  }
  store.finishRun(id, { status, finishedAt: '2026-12-07T00:01:00.000Z' });
  store.close();
  const rows = () => {
    const s = RunStore.open(path, { readonly: true });
    try {
      return s.getRun(id)!.rounds.map((r) => r.round);
    } finally {
      s.close();
    }
  };
  return { out, id, dir, path, files, rows };
}

/** The size of round `round`'s checkpoint of `run` as written (every checkpoint of these runs has the same size). */
const statSize = (run: { files: Map<number, string> }, round: number) => statSync(run.files.get(round)!).size;

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return [(e as StarlingError).code, (e as Error).message] as const;
  }
  return undefined;
};

describe('resuming a run from the store', () => {
  it('continues from the newest checkpoint with its model, server state, config and the rounds before it; the store changes only when the coordinator reopens it', async () => {
    const run = await storedRun(3, [1, 2, 3]);
    const point = openResumePoint(run.path, run.id.slice(0, 5), {}, silentLogger);
    expect(point.runId).toBe(run.id);
    expect(point.checkpoint!.round).toBe(3);
    expect(point.checkpoint!.weights[0]).toBe(3);
    expect(point.checkpoint!.strategy.step.velocity![size - 1]).toBe(-3);
    expect(point.history.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(point.config.strategy.spec).toEqual(config.strategy.spec);
    expect(point.config.output.store).toBe(run.path);
    expect(point.dir).toBe(run.dir);
    const status = () => {
      const store = RunStore.open(run.path, { readonly: true });
      const { status, resumes } = store.listRuns()[0]!;
      store.close();
      return [status, resumes];
    };
    // a resume that fails to start (a key file missing, the port taken) has changed nothing
    expect(status()).toEqual(['stopped', 0]);
    const recorder = RunRecorder.reopen(run.path, run.id, 3, run.dir, silentLogger);
    // marked running by this process (which a listing in this same process reads as interrupted: see run-store.test.ts)
    expect(status()).toEqual(['interrupted', 1]);
    await recorder.finish({ status: 'stopped', finishedAt: 'now' });
  });

  it('a truncated newest checkpoint is an E_CHECKPOINT error naming its file, and the one before it is used; the rounds after that are dropped to run again', async () => {
    const run = await storedRun(3, [1, 2, 3]);
    truncateSync(run.files.get(3)!, 100);
    // with DP: rounds 3 and 4 (under way at the stop) began releasing after the checkpoint of round 2, whose account lacks them
    const store = RunStore.open(run.path);
    store.recordRelease(run.id, 3, 0.5);
    store.recordRelease(run.id, 4, 0.25);
    store.close();
    const log = memoryLogger();
    const point = openResumePoint(run.path, run.id, {}, log);
    expect(point.checkpoint!.round).toBe(2);
    expect(point.history.map((r) => r.round)).toEqual([1, 2]);
    expect(point.unchargedReleases).toEqual([0.5, 0.25]);
    expect(log.entries.find((e) => e.level === 'error')?.msg).toBe(
      `checkpoint ${run.files.get(3)} is truncated or was changed: 100 bytes, the store recorded ${statSize(run, 2)}; falling back to the checkpoint before it`,
    );
    expect(run.rows()).toEqual([1, 2, 3]);
    const recorder = RunRecorder.reopen(run.path, run.id, 2, run.dir, silentLogger);
    await recorder.finish({ status: 'failed', finishedAt: 'now', error: 'died before its first checkpoint' });
    expect(run.rows()).toEqual([1, 2]);
    // a resume that died before its first checkpoint leaves the releases uncharged still: the next resume charges them too
    expect(openResumePoint(run.path, run.id, {}, silentLogger).unchargedReleases).toEqual([0.5, 0.25]);
    // a checkpoint named after them holds them in its account
    const after = RunStore.open(run.path);
    after.recordRound(run.id, { ...record(3) }, []);
    after.addCheckpoint(run.id, { round: 3, file: join(run.dir, 'x'), sha256: 'x', bytes: 1 });
    expect(after.unchargedReleases(run.id, 2)).toEqual([0.25]);
    after.close();
  });

  it('a store with a round missing before the checkpoint is refused: its history would not be the run', async () => {
    const run = await storedRun(3, [3]);
    const db = new Database(run.path);
    db.prepare('DELETE FROM rounds WHERE round = 2').run();
    db.close();
    expect(code(() => openResumePoint(run.path, run.id, {}, silentLogger))).toEqual([
      'E_RESUME',
      `run ${run.id}: the store holds rounds 1, 3 up to the checkpoint of round 3; with rounds missing its history cannot be continued`,
    ]);
  });

  it('every checkpoint damaged: E_RESUME naming each, never a silent start from round 1; no checkpoint ever written: from round 1, said', async () => {
    const run = await storedRun(2, [1, 2]);
    writeFileSync(run.files.get(1)!, 'garbage');
    rmSync(run.files.get(2)!);
    const [c, message] = code(() => openResumePoint(run.path, run.id, {}, silentLogger))!;
    expect(c).toBe('E_RESUME');
    expect(message).toContain(`has 2 rounds but no usable checkpoint: checkpoint ${run.files.get(2)} cannot be read`);
    expect(message).toContain(`checkpoint ${run.files.get(1)} is truncated or was changed: 7 bytes`);
    expect(run.rows()).toEqual([1, 2]);

    const early = await storedRun(1, []);
    const log = memoryLogger();
    const point = openResumePoint(early.path, early.id, {}, log);
    expect(point.checkpoint).toBeUndefined();
    expect(point.history).toEqual([]);
    expect(log.entries.some((e) => e.level === 'warn' && /stopped before its first checkpoint was written: it runs again from round 1/.test(e.msg!))).toBe(
      true,
    );
  });

  it('refuses what cannot be resumed: a complete run, an unknown run, a missing store, a flag that changes what the run computes; takes where it listens, timeouts and output anew', async () => {
    const done = await storedRun(5, [5], 'complete');
    expect(code(() => openResumePoint(done.path, done.id, {}, silentLogger))).toEqual(['E_RESUME', `run ${done.id} is complete: there is nothing to resume`]);
    expect(code(() => openResumePoint(done.path, 'nope', {}, silentLogger))?.[0]).toBe('E_RESUME');
    expect(code(() => openResumePoint(join(root, 'none.db'), 'x', {}, silentLogger))?.[1]).toMatch(/no run store at .*none\.db/);

    const run = await storedRun(2, [1, 2]);
    expect(code(() => openResumePoint(run.path, run.id, { strategy: 'fedadam', seed: 9, clients: 3 }, silentLogger))).toEqual([
      'E_RESUME',
      `--resume continues run ${run.id} as it was configured; clients, strategy cannot change (only where it listens, its keys and secrets, timeouts, limits and output can)`,
    ]);
    // a simulation resumes as a simulation, a coordinator's run with its clients
    const db = new Database(run.path);
    db.prepare("UPDATE runs SET kind = 'simulation'").run();
    db.close();
    expect(code(() => openResumePoint(run.path, run.id, {}, silentLogger, 'coordinator'))).toEqual([
      'E_RESUME',
      `run ${run.id} ran as a simulation: resume it with \`starling simulate --resume ${run.id}\``,
    ]);
    // the same values as stored are not a change
    const point = openResumePoint(run.path, run.id, { seed: 9, port: 7171, roundTimeoutMs: 1234, logLevel: 'error' }, silentLogger);
    expect(point.config.server).toMatchObject({ port: 7171, roundTimeoutMs: 1234 });
    expect(point.config.seed).toBe(9);
  });

  it('--resume takes a run directory (its store beside it) or an id', async () => {
    const run = await storedRun(1, [1]);
    expect(locateRun(run.dir, undefined)).toEqual({ store: run.path, id: run.id });
    expect(locateRun(run.dir, '/elsewhere.db')).toEqual({ store: '/elsewhere.db', id: run.id });
    expect(locateRun(run.id, run.path)).toEqual({ store: run.path, id: run.id });
    expect(locateRun('2026-12', undefined)).toEqual({ store: join('runs', 'starling.db'), id: '2026-12' });
  });
});
