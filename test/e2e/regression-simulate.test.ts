import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runDirectories } from '../../coordinator/history.ts';
import { mulberry32 } from '../../shared/rng.ts';
import { jsonRounds, starling } from './cli-process.ts';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-regression-sim-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A house-price table: price = 50·rooms + 2·area − 10·age + 100 + noise, 300 rows. */
function houses(dir: string): string {
  const rng = mulberry32(3);
  const lines = ['rooms,area,age,price'];
  for (let i = 0; i < 300; i++) {
    const rooms = 1 + Math.floor(rng() * 5);
    const area = 30 + rng() * 120;
    const age = rng() * 50;
    lines.push(`${rooms},${area.toFixed(1)},${age.toFixed(1)},${(50 * rooms + 2 * area - 10 * age + 100 + (rng() - 0.5) * 10).toFixed(2)}`);
  }
  const path = join(dir, 'house.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

interface JsonRound {
  round: number;
  accuracy: number | null;
  loss: number;
  mae: number;
  r2: number;
  trainMae: number;
  federated: { metrics: Record<string, number> } | null;
}

describe('simulate --task regression on a CSV file', () => {
  it('trains an MLP with MSE across 3 clients: loss and MAE fall, R² rises, and the same seed gives the same model bytes', async () => {
    const dir = tempDir();
    const data = houses(dir);
    const out = join(dir, 'runs');
    const args = ['simulate', '--data', data, '--label', 'price', '--task', 'regression', '--clients', '3', '--normalize', 'zscore', '--rounds', '6'];
    const run = async () => {
      const r = await starling([...args, '--json', '--out', out, '--local-validation', '0.2']).done;
      expect(r.code, r.stderr).toBe(0);
      const rounds = jsonRounds<JsonRound & { seconds: number }>(r.stdout).map(({ seconds: _, ...round }) => round);
      return { rounds, weights: readFileSync(join(out, runDirectories(out).at(-1)!, 'final-weights.f32')) };
    };
    const first = await run();
    const { rounds } = first;
    expect(rounds).toHaveLength(6);
    for (const r of rounds) expect(r.accuracy).toBeNull();
    expect(rounds.at(-1)!.loss).toBeLessThan(rounds[0]!.loss * 0.5);
    expect(rounds.at(-1)!.mae).toBeLessThan(rounds[0]!.mae * 0.7);
    expect(rounds.at(-1)!.r2).toBeGreaterThan(rounds[0]!.r2);
    expect(rounds.at(-1)!.trainMae).toBeGreaterThan(0);
    // federated evaluation: each client's held-out rows, scored as a regression
    const fed = rounds.at(-1)!.federated!.metrics;
    expect(Object.keys(fed).sort()).toEqual(['mae', 'mse', 'r2', 'rmse']);
    expect(fed.rmse).toBeCloseTo(Math.sqrt(fed.mse!), 0);
    // the same seed gives the same rounds and the same model bytes (3-128-1: 641 parameters)
    const second = await run();
    expect(second.rounds).toEqual(rounds);
    expect(first.weights.length).toBe(641 * 4);
    expect(second.weights.equals(first.weights)).toBe(true);
    // a person's round line reads mae and r2, not accuracy
    const text = await starling([...args.slice(0, -1), '2', '--out', out]).done;
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('data: 3 features, a real-valued target; train 240, test 60 (seeded hold-out)');
    expect(text.stdout).toMatch(/^round 1\/2 {2}mae \d+\.\d{4} {2}r2 -?\d\.\d{4} {2}loss /m);
    expect(text.stdout).not.toContain('accuracy');
  }, 60_000);

  it('data inspect cuts a regression run as simulate would: a seeded hold-out, each client with its size and mean target', async () => {
    const dir = tempDir();
    const data = houses(dir);
    const r = await starling(['data', 'inspect', '--data', data, '--label', 'price', '--task', 'regression', '--clients', '3', '--partition', 'quantity:1'])
      .done;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/3 features, a real-valued target$/);
    expect(lines[1]).toBe('splits: train 240, test 60');
    const clients = lines.slice(3).map((l) => l.trim().split(/ +/));
    expect(clients).toHaveLength(3);
    expect(clients.reduce((a, c) => a + Number(c[2]), 0)).toBe(240);
    // prices here average about 180: each client's mean target near it
    for (const c of clients) expect(Math.abs(Number(c[3]) - 180)).toBeLessThan(80);
  });

  it('refuses dirichlet, classes and mnist for regression, and simd as its engine, before anything runs', async () => {
    const dir = tempDir();
    const data = houses(dir);
    const base = ['simulate', '--data', data, '--label', 'price', '--task', 'regression', '--out', join(dir, 'runs')];
    const dirichlet = await starling([...base, '--partition', 'dirichlet:0.5']).done;
    expect(dirichlet.code).toBe(1);
    expect(dirichlet.stderr).toContain('partition: dirichlet deals rows out by class; a regression run has none');
    const classes = await starling([...base, '--classes', 'cheap,dear']).done;
    expect(classes.stderr).toContain('classes: a regression target is a number, not one of a list of classes');
    const mnist = await starling(['simulate', '--task', 'regression', '--out', join(dir, 'runs')]).done;
    expect(mnist.stderr).toContain("task: regression reads its targets from a CSV file's label column, not mnist data");
    const simd = await starling([...base, '--engine', 'simd', '--rounds', '1']).done;
    expect(simd.code).toBe(1);
    expect(simd.stderr).toContain('--engine simd cannot run this model: a regression model (an mlp with loss mse) runs on the tfjs engine only');
  }, 60_000);
});
