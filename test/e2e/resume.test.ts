import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunHistoryFile } from '../../coordinator/history.ts';
import { RunStore } from '../../coordinator/store/run-store.ts';
import { mulberry32 } from '../../shared/rng.ts';
import { starling, untilRound } from './cli-process.ts';

/**
 * Kill -9 a simulation at random rounds, several times in one run, resume it each time: the
 * final model must be byte-identical to the same run never interrupted. The kill points come
 * from STARLING_TEST_SEED (default: the clock), printed with any failure so it can be replayed.
 */
const seed = Number(process.env.STARLING_TEST_SEED ?? Date.now() % 1_000_000);
const random = mulberry32(seed);
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

const root = mkdtempSync(join(tmpdir(), 'starling-resume-e2e-'));
// the secure channel's temporary key folders go here too: a killed process cannot remove its own
const env = { TMPDIR: join(root, 'tmp') };
mkdirSync(env.TMPDIR);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ROUNDS = 8;
const base = ['simulate', '--clients', '3', '--rounds', String(ROUNDS), '--seed', '5', '--json', '--log-level', 'error'];

function history(out: string, id: string): RunHistoryFile {
  return JSON.parse(readFileSync(join(out, id, 'history.json'), 'utf8')) as RunHistoryFile;
}

function onlyRun(out: string): string {
  const store = RunStore.open(join(out, 'starling.db'), { readonly: true });
  try {
    const runs = store.listRuns();
    expect(runs).toHaveLength(1);
    return runs[0]!.id;
  } finally {
    store.close();
  }
}

/** The newest checkpoint file the store names for the run, when there is an older one to fall back to. */
function newestOfSeveral(out: string, id: string): string | undefined {
  const store = RunStore.open(join(out, 'starling.db'), { readonly: true });
  try {
    const refs = store.checkpoints(id);
    return refs.length >= 2 ? refs[0]!.file : undefined;
  } finally {
    store.close();
  }
}

/**
 * The run of `args` killed with SIGKILL after each round in `kills` printed (plus 0–40 ms, so
 * the kill lands at varying points of the next round), resumed each time, then run to its end.
 * `beforeResume(k)` may damage what the k-th kill left. Returns the finished run's history and
 * what every resume wrote on stderr.
 */
async function killAndResume(args: string[], out: string, kills: readonly number[], beforeResume?: (k: number, id: string) => void) {
  let run = starling([...base, ...args, '--out', out], 90_000, env);
  let id: string | undefined;
  const stderr: string[] = [];
  for (const [k, round] of kills.entries()) {
    await untilRound(run, round);
    await new Promise((r) => setTimeout(r, random() * 40));
    run.child.kill('SIGKILL');
    const ended = await run.done;
    expect(ended.code, `kill ${k + 1} after round ${round} (seed ${seed}): ${ended.stderr}`).toBeNull();
    id ??= onlyRun(out);
    beforeResume?.(k, id);
    run = starling([...base.slice(0, 1), '--resume', id, '--out', out, '--json', '--log-level', 'error'], 90_000, env);
  }
  const last = await run.done;
  stderr.push(last.stderr);
  expect(last.code, `seed ${seed}, kills after rounds ${kills.join(', ')}: ${last.stderr}`).toBe(0);
  return { history: history(out, id!), stderr: stderr.join('\n') };
}

async function uninterrupted(args: string[], out: string): Promise<RunHistoryFile> {
  const run = await starling([...base, ...args, '--out', out], 90_000, env).done;
  expect(run.code, run.stderr).toBe(0);
  return history(out, onlyRun(out));
}

describe('kill -9 and --resume', () => {
  const cases: [string, string[]][] = [
    ['fedavg', ['--insecure']],
    ['fedadam with central DP', ['--insecure', '--strategy', 'fedadam:lr=0.02', '--dp', 'central:z=0.8,clip=1']],
    ['secure aggregation', ['--secagg']],
    ['secure aggregation over the in-memory transport', ['--secagg', '--transport', 'memory']],
  ];
  it.each(cases)(
    '%s: killed at random rounds twice in one run and resumed each time, the final weights are byte-identical to a run never interrupted',
    async (name, args) => {
      const dir = join(root, name.replace(/\W+/g, '-'));
      const first = between(1, 3);
      const kills = [first, between(first + 2, ROUNDS - 2)];
      // fedavg also meets a truncated newest checkpoint at its second resume: it must fall back to the one before, and say so
      const damage = name === 'fedavg';
      let truncated = '';
      const [whole, resumed] = await Promise.all([
        uninterrupted(args, join(dir, 'whole')),
        killAndResume(args, join(dir, 'killed'), kills, (k, id) => {
          if (!damage || k !== 1) return;
          truncated = newestOfSeveral(join(dir, 'killed'), id) ?? '';
          if (truncated) truncateSync(truncated, 1000);
        }),
      ]);
      const context = `seed ${seed}, kills after rounds ${kills.join(', ')}`;
      const store = RunStore.open(join(dir, 'killed', 'starling.db'), { readonly: true });
      expect(store.listRuns()[0], context).toMatchObject({ status: 'complete', rounds: ROUNDS, resumes: kills.length });
      store.close();
      expect(resumed.history.finalWeightsSha256, context).toBe(whole.finalWeightsSha256);
      expect(
        resumed.history.rounds.map((r) => [r.round, r.accuracy, r.epsilon]),
        context,
      ).toEqual(whole.rounds.map((r) => [r.round, r.accuracy, r.epsilon]));
      // (test/coordinator/resume.test.ts meets a damaged checkpoint every time; here it needs two checkpoints down by the second kill)
      if (truncated) {
        expect(resumed.stderr, context).toContain(`checkpoint ${truncated} is truncated or was changed`);
        expect(resumed.stderr, context).toContain('falling back to the checkpoint before it');
      }
    },
    150_000,
  );
});

describe('SIGINT and SIGTERM', () => {
  it('stop a run cleanly: exit 0 with how to resume, the store says stopped, history.json has the rounds done; --resume finishes it', async () => {
    // (without --json, so the closing line is printed)
    const out = join(root, 'signal');
    const args = ['simulate', '--insecure', '--clients', '2', '--rounds', '40', '--seed', '5', '--log-level', 'error', '--out', out];
    const run = starling(args, 90_000, env);
    while (!/round +2\/40/.test(run.stdout()) && run.child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(0);
    const id = onlyRun(out);
    expect(stopped.stdout).toMatch(
      new RegExp(`run ${id} stopped after round \\d+ of 40; resumable with \`starling simulate --resume ${id} --store ${out}/starling.db\``),
    );
    const store = RunStore.open(join(out, 'starling.db'), { readonly: true });
    const summary = store.listRuns()[0]!;
    store.close();
    expect(summary.status).toBe('stopped');
    const done = history(out, id).rounds.length;
    expect(done).toBe(summary.rounds);
    expect(done).toBeLessThan(40);

    const resumed = await starling(['simulate', '--resume', id, '--out', out, '--json', '--log-level', 'error'], 90_000, env).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(history(out, id).rounds.map((r) => r.round)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }, 120_000);

  it('a second signal exits at once (130); what was committed stays readable and resumable', async () => {
    const out = join(root, 'twice');
    const run = starling(['simulate', '--insecure', '--clients', '2', '--rounds', '40', '--json', '--log-level', 'error', '--out', out], 90_000, env);
    await untilRound(run, 2);
    run.child.kill('SIGINT');
    run.child.kill('SIGINT');
    const ended = await run.done;
    // the first may have finished the stop before the second arrived: then it exited 0
    expect([0, 130], ended.stderr).toContain(ended.code);
    const list = await starling(['runs', 'list', '--json', '--store', join(out, 'starling.db')]).done;
    expect(list.code, list.stderr).toBe(0);
    expect(['stopped', 'interrupted']).toContain((JSON.parse(list.stdout) as { status: string }).status);
  }, 120_000);
});
