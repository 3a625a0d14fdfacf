import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../coordinator/store/db.ts';
import type { RunConfig } from '../../shared/config.ts';
import { loadRunConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/log.ts';
import { parseSearchSpace } from '../../shared/tuning/space.ts';
import { simulate } from '../../simulations/simulate.ts';
import { SearchRecord } from '../../simulations/tuning/record.ts';
import { tune, type TrialRun } from '../../simulations/tuning/tune.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-tune-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const out = () => join(root, `s${n++}`);

/** Opens a search folder's store beside the search (none is running then), for `f`. */
function withStore<T>(dir: string, f: (db: Db) => T): T {
  const db = openDb(join(dir, 'starling.db'));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

const storeRows = (dir: string) =>
  withStore(dir, (db) => ({
    searches: (db.prepare('SELECT count(*) AS n FROM searches').get() as { n: number }).n,
    trials: (db.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n,
    results: (db.prepare('SELECT count(*) AS n FROM trial_results').get() as { n: number }).n,
  }));

/** The last result recorded, with its trial's assignment. */
const lastResult = (dir: string) =>
  withStore(dir, (db) => {
    const row = db.prepare('SELECT r.id, t.assignment FROM trial_results r JOIN trials t USING (search_id, trial) ORDER BY r.id DESC LIMIT 1').get() as {
      id: number;
      assignment: string;
    };
    return { id: row.id, assignment: JSON.parse(row.assignment) as { lr: number } };
  });

const base = { clients: 2, rounds: 2, validation: 0.1, seed: 5 };
const lrSpace = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'choice', values: [0.003, 0.1] }] }, 'test');

/**
 * A stand-in trial for the scheduler's own tests: its accuracy after r rounds is
 * a fixed function of the learning rate (peaked at 0.05) and r, so rankings are known.
 */
function fakeTrial(calls: RunConfig[], opts: { delayMs?: number; fail?: (c: RunConfig) => boolean; onRound?: () => void } = {}) {
  let running = 0;
  const state = { maxRunning: 0 };
  const run = async (config: RunConfig, o: { shouldStop: () => boolean }): Promise<TrialRun> => {
    calls.push(config);
    running++;
    state.maxRunning = Math.max(state.maxRunning, running);
    try {
      const accuracies: number[] = [];
      for (let r = 1; r <= config.rounds; r++) {
        if (opts.delayMs) await new Promise((res) => setTimeout(res, opts.delayMs));
        opts.onRound?.();
        if (opts.fail?.(config)) throw new Error(`diverged at round ${r}`);
        accuracies.push(Math.max(0, 0.9 - Math.abs(Math.log10(config.train.lr / 0.05)) * 0.3) * (1 - 0.5 / (r + 1)));
        if (r < config.rounds && o.shouldStop()) break;
      }
      return { accuracies, weights: new Float32Array(101_770) };
    } finally {
      running--;
    }
  };
  return { run, state };
}

describe('tune', () => {
  it('runs real simulations, scores them on the validation split, writes a best config that simulate reproduces exactly', async () => {
    const dir = out();
    const result = await tune({ space: lrSpace, base, method: 'grid', trials: 10, seed: 1, out: dir, log: silentLogger });
    expect(result.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    const best = result.best!;
    expect(best.score).toBe(Math.max(...result.results.map((r) => r.score!)));
    expect(best.assignment).toEqual({ lr: 0.1 });
    // the written config runs as is, and the same seed gives the same validation accuracy the trial scored
    const config = loadRunConfig(best.configFile);
    expect(config.train.lr).toBe(0.1);
    const again = await simulate(config, { log: silentLogger, writeHistory: false });
    expect(again.history.rounds.at(-1)!.accuracy).toBe(best.score);
    expect(again.history.evaluatedOn).toBe('validation');
    // the test split was looked at once, at the end, by the search: the same number simulate reports
    expect(result.test!.accuracy).toBe(again.history.test!.accuracy);
    expect(result.roundsSpent).toBe(4);
  });

  it('a trial that crashes is recorded as failed with its error and the search goes on', async () => {
    const calls: RunConfig[] = [];
    const { run } = fakeTrial(calls, { fail: (c) => c.train.lr === 0.003 });
    const result = await tune({ space: lrSpace, base, method: 'grid', trials: 10, seed: 1, out: out(), log: silentLogger, runTrial: run });
    expect(result.results.map((r) => [r.assignment.lr, r.status, r.error])).toEqual([
      [0.003, 'failed', 'diverged at round 1'],
      [0.1, 'ok', undefined],
    ]);
    expect(result.best!.assignment).toEqual({ lr: 0.1 });
  });

  it('an interrupted search resumes from its record without repeating finished trials', async () => {
    const space = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'float', low: 0.001, high: 1, log: true }] }, 'test');
    const dir = out();
    const first: RunConfig[] = [];
    const a = await tune({ space, base, method: 'random', trials: 3, seed: 4, out: dir, log: silentLogger, runTrial: fakeTrial(first).run });
    expect(first).toHaveLength(3);
    // the same search again: nothing to do
    const second: RunConfig[] = [];
    const b = await tune({ space, base, method: 'random', trials: 3, seed: 4, out: dir, log: silentLogger, runTrial: fakeTrial(second).run });
    expect(second).toHaveLength(0);
    expect(b.resumed).toBe(3);
    expect(b.best!.score).toBe(a.best!.score);
    // a search killed mid-trial (its last result never committed) reruns only that trial
    const lost = lastResult(dir);
    expect(storeRows(dir)).toEqual({ searches: 1, trials: 3, results: 3 });
    withStore(dir, (db) => db.prepare('DELETE FROM trial_results WHERE id = ?').run(lost.id));
    const third: RunConfig[] = [];
    const c = await tune({ space, base, method: 'random', trials: 3, seed: 4, out: dir, log: silentLogger, runTrial: fakeTrial(third).run });
    expect(third).toHaveLength(1);
    expect(third[0]!.train.lr).toBe(lost.assignment.lr);
    expect(storeRows(dir)).toEqual({ searches: 1, trials: 3, results: 3 });
    expect(c.best!.score).toBe(a.best!.score);
    // another search in the same folder is refused, not mixed in
    await expect(tune({ space, base, method: 'random', trials: 3, seed: 5, out: dir, log: silentLogger, runTrial: fakeTrial([]).run })).rejects.toThrow(
      /starling\.db records a different search/,
    );
    expect(storeRows(dir)).toEqual({ searches: 1, trials: 3, results: 3 });
  });

  it('a search begun by a version that kept trials.jsonl resumes from it, and the file is left as it was', async () => {
    const space = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'float', low: 0.001, high: 1, log: true }] }, 'test');
    const opts = { space, base, method: 'random' as const, trials: 3, seed: 4, out: out(), log: silentLogger };
    const a = await tune({ ...opts, runTrial: fakeTrial([]).run });
    // the same folder as the previous version left it: its record as trials.jsonl, no store
    const identity = withStore(opts.out, (db) => (db.prepare('SELECT identity FROM searches').get() as { identity: string }).identity);
    const record = SearchRecord.open(join(opts.out, 'starling.db'), identity);
    const text = record.lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    record.close();
    rmSync(join(opts.out, 'starling.db'));
    writeFileSync(join(opts.out, 'trials.jsonl'), text);
    const calls: RunConfig[] = [];
    const b = await tune({ ...opts, runTrial: fakeTrial(calls).run });
    expect(calls).toHaveLength(0);
    expect(b.resumed).toBe(3);
    expect(b.best).toEqual(a.best);
    expect(storeRows(opts.out)).toEqual({ searches: 1, trials: 3, results: 3 });
    expect(readFileSync(join(opts.out, 'trials.jsonl'), 'utf8')).toBe(text);
  });

  it('ASHA stops bad trials early: 27 trials cost far fewer rounds than 27 full runs, and the best ran the full length', async () => {
    const space = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'float', low: 0.0001, high: 10, log: true }] }, 'test');
    const calls: RunConfig[] = [];
    const result = await tune({
      space,
      base,
      method: 'random',
      trials: 27,
      seed: 2,
      rungs: [1, 3, 9],
      eta: 3,
      out: out(),
      log: silentLogger,
      runTrial: fakeTrial(calls).run,
    });
    const byRounds = (r: number) => calls.filter((c) => c.rounds === r).length;
    // asynchronous promotion decides on the results so far, so a rung gets at least ⌊n/η⌋ trials, a few more than synchronous halving
    expect(byRounds(1)).toBe(27);
    expect(byRounds(3)).toBeGreaterThanOrEqual(9);
    expect(byRounds(9)).toBeGreaterThanOrEqual(3);
    expect(result.roundsSpent).toBe(byRounds(1) + 3 * byRounds(3) + 9 * byRounds(9));
    expect(result.fullRounds).toBe(27 * 9);
    expect(result.roundsSpent).toBeLessThan(result.fullRounds / 2);
    expect(result.best!.rounds).toBe(9);
    // the promoted ones are the best of their rung: the best full-length trial has the best lr of all
    const lrs = calls.filter((c) => c.rounds === 1).map((c) => c.train.lr);
    const closest = lrs.reduce((a, b) => (Math.abs(Math.log10(b / 0.05)) < Math.abs(Math.log10(a / 0.05)) ? b : a));
    expect(result.best!.assignment.lr).toBe(closest);
  });

  it('runs trials in parallel, bounded, and stops starting them when the budget is spent', async () => {
    const space = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'float', low: 0.001, high: 1, log: true }] }, 'test');
    const calls: RunConfig[] = [];
    // a clock the trials advance: every round costs 100 ms of it; the budget is 1 s
    let clock = 0;
    const { run, state } = fakeTrial(calls, { delayMs: 1, onRound: () => (clock += 100) });
    const result = await tune({
      space,
      base: { ...base, rounds: 4 },
      method: 'random',
      trials: 100,
      seed: 3,
      parallel: 2,
      deadline: 1000,
      now: () => clock,
      out: out(),
      log: silentLogger,
      runTrial: run,
    });
    expect(state.maxRunning).toBe(Math.min(2, availableParallelism()));
    expect(result.stoppedByBudget).toBe(true);
    expect(calls.length).toBeLessThan(10);
    // no trial starts after the budget; the ones running then stop after their round, recorded as stopped, not scored
    const stopped = result.results.filter((r) => r.status === 'stopped');
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.every((r) => r.rounds < 4 && r.score === undefined)).toBe(true);
    expect(result.results.filter((r) => r.status === 'ok').every((r) => r.rounds === 4)).toBe(true);
  });

  it('refuses, before any trial runs, what would score trials on the test split or end them early, and paths that are not run settings', async () => {
    const go = (b: Record<string, unknown>, params: unknown[] = [{ name: 'lr', path: 'train.lr', type: 'choice', values: [0.1] }]) =>
      tune({
        space: parseSearchSpace({ params }, 'test'),
        base: b,
        method: 'grid',
        trials: 2,
        seed: 1,
        out: out(),
        log: silentLogger,
        runTrial: fakeTrial([]).run,
      });
    await expect(go({ clients: 2, rounds: 1 })).rejects.toThrow(/validation split/);
    await expect(go({ ...base, patience: 2 })).rejects.toThrow(/drop patience and targetAccuracy/);
    await expect(go({ ...base, data: 'synthetic:1,1' })).rejects.toThrow(/validation: synthetic devices keep their own test rows/);
    await expect(
      go(base, [
        { name: 'v', path: 'validation', type: 'choice', values: [0, 0.1] },
        { name: 'r', path: 'rounds', type: 'int', low: 1, high: 3 },
        { name: 'typo', path: 'train.lrr', type: 'float', low: 0.01, high: 0.1 },
      ]),
    ).rejects.toThrow(/v: path validation cannot be tuned[\s\S]*r: path rounds cannot be tuned[\s\S]*typo: .*lrr/);
  });

  it('a run that ends short of its rounds without the budget is a failed trial, not a loop', async () => {
    const short = async (): Promise<TrialRun> => ({ accuracies: [0.5], weights: new Float32Array(101_770) });
    const result = await tune({ space: lrSpace, base, method: 'grid', trials: 2, seed: 1, out: out(), log: silentLogger, runTrial: short });
    expect(result.results.map((r) => [r.status, r.error])).toEqual([
      ['failed', 'the run ended after 1 of 2 rounds'],
      ['failed', 'the run ended after 1 of 2 rounds'],
    ]);
  });

  it('ASHA searches resume too, and a folder in use by another search is refused', async () => {
    const space = parseSearchSpace({ params: [{ name: 'lr', path: 'train.lr', type: 'float', low: 0.0001, high: 10, log: true }] }, 'test');
    const dir = out();
    const opts = { space, base, method: 'random' as const, trials: 9, seed: 6, rungs: [1, 3], eta: 3, out: dir, log: silentLogger };
    const first: RunConfig[] = [];
    const a = await tune({ ...opts, runTrial: fakeTrial(first).run });
    const again: RunConfig[] = [];
    const b = await tune({ ...opts, runTrial: fakeTrial(again).run });
    expect(again).toHaveLength(0);
    expect(b.best).toEqual(a.best);
    expect(b.roundsSpent).toBe(a.roundsSpent);
    // resuming a finished search adds nothing to its record
    const rows = storeRows(dir);
    await tune({ ...opts, runTrial: fakeTrial([]).run });
    expect(storeRows(dir)).toEqual(rows);
    // a live search holds its folder
    const busy = { ...opts, out: out() };
    const slow = tune({ ...busy, runTrial: fakeTrial([], { delayMs: 100 }).run });
    await new Promise((r) => setTimeout(r, 20));
    await expect(tune({ ...busy, runTrial: fakeTrial([]).run })).rejects.toThrow(/is in use by another starling tune \(pid \d+\)/);
    await slow;
  });
});
