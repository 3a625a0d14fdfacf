import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { svgChart } from '../../shared/plot/svg-chart.ts';
import { StarlingError } from '../../shared/errors.ts';
import { roundRecord, runStart, runs, tempDir, writeAlpha, writeRun } from './run-store-fixture.ts';

const dir = tempDir('starling-runs-plot-');
const store = join(dir, 'starling.db');
writeAlpha(store);
writeRun(
  store,
  runStart('r-beta', { strategy: 'fedprox' }),
  [0.4, null, 0.8].map((a, i) => ({ record: roundRecord(i + 1, a, { loss: 0.6 }) })),
  'complete',
);

/** The polylines' point lists, in document order. */
const polylines = (svg: string) => [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));

describe('starling runs plot', () => {
  it('writes an SVG with a panel per metric and a line per run, broken where a round has no value, the same bytes each time', async () => {
    const out = join(dir, 'curves.svg');
    const { stderr } = await runs(['plot', 'r-al', 'r-beta', '--store', store, '--out', out]);
    expect(stderr).toBe(`wrote ${out}: 2 runs, accuracy and loss by round\n`);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<title>accuracy and loss by round of r-alpha, r-beta</title>');
    expect(svg).toContain('central test accuracy</text>');
    expect(svg).toContain('central test loss</text>');
    expect(svg).toContain('r-alpha (fedavg)</text>');
    expect(svg).toContain('r-beta (fedprox)</text>');
    // accuracy: r-alpha's 3 points in one line; r-beta's round 2 has none, so two single points and no line; loss: both whole
    expect(polylines(svg).map((p) => p.length)).toEqual([3, 3, 3]);
    expect((svg.match(/<circle /g) ?? []).length).toBe(3 + 2 + 3 + 3);
    await runs(['plot', 'r-al', 'r-beta', '--store', store, '--out', join(dir, 'again.svg')]);
    expect(readFileSync(join(dir, 'again.svg'), 'utf8')).toBe(svg);
  });

  it('draws the metrics asked for; refuses a file that is not .svg and an unknown run, writing nothing', async () => {
    const out = join(dir, 'seconds.svg');
    await runs(['plot', 'r-alpha', '--store', store, '--out', out, '--metric', 'trainLoss', 'seconds']);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toContain('clients&#39; training loss</text>');
    // rounds are whole: no tick between them
    expect(svg).not.toContain('text-anchor="middle">1.5</text>');
    expect(svg).toContain('seconds per round</text>');
    expect(svg).not.toContain('central test accuracy');
    const refused = async (args: string[]) => {
      const err = await runs(args).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StarlingError);
      return (err as Error).message;
    };
    expect(await refused(['plot', 'r-alpha', '--store', store, '--out', join(dir, 'x.png')])).toBe(
      `runs plot writes SVG: --out must end in .svg, got ${JSON.stringify(join(dir, 'x.png'))}`,
    );
    expect(await refused(['plot', 'r-gamma', '--store', store, '--out', join(dir, 'y.svg')])).toMatch(/^no run "r-gamma" in /);
    expect(existsSync(join(dir, 'x.png')) || existsSync(join(dir, 'y.svg'))).toBe(false);
  });

  it('svgChart: log axes get decades, text is escaped, a value ≤ 0 on a log axis is refused', () => {
    const svg = svgChart(
      [
        {
          title: 'a < b & "c"',
          xLabel: 'clients',
          yLabel: 'MiB',
          logX: true,
          logY: true,
          series: [
            {
              label: 'x',
              points: [
                { x: 10, y: 200 },
                { x: 10_000, y: 350 },
              ],
            },
          ],
        },
      ],
      't',
    );
    expect(svg).toContain('a &#60; b &#38; &#34;c&#34;');
    expect(svgChart([{ title: 'bell\u0007', xLabel: 'x', yLabel: 'y', series: [] }], 't')).toContain('>bell </text>');
    // a long series has no dots, but a value alone between gaps still shows
    const points = Array.from({ length: 50 }, (_, i) => ({ x: i, y: i === 20 ? 1 : i === 19 || i === 21 ? null : 2 }));
    const long = svgChart([{ title: 'p', xLabel: 'x', yLabel: 'y', series: [{ label: 's', points }] }], 't');
    expect((long.match(/<circle /g) ?? []).length).toBe(1);
    expect((long.match(/<polyline /g) ?? []).length).toBe(2);
    for (const tick of ['>10<', '>100<', '>1k<', '>10k<']) expect(svg).toContain(tick);
    expect(() => svgChart([{ title: 'p', xLabel: 'x', yLabel: 'y', logY: true, series: [{ label: 's', points: [{ x: 1, y: 0 }] }] }], 't')).toThrow(
      /"p" has a value ≤ 0 on a log axis/,
    );
  });
});
