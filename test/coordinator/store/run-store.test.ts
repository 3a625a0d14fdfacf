import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '../../../coordinator/round-loop.ts';
import { openDb } from '../../../coordinator/store/db.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../coordinator/store/migrations.ts';
import { RunRecorder } from '../../../coordinator/store/run-recorder.ts';
import { type RunStart, RunStore } from '../../../coordinator/store/run-store.ts';
import { silentLogger } from '../../../shared/log.ts';
import { federatedRecord, roundRecord, runStart } from '../../cli/run-store-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `s${n++}`, 'starling.db');

const run = (id: string, over: Partial<RunStart> = {}): RunStart => runStart(id, { startedAt: `2026-01-0${(n % 9) + 1}T00:00:00.000Z`, ...over });
const record = (round: number, accuracy: number | null, extra: Partial<RoundRecord> = {}): RoundRecord =>
  roundRecord(round, accuracy, { failures: 1, ...extra });

describe('the run store', () => {
  it('is created from nothing at the latest schema version, mode 0600, in WAL mode; opening it again changes nothing', () => {
    const path = fresh();
    RunStore.open(path).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name)).toEqual([
      'checkpoints',
      'client_results',
      'federated_results',
      'releases',
      'rounds',
      'runs',
      'searches',
      'trial_results',
      'trials',
    ]);
    db.close();
    RunStore.open(path).close();
  });

  it('migrates a store written at every earlier version forward, keeping its rows', () => {
    for (let from = 0; from < SCHEMA_VERSION; from++) {
      const path = fresh();
      mkdirSync(dirname(path), { recursive: true });
      const old = new Database(path);
      for (let v = 1; v <= from; v++) old.exec(MIGRATIONS[v - 1]!);
      old.pragma(`user_version = ${from}`);
      if (from >= 1)
        old.prepare("INSERT INTO runs VALUES ('old', 't', NULL, 'complete', NULL, '{}', 1, 1, 'mnist', 'mlp', 'fedavg', 'v', 'h', 1, NULL, NULL)").run();
      old.close();
      const db = openDb(path);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      if (from >= 1) expect(db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 1 });
      db.close();
    }
  });

  it('refuses, naming the file, a store from a newer Starling and a file that is not a SQLite database', () => {
    const newer = fresh();
    RunStore.open(newer).close();
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => RunStore.open(newer)).toThrow(new RegExp(`run store ${newer} has schema version ${SCHEMA_VERSION + 1}, written by a newer Starling`));
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'not a database, just some bytes that are long enough to be read as a header…'.repeat(20));
    expect(() => RunStore.open(junk)).toThrow(/run store .*junk\.db is not a SQLite database/);
    expect(() => RunStore.open(join(dir, 'absent', 'x.db'), { readonly: true })).toThrow(/cannot open the run store/);
  });

  it('records a run, each round with its clients and federated evaluation in one transaction, and how it ended', () => {
    const store = RunStore.open(fresh());
    store.beginRun(run('r1', { startedAt: '2026-01-01T00:00:00.000Z' }));
    const federated = federatedRecord;
    store.recordRound('r1', record(1, 0.7, { federated }), [
      { client: 'a', examples: 10, metrics: { loss: 0.3 }, partial: false },
      { client: 'b', failure: 'client b disconnected (code 1006)' },
    ]);
    store.recordRound('r1', record(2, 0.8, { skipped: true, skipReason: 'only 0 results, 1 needed' }), []);
    // a round recorded twice is refused whole: nothing of the second attempt lands
    expect(() => store.recordRound('r1', record(2, 0.9), [{ client: 'a', examples: 1 }])).toThrow();
    expect(store.clientResults('r1', 2)).toEqual([]);
    store.finishRun('r1', { status: 'complete', finishedAt: '2026-01-01T00:01:00.000Z', finalWeightsSha256: 'ab' });
    const got = store.getRun('r1')!;
    expect(got.summary).toMatchObject({ status: 'complete', rounds: 2, roundsPlanned: 3, bestAccuracy: 0.8, data: 'mnist', model: 'mlp', strategy: 'fedavg' });
    expect(got.config).toEqual({ clients: 2, rounds: 3 });
    expect(got.rounds.map((r) => [r.round, r.accuracy, r.skipped ?? false])).toEqual([
      [1, 0.7, false],
      [2, 0.8, true],
    ]);
    expect(got.rounds[0]!.federated).toEqual(federated);
    expect(store.clientResults('r1', 1)).toEqual([
      { client: 'a', examples: 10, metrics: { loss: 0.3 }, partial: false },
      { client: 'b', failure: 'client b disconnected (code 1006)' },
    ]);
    store.close();
  });

  it('lists newest first; a run marked running whose process is gone is interrupted; an id prefix finds one run, not two', () => {
    const store = RunStore.open(fresh());
    store.beginRun(run('2026-a', { startedAt: '2026-01-01T00:00:00.000Z' }));
    store.beginRun(run('2026-b', { startedAt: '2026-01-02T00:00:00.000Z' }));
    store.finishRun('2026-a', { status: 'failed', finishedAt: '2026-01-01T00:00:01.000Z', error: 'boom' });
    const db = (store as unknown as { db: Database.Database }).db;
    // this process's own pid is never taken for a live run's (a container's coordinator is pid 1 each time): it reads interrupted
    expect(store.getRun('2026-b')!.summary.status).toBe('interrupted');
    // a live process holds 2026-b
    db.prepare("UPDATE runs SET pid = ? WHERE id = '2026-b'").run(process.ppid);
    expect(store.listRuns().map((r) => [r.id, r.status])).toEqual([
      ['2026-b', 'running'],
      ['2026-a', 'failed'],
    ]);
    // pretend 2026-b's process died: a pid no process holds
    db.prepare("UPDATE runs SET pid = 2147483646 WHERE id = '2026-b'").run();
    expect(store.getRun('2026-b')!.summary.status).toBe('interrupted');
    expect(store.getRun('2026-')).toBeUndefined();
    expect(store.getRun('2026-a')!.summary.error).toBe('boom');
    expect(store.getRun('2026-%')).toBeUndefined();
    store.close();
  });
});

describe('the run recorder', () => {
  it('keeps a row for every client of a round, telling apart two that chose the same name', async () => {
    const path = fresh();
    const recorder = RunRecorder.start(path, { ...run('rec'), dir: join(dirname(path), 'rec') }, silentLogger);
    const same = (id: string) => ({ id, name: 'site' });
    recorder.onClients(1, [{ client: same('c1'), numExamples: 5, metrics: { loss: 1 } }], [{ client: same('c2'), reason: 'gone', kind: 'disconnected' }]);
    recorder.onRound(record(1, 0.5));
    await recorder.finish({ status: 'complete', finishedAt: 't' });
    const store = RunStore.open(path, { readonly: true });
    expect(store.clientResults('rec', 1)).toEqual([
      { client: 'site (c1)', examples: 5, metrics: { loss: 1 }, partial: false },
      { client: 'site (c2)', failure: 'gone' },
    ]);
    expect(store.getRun('rec')!.summary.status).toBe('complete');
    store.close();
  });
});
