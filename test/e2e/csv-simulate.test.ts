import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runDirectories } from '../../coordinator/history.ts';
import { jsonRounds, starling } from './cli-process.ts';

const IRIS = new URL('../../examples/data/iris.csv', import.meta.url).pathname;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'starling-csv-sim-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('simulate and data inspect on a CSV file with named labels (iris)', () => {
  it('inspect shows what cleaning drops, line by line, then the splits and each client by class name', async () => {
    const r = await starling(['data', 'inspect', '--data', IRIS, '--label', 'species', '--partition', 'dirichlet:0.5', '--clients', '3', '--clean']).done;
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    // iris holds three rows that repeat earlier ones: each is named with the line it repeats
    expect(lines[0]).toMatch(/^cleaning csv:.*iris\.csv: dropped 3 of 150 rows: 3 duplicate \(lines 36, 39, 144\)$/);
    expect(lines.slice(1, 4).map((l) => l.trim().replace(/ +/g, ' '))).toEqual([
      'line 36 duplicate same as line 11',
      'line 39 duplicate same as line 11',
      'line 144 duplicate same as line 103',
    ]);
    expect(lines[4]).toMatch(/4 features, 3 classes \(setosa, versicolor, virginica\)$/);
    // a stratified fifth of the 147 kept rows is the test split
    expect(lines[5]).toBe('splits: train 117, test 30');
    expect(lines[7]).toMatch(/rows +setosa +versicolor +virginica$/);
    const sizes = lines.slice(8).map((l) => Number(l.trim().split(/ +/)[2]));
    expect(sizes).toHaveLength(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(117);
  });

  it('simulate learns iris from its CSV with the default MLP sized to it, and the same seed gives the same run', async () => {
    const out = tempDir();
    const args = ['simulate', '--data', IRIS, '--label', 'species', '--partition', 'dirichlet:0.5', '--clients', '3', '--normalize', 'zscore'];
    const run = async () => {
      const r = await starling([...args, '--rounds', '12', '--json', '--out', out]).done;
      expect(r.code, r.stderr).toBe(0);
      const rounds = jsonRounds<{ round: number; accuracy: number; loss: number; seconds: number }>(r.stdout).map(({ seconds: _, ...round }) => round);
      return { rounds, weights: readFileSync(join(out, runDirectories(out).at(-1)!, 'final-weights.f32')) };
    };
    const first = await run();
    const { rounds } = first;
    expect(rounds).toHaveLength(12);
    expect(rounds.at(-1)!.loss).toBeLessThan(rounds[0]!.loss * 0.7);
    expect(rounds.at(-1)!.accuracy).toBeGreaterThanOrEqual(0.9);
    // the same seed gives the same rounds and the same model bytes (4-128-3: 1,027 parameters)
    const second = await run();
    expect(second.rounds).toEqual(rounds);
    expect(first.weights.length).toBe(1027 * 4);
    expect(second.weights.equals(first.weights)).toBe(true);
    const text = await starling([...args, '--rounds', '1', '--out', out]).done;
    expect(text.stdout).toMatch(/^simulating 3 clients × 1 rounds on .*iris\.csv \(mlp sized to the data, dirichlet:0\.5, seed 42\)\n/);
  });

  it('a test file with a label outside the classes is a precise error, or a reported drop with --clean', async () => {
    const dir = tempDir();
    const test = join(dir, 'test.csv');
    const rows = readFileSync(IRIS, 'utf8').trim().split('\n');
    writeFileSync(test, [rows[0], rows[1], rows[51], '5.0,3.0,1.5,0.2,setosa-x', rows[101]].join('\n'));
    const base = ['data', 'inspect', '--data', IRIS, '--label', 'species', '--test-data', test, '--clients', '2'];
    const strict = await starling(base).done;
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`${test}:4: label "setosa-x" is not one of the classes (setosa, versicolor, virginica)`);
    const cleaned = await starling([...base, '--clean']).done;
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(`cleaning csv:${test}: dropped 1 of 4 rows: 1 badLabel (line 4)`);
    expect(cleaned.stdout).toMatch(/line 4 +badLabel +label "setosa-x" is not one of the classes/);
    expect(cleaned.stdout).toContain(`splits: train 147, test 3 (csv:${test})`);
    const declared = await starling([...base, '--classes', 'virginica,setosa', '--clean']).done;
    // declared classes rule: a versicolor row is now a bad label everywhere
    expect(declared.stdout).toMatch(/2 classes \(virginica, setosa\)/);
    expect(declared.stdout).toMatch(/badLabel \(lines 52, 53, 54, 55, 56, …\)/);
  });

  it('bad settings are refused before anything runs', async () => {
    const noLabel = await starling(['simulate', '--data', IRIS]).done;
    expect(noLabel.code).toBe(1);
    expect(noLabel.stderr).toMatch(/label: a CSV file needs the name of its label column/);
    const wrongLabel = await starling(['data', 'inspect', '--data', IRIS, '--label', 'kind']).done;
    expect(wrongLabel.stderr).toMatch(/iris\.csv:1: no column named "kind" in the header \(sepal_length, sepal_width, petal_length, petal_width, species\)/);
    // a deployed coordinator's classes must be declared, as its clients' are: one order everywhere
    const undeclared = await starling(['coordinator', '--data', IRIS, '--label', 'species', '--insecure', '--port', '0']).done;
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toMatch(/classes: the labels of .*iris\.csv are names \(setosa, versicolor, virginica\): declare their order/);
    const missing = await starling(['data', 'inspect', '--data', 'nowhere.csv', '--label', 'y']).done;
    expect(missing.stderr).toMatch(/data file nowhere\.csv does not exist/);
  });
});
