/**
 * What secure aggregation costs per round (issue 7): fixed-point encoding, one client's
 * four phases, and the server's unmasking, for m = 101,770 (the MLP's parameters) and
 * n = 10 and 100 clients (t = ⌈2n/3⌉), without dropouts and with ⌊n/10⌋ clients dropping
 * after sharing keys (the expensive case for the server: each dropped client's mask key is
 * reconstructed and its pairwise masks regenerated against every survivor). Key generation
 * happens in the SecAggClient constructor, outside the timings. One core, one run each.
 *
 *   npx tsx bench/secagg-bench.ts
 */
import { encode, fixedPoint } from '../shared/secagg/fixed-point.ts';
import { SecAggClient, SecAggServer, type SecAggConfig } from '../shared/secagg/index.ts';

const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

export function secaggBench(m = 101_770, sizes = [10, 100]) {
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const t = Math.ceil((2 * n) / 3);
    for (const dropAfterShares of [0, Math.min(n - t, Math.max(1, Math.floor(n / 10)))]) {
      const config: SecAggConfig = { runId: 'bench', round: 1, clients: n, threshold: t, dimension: m };
      const fp = fixedPoint({ clip: 1, maxClients: n });
      const delta = Float32Array.from({ length: m }, (_, i) => Math.sin(i) * 0.01);
      let t0 = performance.now();
      const { encoded } = encode(delta, fp);
      const encodeMs = ms(t0);
      const server = new SecAggServer(config);
      const clients = Array.from({ length: n }, (_, i) => new SecAggClient(config, i + 1));
      const clientMs = { advertise: 0, shareKeys: 0, maskedInput: 0, unmask: 0 };
      const serverT = { total: 0 };
      const timed = <T>(slot: keyof typeof clientMs, f: () => T): T => {
        const s = performance.now();
        const r = f();
        clientMs[slot] += performance.now() - s;
        return r;
      };
      const onServer = <T>(f: () => T): T => {
        const s = performance.now();
        const r = f();
        serverT.total += performance.now() - s;
        return r;
      };
      for (const c of clients) {
        const msg = timed('advertise', () => c.advertiseKeys());
        onServer(() => server.receiveAdvertisement(msg));
      }
      const roster = onServer(() => server.closeAdvertising());
      for (const c of clients) {
        const msg = timed('shareKeys', () => c.shareKeys(roster));
        onServer(() => server.receiveShareKeys(msg));
      }
      const deliveries = onServer(() => server.closeShareKeys());
      let bytesUp = 0;
      for (const d of deliveries.slice(dropAfterShares)) {
        const msg = timed('maskedInput', () => clients[d.to - 1]!.maskedInput(d, encoded));
        bytesUp = msg.masked.byteLength;
        onServer(() => server.receiveMaskedInput(msg));
      }
      const request = onServer(() => server.closeMaskedInput());
      for (const u of request.survivors) {
        const msg = timed('unmask', () => clients[u - 1]!.unmask(request));
        onServer(() => server.receiveUnmask(msg));
      }
      t0 = performance.now();
      const result = server.finish();
      const finishMs = ms(t0);
      serverT.total += finishMs;
      const perClient = (v: number, k: number) => Math.round((v / k) * 10) / 10;
      rows.push({
        bench: 'secagg',
        m,
        n,
        t,
        droppedAfterShares: dropAfterShares,
        included: result.included.length,
        encodeMs,
        clientMsPerClient: {
          advertise: perClient(clientMs.advertise, n),
          shareKeys: perClient(clientMs.shareKeys, n),
          maskedInput: perClient(clientMs.maskedInput, n - dropAfterShares),
          unmask: perClient(clientMs.unmask, request.survivors.length),
        },
        serverFinishMs: finishMs,
        serverTotalMs: Math.round(serverT.total),
        maskedInputBytes: bytesUp,
      });
      process.stderr.write(`secagg n=${n} dropped=${dropAfterShares} done\n`);
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${JSON.stringify(secaggBench(), null, 2)}\n`);
