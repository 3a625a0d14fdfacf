/**
 * Draws the README's plot of peak RSS against clients from `npm run bench -- --scale`'s JSON:
 * Starling's simulation (plain and secure, the in-memory transport above 100 clients) beside
 * Flower's memory for the same clients training at once (one ≈ 280 MiB process each). Log–log
 * axes; plain SVG, no dependencies.
 *
 *   npm run bench -- --scale > /tmp/scale.json
 *   npx tsx bench/scale-plot.ts /tmp/scale.json docs/scale-rss.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Row {
  readonly bench: string;
  readonly clients: number;
  readonly transport: string;
  readonly secure: boolean;
  readonly peakRssMiB: number;
  readonly clientsPerRound: number;
  readonly peer: { readonly flowerMiBForTheseClientsAtOnce: number };
}

const W = 640;
const H = 400;
const M = { left: 70, right: 20, top: 30, bottom: 50 };

/** The SVG of `rows` (scale rows of one bench run). */
export function scalePlot(rows: readonly Row[]): string {
  const scale = rows.filter((r) => r.bench === 'scale');
  // one Starling point per population: the transport auto picks (WebSockets up to 100 clients, memory above)
  const auto = (secure: boolean) =>
    scale.filter((r) => r.secure === secure && (r.clients <= 100 ? r.transport === 'ws' : r.transport === 'memory')).sort((a, b) => a.clients - b.clients);
  const plain = auto(false);
  const secure = auto(true);
  const flower = plain.map((r) => ({ clients: r.clients, mib: r.peer.flowerMiBForTheseClientsAtOnce }));
  const xs = scale.map((r) => r.clients);
  const ys = [...scale.map((r) => r.peakRssMiB), ...flower.map((f) => f.mib)];
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))];
  const [y0, y1] = [Math.floor(Math.log10(Math.min(...ys))), Math.ceil(Math.log10(Math.max(...ys)))];
  const px = (c: number) => M.left + ((Math.log10(c) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (mib: number) => H - M.bottom - ((Math.log10(mib) - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const line = (points: { x: number; y: number }[], color: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}"/>` +
    points.map((p) => `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="3" fill="${color}"/>`).join('');
  const parts: string[] = [];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${label(10 ** e)} MiB</text>`);
  }
  for (const c of [...new Set(xs)]) {
    const x = px(c);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${H - M.bottom + 18}" text-anchor="middle">${label(c)}</text>`);
  }
  parts.push(`<text x="${(W + M.left) / 2}" y="${H - 10}" text-anchor="middle">clients in the simulation</text>`);
  parts.push(
    line(
      flower.map((f) => ({ x: px(f.clients), y: py(f.mib) })),
      '#c0392b',
      '6 4',
    ),
  );
  parts.push(
    line(
      plain.map((r) => ({ x: px(r.clients), y: py(r.peakRssMiB) })),
      '#2471a3',
    ),
  );
  parts.push(
    line(
      secure.map((r) => ({ x: px(r.clients), y: py(r.peakRssMiB) })),
      '#27ae60',
    ),
  );
  const legend = [
    ['#2471a3', 'Starling simulate, peak RSS (whole process)'],
    ['#27ae60', 'Starling simulate --secagg'],
    ['#c0392b', "Flower: 280 MiB per client process × a round's clients (a lower bound)"],
  ];
  legend.forEach(([color, text], i) => {
    parts.push(`<rect x="${M.left + 10}" y="${M.top + 6 + i * 18}" width="14" height="4" fill="${color}"/>`);
    parts.push(`<text x="${M.left + 30}" y="${M.top + 12 + i * 18}">${text}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12" role="img">
<title>Peak RSS of a Starling simulation against its number of clients, plain and secure, beside Flower's memory</title>
<rect width="${W}" height="${H}" fill="white"/>
${parts.join('\n')}
</svg>
`;
}

function label(v: number): string {
  return v >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: npx tsx bench/scale-plot.ts <scale.json> <out.svg>');
  writeFileSync(output, scalePlot(JSON.parse(readFileSync(input, 'utf8')) as Row[]));
}
