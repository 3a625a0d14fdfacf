import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StarlingError } from '../../shared/errors.ts';
import { starling } from '../e2e/cli-process.ts';
import { roundRecord, runStart, runs, tempDir, writeAlpha, writeRun } from './run-store-fixture.ts';

const dir = tempDir('starling-runs-compare-');
const store = join(dir, 'starling.db');
// r-alpha: 3 rounds, complete; r-beta: 5 of 10 rounds (no accuracy in round 3), then its process died
writeAlpha(store);
writeRun(
  store,
  runStart('r-beta', { strategy: 'fedprox', model: 'cnn', roundsPlanned: 10 }),
  [0.4, 0.6, null, 0.8, 0.75].map((a, i) => ({ record: roundRecord(i + 1, a, { loss: i === 4 ? 0.2 : 0.6 }) })),
  'interrupted',
);

/** What `runs compare` rejects with: its StarlingError's code and message. */
async function refusal(args: string[]): Promise<{ code: string; message: string }> {
  const err = await runs(['compare', ...args]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StarlingError);
  return { code: (err as StarlingError).code, message: (err as StarlingError).message };
}

describe('starling runs compare', () => {
  it('names each run under a label, tables the metric by round (n/a where a run has none), draws both curves and gives each best', async () => {
    const { stdout } = await runs(['compare', 'r-al', 'r-beta', '--store', store]);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^ +run +status +rounds +data +model +strategy$/);
    expect(lines[1]).toMatch(/^A +r-alpha +complete +3\/3 +mnist +mlp +fedavg$/);
    expect(lines[2]).toMatch(/^B +r-beta +interrupted +5\/10 +mnist +cnn +fedprox$/);
    expect(stdout).toContain('accuracy by round:\n');
    const table = lines.slice(lines.indexOf('accuracy by round:') + 1, lines.indexOf('accuracy by round:') + 7).map((l) => l.split(/ +/));
    expect(table).toEqual([
      ['round', 'A', 'B'],
      ['1', '0.5000', '0.4000'],
      ['2', '0.7000', '0.6000'],
      ['3', '0.9000', 'n/a'],
      ['4', 'n/a', '0.8000'],
      ['5', 'n/a', '0.7500'],
    ]);
    const chart = lines.filter((l) => /[│┤]/.test(l));
    expect(chart).toHaveLength(14);
    expect(chart[0]).toMatch(/^0\.9000 ┤/);
    expect(chart.at(-1)).toMatch(/^0\.4000 ┤B/);
    expect(chart.join('\n')).toContain('A');
    expect(lines.find((l) => l.includes('└'))).toBeDefined();
    expect(lines.find((l) => /^ +1 +3 +5 {2}round$/.test(l))).toBeDefined();
    expect(lines.filter(Boolean).at(-1)).toBe('best accuracy: A 0.9000 (round 3), B 0.8000 (round 4)');
  });

  it('takes the lowest value as the best of a loss-like metric', async () => {
    const { stdout } = await runs(['compare', 'r-alpha', 'r-beta', '--store', store, '--metric', 'loss']);
    expect(stdout).toContain('loss by round:\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('best loss (lowest): A 0.1000 (round 3), B 0.2000 (round 5)');
  });

  it('gives what ε each run spent (its last value), and says when no run has a value of the metric', async () => {
    const { stdout } = await runs(['compare', 'r-alpha', 'r-beta', '--store', store, '--metric', 'epsilon']);
    expect(stdout).toContain('(no values to plot)\n');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('ε spent: A n/a, B n/a');
  });

  it('--json: the runs with their labels and summaries, the metric, and every round with a value (or null) per label', async () => {
    const { stdout } = await runs(['compare', 'r-alpha', 'r-beta', '--store', store, '--json']);
    expect(stdout.endsWith('}\n')).toBe(true);
    const out = JSON.parse(stdout);
    expect(out.metric).toBe('accuracy');
    expect(out.runs).toHaveLength(2);
    expect(out.runs[0]).toMatchObject({ label: 'A', id: 'r-alpha', status: 'complete', rounds: 3, strategy: 'fedavg', best: { round: 3, value: 0.9 } });
    expect(out.runs[1]).toMatchObject({
      label: 'B',
      id: 'r-beta',
      status: 'interrupted',
      rounds: 5,
      roundsPlanned: 10,
      model: 'cnn',
      best: { round: 4, value: 0.8 },
    });
    expect(out.rounds).toEqual([
      { round: 1, values: { A: 0.5, B: 0.4 } },
      { round: 2, values: { A: 0.7, B: 0.6 } },
      { round: 3, values: { A: 0.9, B: null } },
      { round: 4, values: { A: null, B: 0.8 } },
      { round: 5, values: { A: null, B: 0.75 } },
    ]);
  });

  it('refuses one run, an unknown id, an ambiguous prefix, the same run twice, a missing store and an unknown metric', async () => {
    expect(await refusal(['r-alpha', '--store', store])).toEqual({ code: 'E_CONFIG', message: expect.stringMatching(/needs two or more runs, got 1/) });
    expect(await refusal(['r-alpha', 'nope', '--store', store])).toEqual({
      code: 'E_CONFIG',
      message: expect.stringMatching(/^no run "nope" in .*starling\.db/),
    });
    expect(await refusal(['r-alpha', 'r-', '--store', store])).toEqual({
      code: 'E_CONFIG',
      message: expect.stringMatching(/"r-" is the prefix of 2 runs in .*\(r-alpha, r-beta\)/),
    });
    expect(await refusal(['r-alpha', 'r-alp', '--store', store])).toEqual({ code: 'E_CONFIG', message: expect.stringMatching(/name the same run, r-alpha/) });
    expect(await refusal(['r-alpha', 'r-beta', '--store', join(dir, 'absent.db')])).toEqual({
      code: 'E_STORE',
      message: expect.stringMatching(/no run store at .*absent\.db/),
    });
    await expect(runs(['compare', 'r-alpha', 'r-beta', '--store', store, '--metric', 'f1'])).rejects.toThrow(/argument 'f1' is invalid/);
  });

  it('exits 1 from the command line, naming the error and its code', async () => {
    const r = await starling(['runs', 'compare', 'r-alpha', '--store', store]).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/runs compare needs two or more runs, got 1/);
    expect(r.stderr).toMatch(/E_CONFIG/);
  });
});
