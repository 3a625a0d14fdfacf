/**
 * Draws the README's plot of peak RSS against clients from `npm run bench -- --scale`'s JSON:
 * Starling's simulation (plain and secure, the in-memory transport above 100 clients) beside
 * Flower's memory for the same clients training at once (one ≈ 280 MiB process each). Log–log
 * axes; plain SVG (shared/plot/svg-chart.ts).
 *
 *   npm run bench -- --scale > /tmp/scale.json
 *   npx tsx bench/scale-plot.ts /tmp/scale.json docs/scale-rss.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { svgChart } from '../shared/plot/svg-chart.ts';

interface Row {
  readonly bench: string;
  readonly clients: number;
  readonly transport: string;
  readonly secure: boolean;
  readonly peakRssMiB: number;
  readonly clientsPerRound: number;
  readonly peer: { readonly flowerMiBForTheseClientsAtOnce: number };
}

/** The SVG of `rows` (scale rows of one bench run). */
export function scalePlot(rows: readonly Row[]): string {
  const scale = rows.filter((r) => r.bench === 'scale');
  // one Starling point per population: the transport auto picks (WebSockets up to 100 clients, memory above)
  const auto = (secure: boolean) =>
    scale.filter((r) => r.secure === secure && (r.clients <= 100 ? r.transport === 'ws' : r.transport === 'memory')).sort((a, b) => a.clients - b.clients);
  const plain = auto(false);
  const points = (rs: readonly Row[], y: (r: Row) => number) => rs.map((r) => ({ x: r.clients, y: y(r) }));
  return svgChart(
    [
      {
        title: 'peak RSS against clients',
        xLabel: 'clients in the simulation',
        yLabel: 'MiB',
        logX: true,
        logY: true,
        series: [
          { label: 'Starling simulate, peak RSS (whole process)', points: points(plain, (r) => r.peakRssMiB) },
          { label: 'Starling simulate --secagg', points: points(auto(true), (r) => r.peakRssMiB) },
          {
            label: "Flower: 280 MiB per client process × a round's clients (a lower bound)",
            points: points(plain, (r) => r.peer.flowerMiBForTheseClientsAtOnce),
            dashed: true,
          },
        ],
      },
    ],
    "Peak RSS of a Starling simulation against its number of clients, plain and secure, beside Flower's memory",
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: npx tsx bench/scale-plot.ts <scale.json> <out.svg>');
  writeFileSync(output, scalePlot(JSON.parse(readFileSync(input, 'utf8')) as Row[]));
}
