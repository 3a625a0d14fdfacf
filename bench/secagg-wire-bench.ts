/**
 * What secure aggregation adds to a whole round over the real protocol (issue 7): the same
 * simulated run (MNIST MLP, m = 101,770, secure channel, no central evaluation) with and
 * without --secagg, for n = 10 and 100 clients. Reports, per round, the bytes on the wire
 * (in + out at the coordinator) and the seconds, as the medians over the rounds.
 *
 *   npx tsx bench/secagg-wire-bench.ts [--clients 10,100] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { resolveRunConfig } from '../shared/config.ts';
import { silentLogger } from '../shared/log.ts';
import { simulate } from '../simulations/simulate.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function secaggWireBench(sizes: number[], rounds: number) {
  const rows: Record<string, unknown>[] = [];
  for (const clients of sizes) {
    const measured: Record<string, { bytes: number; seconds: number }> = {};
    for (const secagg of [false, true]) {
      const config = resolveRunConfig('bench', { clients, rounds, evaluate: 'none', secagg, port: 0, out: '/tmp/starling-bench' });
      const run = await simulate(config, { log: silentLogger, writeHistory: false });
      measured[secagg ? 'secagg' : 'plain'] = {
        bytes: median(run.history.rounds.map((r) => r.bytesIn + r.bytesOut)),
        seconds: median(run.history.rounds.map((r) => r.seconds)),
      };
      process.stderr.write(`n = ${clients} ${secagg ? 'secagg' : 'plain '}: ${JSON.stringify(measured[secagg ? 'secagg' : 'plain'])}\n`);
    }
    const plain = measured.plain!;
    const secure = measured.secagg!;
    rows.push({
      bench: 'secagg-wire',
      clients,
      rounds,
      plainBytesPerRound: plain.bytes,
      secaggBytesPerRound: secure.bytes,
      addedBytesPerRound: secure.bytes - plain.bytes,
      plainSecondsPerRound: Math.round(plain.seconds * 1000) / 1000,
      secaggSecondsPerRound: Math.round(secure.seconds * 1000) / 1000,
      addedSecondsPerRound: Math.round((secure.seconds - plain.seconds) * 1000) / 1000,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '10,100' }, rounds: { type: 'string', default: '3' } } });
  const sizes = values.clients.split(',').map(Number);
  process.stdout.write(`${JSON.stringify(await secaggWireBench(sizes, Number(values.rounds)), null, 2)}\n`);
}
