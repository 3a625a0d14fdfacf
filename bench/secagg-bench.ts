/**
 * What secure aggregation costs per round: one client's work in each phase and the server's,
 * for m = 101,770 words (the MNIST MLP's parameters) and n = 10, 100 and 1,000 clients with
 * the coordinator's defaults (coordinator/secagg-round.ts: all pairs up to 64 clients, above
 * that SecAgg+ with k = 2⌈log₂ n⌉ neighbours; t = ⌈2n/3⌉, or ⌈2(k+1)/3⌉ of a neighbourhood),
 * plus n = 100 with all pairs for comparison (n = 1,000 with all pairs is left out: 999 masks
 * per client and ~10⁶ in all, minutes of ChaCha20). Each size runs without dropouts and with
 * ⌊n/10⌋ clients dropping after sharing keys (the expensive case for the server: each dropped
 * client's mask key is reconstructed and its pairwise masks regenerated against its surviving
 * neighbours).
 *
 * Every phase runs on this thread, one client after another, and is timed in CPU time
 * (process.cpuUsage: no worker runs meanwhile), so other processes on the machine barely move
 * the numbers. Per client: the mean over the clients that ran the phase. A second server
 * receives the same messages and unmasks on the mask workers: serverFinishOnWorkersMs is its
 * wall time (what the workers shorten, and what other processes on the machine can lengthen).
 * One run each.
 *
 *   npx tsx bench/secagg-bench.ts              # the table as JSON rows
 *   npx tsx bench/secagg-bench.ts 10 100       # other sizes
 */
import { defaultNeighbours, defaultThreshold } from '../coordinator/secagg-round.ts';
import { encode, fixedPoint } from '../shared/secagg/fixed-point.ts';
import { maskWorkers, SecAggClient, SecAggServer, SHARE_CIPHERTEXT_BYTES, type SecAggConfig } from '../shared/secagg/index.ts';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** CPU milliseconds (this process: the only thread at work) spent in `f`, added to `slot`. */
function cpu<T>(totals: Record<string, number>, slot: string, f: () => T): T {
  const start = process.cpuUsage();
  const result = f();
  const used = process.cpuUsage(start);
  totals[slot] = (totals[slot] ?? 0) + (used.user + used.system) / 1000;
  return result;
}

interface Shape {
  readonly n: number;
  /** SecAgg+ degree; undefined: all pairs. */
  readonly k: number | undefined;
}

export async function secaggBench(m = 101_770, sizes = [10, 100, 1000]): Promise<Record<string, unknown>[]> {
  const shapes: Shape[] = sizes.flatMap((n) => [{ n, k: defaultNeighbours(n) }, ...(n === 100 ? [{ n, k: undefined }] : [])]);
  const rows: Record<string, unknown>[] = [];
  const delta = Float32Array.from({ length: m }, (_, i) => Math.sin(i) * 0.01);
  for (const { n, k } of shapes) {
    const t = defaultThreshold(n, k);
    const holders = k === undefined ? n : k + 1;
    for (const dropAfterShares of [0, Math.min(holders - t, Math.max(1, Math.floor(n / 10)))]) {
      const config: SecAggConfig = {
        runId: 'bench',
        round: 1,
        clients: n,
        threshold: t,
        dimension: m,
        ...(k !== undefined ? { graph: { degree: k, seed: new Uint8Array(32).fill(7) } } : {}),
      };
      const fp = fixedPoint({ clip: 1, maxClients: n });
      const client: Record<string, number> = {};
      const server: Record<string, number> = {};
      // encoding once per client is one loop over m; timed warm (10 runs after 10 untimed), as every client but the first runs it
      for (let i = 0; i < 10; i++) encode(delta, fp);
      for (let i = 0; i < 10; i++) cpu(client, 'encode', () => encode(delta, fp));
      const { encoded } = encode(delta, fp);
      const clients = cpu(client, 'keygen', () => Array.from({ length: n }, (_, i) => new SecAggClient(config, i + 1)));
      const s = new SecAggServer(config);
      // the twin gets every message s gets, and unmasks on the workers
      const twin = new SecAggServer(config);
      for (const c of clients) {
        const msg = cpu(client, 'advertise', () => c.advertiseKeys());
        cpu(server, 'advertise', () => s.receiveAdvertisement(msg));
        twin.receiveAdvertisement(msg);
      }
      const roster = cpu(server, 'advertise', () => s.closeAdvertising());
      twin.closeAdvertising();
      let sharesUp = 0;
      for (const c of clients) {
        const msg = cpu(client, 'shareKeys', () => c.shareKeys(roster));
        sharesUp = Math.max(sharesUp, msg.shares.length * SHARE_CIPHERTEXT_BYTES);
        cpu(server, 'shareKeys', () => s.receiveShareKeys(msg));
        twin.receiveShareKeys(msg);
      }
      const deliveries = cpu(server, 'shareKeys', () => s.closeShareKeys());
      twin.closeShareKeys();
      // who drops: spread over the roster, so SecAgg+ loses at most one client per neighbourhood here and there
      const dropped = new Set(Array.from({ length: dropAfterShares }, (_, j) => 1 + Math.floor((j * n) / dropAfterShares)));
      let masking = 0;
      for (const d of deliveries) {
        if (dropped.has(d.to)) continue;
        masking++;
        const msg = cpu(client, 'maskedInput', () => clients[d.to - 1]!.maskedInput(d, encoded));
        cpu(server, 'maskedInput', () => s.receiveMaskedInput(msg));
        twin.receiveMaskedInput(msg);
      }
      const request = cpu(server, 'maskedInput', () => s.closeMaskedInput());
      twin.closeMaskedInput();
      const responses = request.survivors.map((u) => cpu(client, 'unmask', () => clients[u - 1]!.unmask(request)));
      for (const r of responses) {
        cpu(server, 'unmask', () => s.receiveUnmask(r));
        twin.receiveUnmask(r);
      }
      const result = cpu(server, 'finish', () => s.finish());
      const started = performance.now();
      const onWorkers = await twin.finishOffThread();
      const offThread = round1(performance.now() - started);
      if (!onWorkers.sum.every((v, i) => v === result.sum[i])) throw new Error('the unmasking on the workers gave another sum');
      const perClient = (slot: string, count: number) => round1((client[slot] ?? 0) / count);
      rows.push({
        bench: 'secagg',
        m,
        n,
        graph: k === undefined ? 'all pairs' : `SecAgg+ k=${k}`,
        t,
        masksPerClient: holders,
        droppedAfterShares: dropAfterShares,
        included: result.included.length,
        clientCpuMs: {
          keygen: perClient('keygen', n),
          advertise: perClient('advertise', n),
          shareKeys: perClient('shareKeys', n),
          encode: round1((client.encode ?? 0) / 10),
          maskedInput: perClient('maskedInput', masking),
          unmask: perClient('unmask', request.survivors.length),
        },
        serverCpuMs: Object.fromEntries(['advertise', 'shareKeys', 'maskedInput', 'unmask', 'finish'].map((p) => [p, round1(server[p] ?? 0)])),
        serverFinishOnWorkersMs: offThread,
        bytesUpPerClient: { shares: sharesUp, maskedInput: 4 * m },
      });
      process.stderr.write(`secagg n=${n} ${k === undefined ? 'all pairs' : `k=${k}`} dropped=${dropAfterShares} done\n`);
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number);
  const rows = await secaggBench(101_770, sizes.length > 0 ? sizes : undefined);
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  await maskWorkers().close();
}
