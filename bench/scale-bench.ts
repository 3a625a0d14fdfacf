/**
 * How a simulation scales with its population: for 10 … 100,000 MNIST clients, plain and under
 * secure aggregation, the peak RSS of the whole simulation (`starling simulate` is one process:
 * coordinator, virtual clients and training worker threads), the time from starting it to the
 * end of round 2 (start-up included: loading the data, the workers, every client's handshake
 * over WebSockets), seconds per round and bytes per round, each the median of several runs with
 * the spread (min–max).
 *
 * Up to 1,000 clients each holds an IID shard of the 8,000 training digits (8 digits each at
 * 1,000); above, there are not enough digits to cut, so each client draws 32 digits of its own
 * (partition sample:32, rows repeat across clients). C keeps a round at ≤ 100 clients. 10 and
 * 100 clients run over both transports (auto picks WebSockets up to 100), more over memory.
 *
 *   npx tsx bench/scale-bench.ts            # 3 runs each
 *   npx tsx bench/scale-bench.ts --quick    # 1 run each
 *   npm run bench -- --scale                # the same, alone (bench/index.ts)
 *
 * Prints a JSON array on stdout; progress on stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunHistory } from '../coordinator/history.ts';
import { spread } from './stats.ts';

/**
 * Flower 1.5 (PyTorch 1.13): each simulated or deployed client is its own Python process of
 * ≈ 280 MiB resident (measured on this machine class), so memory grows by that much per client
 * running at once — 100 clients would need ≈ 27 GiB, more than this 24 GiB machine has.
 */
export const FLOWER_CLIENT_PROCESS_BYTES = 280 * 2 ** 20;

export interface ScaleCase {
  readonly clients: number;
  readonly fraction: number;
  readonly partition: string;
  readonly transport: 'ws' | 'memory';
  readonly secure: boolean;
}

export const SCALE_CASES: readonly ScaleCase[] = [false, true].flatMap((secure) => [
  { clients: 10, fraction: 1, partition: 'iid', transport: 'ws', secure },
  { clients: 10, fraction: 1, partition: 'iid', transport: 'memory', secure },
  { clients: 100, fraction: 1, partition: 'iid', transport: 'ws', secure },
  { clients: 100, fraction: 1, partition: 'iid', transport: 'memory', secure },
  { clients: 1_000, fraction: 0.1, partition: 'iid', transport: 'memory', secure },
  { clients: 10_000, fraction: 0.01, partition: 'sample:32', transport: 'memory', secure },
  { clients: 100_000, fraction: 0.001, partition: 'sample:32', transport: 'memory', secure },
]);

interface Run {
  readonly peakRssBytes: number;
  readonly secondsToRound2: number;
  readonly secondsPerRound: number[];
  readonly bytesPerRound: number;
}

/** One `starling simulate` process of `c` for 2 rounds: what its history says, and when round 2's line appeared. */
async function runOnce(c: ScaleCase): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), 'starling-scale-'));
  try {
    const args = ['bin/starling.mjs', 'simulate', '--clients', String(c.clients), '--fraction', String(c.fraction), '--rounds', '2'];
    args.push('--partition', c.partition, '--transport', c.transport, '--json', '--out', out, '--store', join(out, 'runs.db'), '--seed', '1');
    if (c.secure) args.push('--secagg');
    const started = performance.now();
    let round2 = Number.NaN;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('{"round":2,')) round2 = (performance.now() - started) / 1000;
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`simulate ${JSON.stringify(c)} exited with ${code}: ${stderr.slice(-2000)}`);
    const dir = readdirSync(out, { withFileTypes: true }).find((e) => e.isDirectory())!;
    const history = JSON.parse(readFileSync(join(out, dir.name, 'history.json'), 'utf8')) as RunHistory;
    return {
      peakRssBytes: history.peakRssBytes,
      secondsToRound2: round2,
      secondsPerRound: history.rounds.map((r) => r.seconds),
      bytesPerRound: history.rounds[1]!.bytesIn + history.rounds[1]!.bytesOut,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

export async function scaleBench(runs = 3, cases: readonly ScaleCase[] = SCALE_CASES): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    const done: Run[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`scale: ${c.clients} clients, ${c.transport}${c.secure ? ', secagg' : ''}, run ${i + 1}/${runs}\n`);
      done.push(await runOnce(c));
    }
    const rss = spread(done.map((r) => r.peakRssBytes));
    const toRound2 = spread(done.map((r) => r.secondsToRound2));
    // a round's seconds: round 2 (round 1 also warms the engines up)
    const perRound = spread(done.map((r) => r.secondsPerRound[1]!));
    rows.push({
      bench: 'scale',
      ...c,
      clientsPerRound: Math.max(1, Math.round(c.clients * c.fraction)),
      runs,
      peakRssMiB: mib(rss.median),
      peakRssMiBSpread: [rss.min, rss.max].map(mib),
      secondsToRound2: round3(toRound2.median),
      secondsToRound2Spread: [toRound2.min, toRound2.max].map(round3),
      secondsPerRound: round3(perRound.median),
      secondsPerRoundSpread: [perRound.min, perRound.max].map(round3),
      bytesPerRound: done[0]!.bytesPerRound,
      peer: {
        flowerClientProcessMiB: mib(FLOWER_CLIENT_PROCESS_BYTES),
        flowerMiBForTheseClientsAtOnce: mib(FLOWER_CLIENT_PROCESS_BYTES * Math.max(1, Math.round(c.clients * c.fraction))),
      },
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  process.stdout.write(`${JSON.stringify(await scaleBench(values.quick ? 1 : 3), null, 2)}\n`);
}
