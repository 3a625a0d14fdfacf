import { describe, expect, it } from 'vitest';
import { curveChart } from '../../cli/curve-chart.ts';

const series = (mark: string, ys: readonly (number | null)[], from = 1) => ({ mark, points: ys.map((y, i) => ({ x: from + i, y })) });

describe('the curve chart', () => {
  it('draws each curve with its mark at its values and in lower case between them; a null breaks the curve', () => {
    expect(curveChart([series('A', [0, 1, 2]), series('B', [2, null, 0])], { height: 3, width: 5 })).toEqual([
      '2 ┤B  aA',
      '  │ aA',
      '0 ┤A   B',
      '  └─────',
      '   1   3  round',
    ]);
  });

  it("shows '*' where two curves meet, and labels the y axis with the min and max as formatted", () => {
    const lines = curveChart([series('A', [0.5, 0.75]), series('B', [0.5, 0.25])], { height: 5, width: 9, format: (y) => y.toFixed(2) });
    expect(lines[0]).toMatch(/^0\.75 ┤ +a+A$/);
    expect(lines[2]).toMatch(/^ {5}│\*/);
    expect(lines[4]).toMatch(/^0\.25 ┤ +b+B$/);
    expect(lines.at(-1)).toBe('      1       2  round');
  });

  it('spaces a few rounds evenly, fits many into the width, and names the first, a middle and the last round', () => {
    const few = curveChart([series('A', [1, 2, 3])], { width: 60 });
    expect(few.at(-2)).toBe(`  └${'─'.repeat(17)}`);
    const many = curveChart(
      [
        series(
          'A',
          Array.from({ length: 200 }, (_, i) => Math.sin(i / 20)),
        ),
      ],
      { height: 12, width: 60 },
    );
    expect(many).toHaveLength(14);
    expect(many.at(-2)).toMatch(/└─{60}$/);
    for (const line of many) expect(line.length).toBeLessThanOrEqual(many.at(-2)!.length + 'round'.length + 2);
    expect(many.at(-1)!.trim()).toMatch(/^1 +101 +200 {2}round$/);
    expect(many.slice(0, 12).every((line) => /[│┤]/.test(line))).toBe(true);
  });

  it('puts a flat curve on the middle row, labelled once, and says when there is nothing to plot', () => {
    const flat = curveChart([series('A', [0.5, 0.5])], { height: 5, width: 3 });
    expect(flat.slice(0, 5)).toEqual(['    │', '    │', '0.5 ┤AaA', '    │', '    │']);
    expect(curveChart([series('A', [0.5])], { height: 3 }).slice(0, 3)).toEqual(['    │', '0.5 ┤A', '    │']);
    expect(curveChart([series('A', [null, null])])).toEqual(['(no values to plot)']);
    expect(curveChart([])).toEqual(['(no values to plot)']);
  });

  it('is pure: the same series give the same lines', () => {
    const input = [series('A', [0.1, 0.4, 0.3, 0.9]), series('B', [0.2, 0.2, 0.6])];
    expect(curveChart(input)).toEqual(curveChart(input));
  });
});
