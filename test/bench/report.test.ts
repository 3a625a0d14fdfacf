import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { benchMarkdown, cell, roundsFigure, writeBenchReport } from '../../bench/report.ts';

/** The round bench's own output, as the README's table was made from. */
const rounds = JSON.parse(readFileSync(new URL('../../docs/round-bench.json', import.meta.url), 'utf8')) as Record<string, unknown>[];

describe('the bench report (npm run bench -- --out DIR)', () => {
  it('cells: numbers to 4 significant digits, spreads as median (min–max), pipes escaped, what has no cell left out', () => {
    expect(cell(0.123456)).toBe('0.1235');
    expect(cell(42)).toBe('42');
    expect(cell({ median: 0.0652, min: 0.0621, max: 0.0653, n: 7 })).toBe('0.0652 (0.0621–0.0653)');
    expect(cell([0.061, 0.068])).toBe('0.061 / 0.068');
    expect(cell('a | b')).toBe('a \\| b');
    expect(cell('a\nb \\ c')).toBe('a b \\\\ c');
    expect(cell(null)).toBe('');
    expect(cell({ nested: { deep: 1 } })).toBeUndefined();
  });

  it("bench.md has a table per benchmark with a row per object: the rounds' seconds, their limit and its ratio", () => {
    const md = benchMarkdown([...rounds, { bench: 'crypto', 'whole handshake, both sides, ms': { median: 1.5, min: 1.4, max: 1.9 } }], 'Starling benchmarks');
    expect(md.startsWith('# Starling benchmarks\n\n## round\n\n| secure | clients |')).toBe(true);
    const header = md
      .split('\n')
      .find((l) => l.startsWith('| secure'))!
      .split(' | ');
    for (const column of ['secondsPerRoundMedian', 'timingsMedian.collect', 'cpuSecondsPerRound.coordinator', 'machineLimit.roundSeconds', 'timesMachineLimit'])
      expect(header).toContain(column);
    const roundRows = md
      .split('## crypto')[0]!
      .split('\n')
      .filter((l) => /^\| (true|false) \|/.test(l));
    expect(roundRows).toHaveLength(rounds.length);
    expect(roundRows[0]).toContain(`| ${cell((rounds[0] as { secondsPerRoundMedian: number }).secondsPerRoundMedian)} |`);
    expect(md).toContain('## crypto\n\n| whole handshake, both sides, ms |\n|---|\n| 1.5 (1.4–1.9) |\n');
  });

  it('rounds.svg draws each engine and channel, the limit and both Flower sets; bench.json, bench.md and the figure are written', () => {
    const svg = roundsFigure(rounds)!;
    for (const label of [
      'Starling simd',
      'Starling tfjs (wasm)',
      'Starling simd, in the clear',
      'the machine&#39;s limit (simd)',
      'Flower 1.5, set 1 measured 2026-12-04',
    ])
      expect(svg).toContain(`>${label}</text>`);
    expect(roundsFigure([{ bench: 'epoch' }])).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'starling-bench-report-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const files = writeBenchReport(dir, rounds, 'title', { 'rounds.svg': svg, 'none.svg': undefined });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['bench.json', 'bench.md', 'rounds.svg']);
    expect(JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8'))).toEqual(rounds);
  });
});
