import { svgChart } from '../shared/plot/svg-chart.ts';

/** A scenario's figure: each run's test accuracy by round, the target as a dashed line. */
export function scenarioFigure(name: string, targetAccuracy: number, byRun: Record<string, readonly (number | null)[]>): string {
  const longest = Math.max(1, ...Object.values(byRun).map((c) => c.length));
  const series = Object.entries(byRun).map(([label, c]) => ({ label, points: c.map((y, i) => ({ x: i + 1, y })) }));
  const target = { label: `target ${targetAccuracy}`, dashed: true, points: [1, longest].map((x) => ({ x, y: targetAccuracy })) };
  return svgChart([{ title: name, xLabel: 'round', yLabel: 'test accuracy', series: [...series, target] }], `${name}: test accuracy by round`);
}
