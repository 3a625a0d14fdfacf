import { afterAll, describe, expect, it } from 'vitest';
import { agree, x25519FromSecret } from '../../../shared/crypto/primitives.ts';
import { applyMasks, type MaskTerm } from '../../../shared/secagg/mask-kernel.ts';
import { MaskWorkers } from '../../../shared/secagg/mask-workers.ts';
import { maskInput, roundSalt } from '../../../shared/secagg/masking.ts';
import { expandMask, maskKey, SELF_MASK_LABEL } from '../../../shared/secagg/prg.ts';
import { SecAggClient, SecAggServer, type SecAggConfig } from '../../../shared/secagg/index.ts';
import { plainSum, seededRandom } from './harness.ts';

const salt = roundSalt({ runId: 'mask-workers', round: 2 });
const random = seededRandom('mask workers');
const seeds = Array.from({ length: 9 }, () => random(32));
const terms: MaskTerm[] = seeds.map((seed, j) => ({ key: maskKey(seed, salt, `label ${j}`), sign: j % 3 === 0 ? -1 : 1 }));

/** The definition: x + Σ sign·expandMask(…) mod 2^32, one whole mask at a time. */
function reference(x: Uint32Array): Uint32Array {
  const y = x.slice();
  seeds.forEach((seed, j) => {
    const mask = expandMask(seed, salt, `label ${j}`, y.length);
    const sign = terms[j]!.sign;
    for (let i = 0; i < y.length; i++) y[i] = (y[i]! + sign * mask[i]!) >>> 0;
  });
  return y;
}

const input = (m: number) => Uint32Array.from({ length: m }, (_, i) => (i * 2654435761) >>> 0);

// every job to the workers, however small, and two of them even on a one-core machine's cap
const pool = new MaskWorkers({ syncBelow: 0, size: 2 });
afterAll(() => pool.close());

describe('mask expansion', () => {
  it('applyMasks gives the definition’s bytes, for the whole vector or cut into ranges anywhere (block boundaries or not)', () => {
    for (const m of [1, 15, 16, 17, 1000, 40_000]) {
      const x = input(m);
      const whole = x.slice();
      applyMasks(whole, terms);
      expect(whole).toEqual(reference(x));
      const cut = x.slice();
      const points = [0, Math.floor(m / 3), Math.floor(m / 3) + 1, Math.floor((2 * m) / 3), m].filter((p, i, a) => i === 0 || p > a[i - 1]!);
      for (let i = 1; i < points.length; i++) applyMasks(cut, terms, points[i - 1]!, points[i]!);
      expect(cut).toEqual(whole);
    }
  });

  it('refuses a range outside the vector', () => {
    expect(() => applyMasks(new Uint32Array(8), terms, 4, 9)).toThrow(/mask range \[4, 9\) is not within the 8 words/);
    expect(() => applyMasks(new Uint32Array(8), terms, 5, 4)).toThrow(/mask range/);
  });

  it('the worker pool gives the calling thread’s bytes, for one job or many at once (a large vector split between workers)', async () => {
    const sizes = [5, 16_385, 101_770, 70_001];
    const jobs = sizes.map((m) => pool.apply(input(m), terms));
    const results = await Promise.all(jobs);
    for (const [i, m] of sizes.entries()) {
      const sync = input(m);
      applyMasks(sync, terms);
      expect(results[i]).toEqual(sync);
    }
    expect(pool.failed).toBeUndefined();
  });

  it('a client’s masked input is the same off the thread as on it', async () => {
    const x = input(50_000);
    const pairs = new Map([
      [2, random(32)],
      [7, random(32)],
      [9, random(32)],
    ]);
    const self = random(32);
    const onThread = maskInput(5, x, self, pairs, salt);
    const offThread = await pool.apply(x.slice(), [
      { key: maskKey(self, salt, SELF_MASK_LABEL), sign: 1 },
      ...[...pairs].map(([v, seed]) => ({
        key: maskKey(seed, salt, `starling secagg pairwise mask ${Math.min(5, v)}-${Math.max(5, v)}`),
        sign: (v > 5 ? 1 : -1) as 1 | -1,
      })),
    ]);
    expect(offThread).toEqual(onThread);
  });

  it('small jobs stay on the calling thread; a closed pool still answers, on the calling thread', async () => {
    const small = new MaskWorkers({ size: 1 });
    const x = input(100);
    const expected = x.slice();
    applyMasks(expected, terms);
    expect(await small.apply(x.slice(), terms)).toEqual(expected);
    await small.close();
    const big = input(40_000);
    const bigExpected = big.slice();
    applyMasks(bigExpected, terms);
    expect(await small.apply(big, terms)).toEqual(bigExpected);
  });
});

describe('a round with its masks off the thread', () => {
  it('shares, masks and unmasks the bytes the on-thread round does (seeded clients, a dropout after sharing keys)', async () => {
    // 9 clients: 8 neighbours each, 16 agreements, enough to go to the workers
    const config: SecAggConfig = { runId: 'off-thread', round: 4, clients: 9, threshold: 6, dimension: 20_000 };
    const inputs = new Map([1, 2, 3, 4, 5, 6, 7, 8, 9].map((u) => [u, input(config.dimension).map((v) => (v * u) >>> 0)]));
    const run = async (offThread: boolean) => {
      const server = new SecAggServer(config);
      const clients = [...inputs.keys()].map((u) => new SecAggClient(config, u, { random: seededRandom(`off-thread client ${u}`) }));
      for (const c of clients) server.receiveAdvertisement(c.advertiseKeys());
      const roster = server.closeAdvertising();
      const shares = [];
      for (const c of clients) {
        const msg = offThread ? await c.shareKeysOffThread(roster, pool) : c.shareKeys(roster);
        shares.push(msg);
        server.receiveShareKeys(msg);
      }
      const masked: Uint32Array[] = [];
      for (const d of server.closeShareKeys()) {
        if (d.to === 2) continue; // drops after sharing keys: the server removes its pairwise masks
        const c = clients[d.to - 1]!;
        const msg = offThread ? await c.maskedInputOffThread(d, inputs.get(d.to)!, pool) : c.maskedInput(d, inputs.get(d.to)!);
        masked.push(msg.masked);
        server.receiveMaskedInput(msg);
      }
      const request = server.closeMaskedInput();
      for (const u of request.survivors) server.receiveUnmask(clients[u - 1]!.unmask(request));
      return { shares, masked, result: offThread ? await server.finishOffThread(pool) : server.finish() };
    };
    const on = await run(false);
    const off = await run(true);
    expect(off.shares).toEqual(on.shares);
    expect(off.masked).toEqual(on.masked);
    expect(off.result).toEqual(on.result);
    expect([...off.result.sum]).toEqual([...plainSum(inputs, [1, 3, 4, 5, 6, 7, 8, 9], config.dimension)]);
  });
});

describe('X25519 agreements on the workers', () => {
  it('give agree()’s results, in order, nulls included (a low-order point, a short key)', async () => {
    const random = seededRandom('agreements');
    const mine = [x25519FromSecret(random(32)), x25519FromSecret(random(32))];
    const requests = Array.from({ length: 40 }, (_, i) => ({
      ours: mine[i % 2]!.privateKey,
      theirs: i === 7 ? new Uint8Array(32) : i === 8 ? new Uint8Array(31) : x25519FromSecret(random(32)).publicKey,
    }));
    const expected = requests.map((r) => agree(r.ours, r.theirs));
    const got = await pool.agreeAll(requests);
    expect(got).toEqual(expected);
    expect(got[7]).toBeNull();
    expect(got[8]).toBeNull();
    expect(await pool.agreeAll(requests.slice(0, 3))).toEqual(expected.slice(0, 3));
  });
});

describe('a pool that cannot work', () => {
  it('workers that fail to start leave the job, and every later one, to the calling thread, with the same bytes and one warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const broken = new MaskWorkers({ syncBelow: 0, size: 2, entry: new URL('./no-such-mask-worker.mjs', import.meta.url) });
    try {
      for (const m of [30_000, 50_000]) {
        const x = input(m);
        const expected = x.slice();
        applyMasks(expected, terms);
        expect(await broken.apply(x, terms)).toEqual(expected);
      }
      expect(broken.failed).toMatch(/no-such-mask-worker/);
      const me = x25519FromSecret(new Uint8Array(32).fill(1));
      const requests = Array.from({ length: 12 }, (_, i) => ({ ours: me.privateKey, theirs: x25519FromSecret(new Uint8Array(32).fill(i + 2)).publicKey }));
      expect(await broken.agreeAll(requests)).toEqual(requests.map((r) => agree(r.ours, r.theirs)));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => /mask workers stopped/.test(w))).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
      await broken.close();
    }
  });
});
