/**
 * `npm run bench`: every Starling benchmark, printed as one JSON array on stdout
 * (each object names its `bench`); progress on stderr. Medians of several runs,
 * with spreads and the peers' numbers (bench/round-bench.ts, bench/cnn-bench.ts: each says when and how it was measured) beside them.
 *
 *   npm run bench                 # full: engine epochs (MLP, CNN), rounds for both engines
 *   npm run bench -- --quick      # one run each, for a smoke test
 *   npm run bench -- --scale      # only scale: simulations of 10 … 100,000 clients (bench/scale-bench.ts) and a
 *                                 # coordinator with 10 and 1,000 real WebSocket clients (bench/ws-scale-bench.ts)
 *   npm run bench -- --out DIR    # also write DIR/bench.json, bench.md (a table per benchmark) and the figures
 *                                 # (rounds.svg; scale-rss.svg with --scale): bench/report.ts
 */
import { parseArgs } from 'node:util';
import { cnnBench } from './cnn-bench.ts';
import { cryptoBench } from './crypto-bench.ts';
import { epochBench } from './epoch-bench.ts';
import { roundBench } from './round-bench.ts';
import { secaggWireBench } from './secagg-wire-bench.ts';
import { hostileBench } from './hostile-bench.ts';
import { storeBench } from './store-bench.ts';
import { scaleBench } from './scale-bench.ts';
import { wsScaleBench } from './ws-scale-bench.ts';
import { roundsFigure, writeBenchReport } from './report.ts';
import { scalePlot } from './scale-plot.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, scale: { type: 'boolean', default: false }, out: { type: 'string' } },
});
/** Prints the report; with --out, writes it there too, as JSON, Markdown tables and figures. */
function publish(report: readonly Record<string, unknown>[], title: string, figures: Record<string, string | undefined>): void {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!values.out) return;
  const files = writeBenchReport(values.out, report, `${title}, ${new Date().toISOString().slice(0, 10)}`, figures);
  process.stderr.write(`wrote ${files.join(', ')}\n`);
}
const runs = values.quick ? 1 : 3;
if (values.scale) {
  const scale = await scaleBench(runs);
  // and a deployed coordinator's memory with 10 and 1,000 real WebSocket clients (4 client processes × 250 agents)
  const sockets = await wsScaleBench({ clients: [10, 1000], runs, perHost: 250, rounds: 2 });
  const report = [...scale, ...sockets] as unknown as Record<string, unknown>[];
  publish(report, 'Starling scale benchmark', { 'scale-rss.svg': scalePlot(report as unknown as Parameters<typeof scalePlot>[0]) });
  process.exit(0);
}

const report: unknown[] = [];
report.push(await epochBench(values.quick ? 2 : 7));
report.push(await cnnBench(values.quick ? 1 : 3));
report.push(cryptoBench());
for (const engine of ['simd', 'tfjs'] as const) {
  report.push(...(await roundBench({ clients: [2, 5, 10], rounds: 10, runs, engine })));
}
// what the secure channel adds to a round: the same workload in the clear
report.push(...(await roundBench({ clients: [2, 10], rounds: 10, runs, engine: 'simd', insecure: true })));
// what secure aggregation adds to a whole round (README "Secure aggregation")
report.push(...(await secaggWireBench(values.quick ? [10] : [10, 100], 3)));
// what committing a round (checkpoint + store) costs, beside the secure 10-client SIMD round measured above
const tenClients = report.find((r): r is { bench: 'round'; secure: boolean; engine: string; clients: number; secondsPerRoundMedian: number } => {
  const x = r as { bench?: string; secure?: boolean; engine?: string; clients?: number };
  return x.bench === 'round' && x.secure === true && x.engine === 'simd' && x.clients === 10;
});
report.push(...(await storeBench(values.quick ? 5 : 30, tenClients?.secondsPerRoundMedian)));
// what hostile peers cost an honest run: coordinator RSS and seconds per round under each attack
report.push(...(await hostileBench(values.quick ? 2 : 5)));
publish(report as Record<string, unknown>[], 'Starling benchmarks', { 'rounds.svg': roundsFigure(report as Record<string, unknown>[]) });
