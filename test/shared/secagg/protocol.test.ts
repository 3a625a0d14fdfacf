import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecAggError } from '../../../shared/errors.ts';
import { decodeSum, encode, fixedPoint, sumErrorBound } from '../../../shared/secagg/fixed-point.ts';
import { SecAggClient, SecAggServer, SHARE_CIPHERTEXT_BYTES, type SecAggConfig, type UnmaskRequest } from '../../../shared/secagg/index.ts';
import { plainSum, runRound, seededRandom } from './harness.ts';

const config = (clients: number, threshold: number, dimension: number, extra: Partial<SecAggConfig> = {}): SecAggConfig => ({
  runId: 'test-run',
  round: 7,
  clients,
  threshold,
  dimension,
  ...extra,
});

function randomInputs(n: number, m: number, label: string): Map<number, Uint32Array> {
  const random = seededRandom(label);
  const inputs = new Map<number, Uint32Array>();
  for (let i = 1; i <= n; i++) {
    const bytes = random(4 * m);
    inputs.set(i, new Uint32Array(bytes.buffer, bytes.byteOffset, m).slice());
  }
  return inputs;
}

/** Gaussian-ish deltas (sum of uniforms), scaled like a model update, clipped by value to ±R. */
function floatDeltas(n: number, m: number, label: string): Float64Array[] {
  const random = seededRandom(label);
  return Array.from({ length: n }, () => {
    const bytes = random(8 * m);
    return Float64Array.from({ length: m }, (_, i) => ((bytes[8 * i]! + bytes[8 * i + 1]! + bytes[8 * i + 2]! + bytes[8 * i + 3]!) / 1020 - 0.5) * 0.2);
  });
}

describe('secure aggregation: the sum', () => {
  for (const [n, t] of [
    [5, 3],
    [20, 11],
  ] as const) {
    it(`n = ${n}, t = ${t}, m = 1000 floats: the secure sum decodes to the float sum within n/(2s)`, () => {
      const m = 1000;
      const fp = fixedPoint({ clip: 0.1, maxClients: n });
      const deltas = floatDeltas(n, m, `floats-${n}`);
      const inputs = new Map(deltas.map((x, u) => [u + 1, encode(x, fp).encoded]));
      const { result } = runRound(config(n, t, m), inputs);
      expect(result.included).toEqual([...Array(n).keys()].map((i) => i + 1));
      expect(result.dropouts).toEqual([]);
      const decoded = decodeSum(result.sum, fp, n);
      const bound = sumErrorBound(fp, n);
      let worst = 0;
      for (let i = 0; i < m; i++) {
        const exact = deltas.reduce((a, x) => a + Math.max(-0.1, Math.min(0.1, x[i]!)), 0);
        worst = Math.max(worst, Math.abs(decoded[i]! - exact));
      }
      expect(worst).toBeLessThanOrEqual(bound);
      expect(worst).toBeGreaterThan(0); // the quantization is real, so the bound is being tested
    });
  }

  it('up to n − t dropouts, split between "after sharing keys" and "after the masked input", still give the survivors\' sum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 8 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.integer({ min: 2, max: n }).chain((t) =>
              fc.tuple(
                fc.constant(t),
                fc.shuffledSubarray(
                  [...Array(n).keys()].map((i) => i + 1),
                  { minLength: 0, maxLength: n - t },
                ),
                fc.nat(),
              ),
            ),
          ),
        ),
        ([n, [t, dropping, cut]]) => {
          const m = 6;
          const inputs = randomInputs(n, m, `drops-${n}-${t}-${dropping.join(',')}`);
          const k = cut % (dropping.length + 1);
          const dropAfterShares = dropping.slice(0, k);
          const dropAfterMasked = dropping.slice(k);
          const { result } = runRound(config(n, t, m), inputs, { dropAfterShares, dropAfterMasked });
          const expected = [...inputs.keys()].filter((u) => !dropAfterShares.includes(u));
          expect(result.included).toEqual(expected);
          expect([...result.sum]).toEqual([...plainSum(inputs, expected, m)]);
          expect(result.dropouts.map((d) => d.index).sort((a, b) => a - b)).toEqual([...dropping].sort((a, b) => a - b));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('clients that never advertise or drop before sharing keys are simply not in the round', () => {
    const inputs = randomInputs(8, 5, 'early');
    const { result } = runRound(config(8, 4, 5), inputs, { silent: [2], dropBeforeShares: [5], dropAfterShares: [7], dropAfterMasked: [1] });
    expect(result.included).toEqual([1, 3, 4, 6, 8]);
    expect([...result.sum]).toEqual([...plainSum(inputs, [1, 3, 4, 6, 8], 5)]);
    expect(result.dropouts.map((d) => [d.index, d.phase])).toEqual([
      [2, 'advertise'],
      [5, 'shareKeys'],
      [7, 'maskedInput'],
      [1, 'unmask'],
    ]);
  });

  it('SecAgg+ (each client masked and shared with 8 ring neighbours of 20) gives the same correct sum, with dropouts', () => {
    const n = 20;
    const m = 300;
    const graph = { degree: 8, seed: seededRandom('graph')(32) };
    const inputs = randomInputs(n, m, 'secagg+');
    let shareCount = 0;
    const { result } = runRound(config(n, 5, m, { graph }), inputs, {
      dropAfterShares: [3, 11],
      dropAfterMasked: [7, 16],
      tamperShares: (msg) => {
        shareCount = Math.max(shareCount, msg.shares.length);
        return msg;
      },
    });
    expect(shareCount).toBe(8); // O(k) shares per client, not O(n)
    const survivors = [...inputs.keys()].filter((u) => u !== 3 && u !== 11);
    expect(result.included).toEqual(survivors);
    expect([...result.sum]).toEqual([...plainSum(inputs, survivors, m)]);
  });
});

describe('secure aggregation: aborts', () => {
  const abortsWith = (f: () => unknown, message: string) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecAggError);
    expect((error as SecAggError).code).toBe('E_SECAGG_ABORTED');
    expect((error as Error).message).toBe(message);
  };

  it('n − t + 1 dropouts in any phase abort the round with the count, t and n', () => {
    const inputs = randomInputs(6, 4, 'abort');
    const c = config(6, 4, 4);
    abortsWith(
      () => runRound(c, inputs, { silent: [1, 2, 3] }),
      'secure aggregation aborted in round 7: only 3 clients advertised keys, 4 needed (t = 4 of n = 6)',
    );
    abortsWith(
      () => runRound(c, inputs, { dropBeforeShares: [1, 2, 3] }),
      'secure aggregation aborted in round 7: only 3 clients shared their keys, 4 needed (t = 4 of n = 6)',
    );
    abortsWith(
      () => runRound(c, inputs, { dropAfterShares: [2], dropBeforeShares: [4, 6] }),
      'secure aggregation aborted in round 7: only 3 clients sent masked inputs, 4 needed (t = 4 of n = 6)',
    );
    abortsWith(
      () => runRound(c, inputs, { dropAfterShares: [1, 5, 6] }),
      'secure aggregation aborted in round 7: only 3 clients sent masked inputs, 4 needed (t = 4 of n = 6)',
    );
    abortsWith(
      () => runRound(c, inputs, { dropAfterShares: [1], dropAfterMasked: [2, 3] }),
      'secure aggregation aborted in round 7: only 3 clients sent unmasking shares, 4 needed (t = 4 of n = 6)',
    );
  });

  it('a SecAgg+ neighbourhood that loses more than degree + 1 − t members aborts, naming the client whose secret is lost', () => {
    const inputs = randomInputs(6, 4, 'abort+');
    expect(() => runRound(config(6, 4, 4, { graph: { degree: 4, seed: new Uint8Array(32) } }), inputs, { dropAfterShares: [2], dropAfterMasked: [5] })).toThrow(
      /aborted in round 7: only 3 shares of client \d's (self-mask seed|mask key) arrived, 4 needed/,
    );
  });
});

/** A round driven to the unmask request, for probing one client. */
function toUnmask(n: number, t: number) {
  const c = config(n, t, 3);
  const server = new SecAggServer(c);
  const clients = [...Array(n).keys()].map((i) => new SecAggClient(c, i + 1));
  for (const cl of clients) server.receiveAdvertisement(cl.advertiseKeys());
  const roster = server.closeAdvertising();
  for (const cl of clients) server.receiveShareKeys(cl.shareKeys(roster));
  const deliveries = server.closeShareKeys();
  return { server, clients, deliveries, c };
}

describe('secure aggregation: a client protects its input', () => {
  it('refuses to reveal both the self-mask seed and the mask key of one client, and to be called dropped after sending its input', () => {
    const { clients, deliveries } = toUnmask(5, 3);
    for (const [i, cl] of clients.entries()) cl.maskedInput(deliveries[i]!, new Uint32Array(3));
    const both: UnmaskRequest = { survivors: [1, 2, 3, 4], dropped: [4, 5] };
    expect(() => clients[0]!.unmask(both)).toThrow(SecAggError);
    expect(() => clients[0]!.unmask(both)).toThrow(/client 1 refuses to unmask round 7: client 4 is listed as both a survivor and dropped/);
    expect(() => clients[1]!.unmask({ survivors: [1, 3, 4, 5], dropped: [2] })).toThrow(
      /client 2 refuses to unmask round 7: it sent its masked input but is not listed as a survivor/,
    );
    const honest = clients[2]!.unmask({ survivors: [1, 2, 3, 4], dropped: [5] });
    expect(honest.selfMaskShares.map((s) => s.of)).toEqual([1, 2, 3, 4]);
    expect(honest.keyShares.map((s) => s.of)).toEqual([5]);
    expect(() => clients[2]!.unmask({ survivors: [1, 2, 3, 5], dropped: [4] })).toThrow(/phase done, not unmask/);
  });

  it('SecAgg+: refuses to mask when fewer than t of its own neighbourhood shared keys, however many others did', () => {
    // a coordinator that lists none of u's neighbours would have u mask with its self-mask alone, then ask them for its shares
    const c = config(10, 3, 3, { graph: { degree: 2, seed: seededRandom('ring')(32) } });
    const server = new SecAggServer(c);
    const clients = [...Array(10).keys()].map((i) => new SecAggClient(c, i + 1));
    for (const cl of clients) server.receiveAdvertisement(cl.advertiseKeys());
    const roster = server.closeAdvertising();
    const shares = clients.map((cl) => cl.shareKeys(roster));
    for (const msg of shares) server.receiveShareKeys(msg);
    const deliveries = server.closeShareKeys();
    const neighbours = new Set(shares[0]!.shares.map((x) => x.to));
    expect(neighbours.size).toBe(2);
    const lying = { ...deliveries[0]!, senders: deliveries[0]!.senders.filter((v) => !neighbours.has(v)) };
    expect(lying.senders.length).toBeGreaterThanOrEqual(3);
    expect(() => clients[0]!.maskedInput(lying, new Uint32Array(3))).toThrow(/shared their keys in client 1's neighbourhood/);
    // the honest delivery goes through
    expect(clients[1]!.maskedInput(deliveries[1]!, new Uint32Array(3)).masked).toHaveLength(3);
  });

  it('a tampered share ciphertext gets its sender dropped with a reason, and the sum of the others is still right', () => {
    const inputs = randomInputs(7, 4, 'tamper');
    const { result } = runRound(config(7, 4, 4), inputs, {
      tamperShares: (msg) =>
        msg.from !== 3
          ? msg
          : { ...msg, shares: msg.shares.map((s) => (s.to === 6 ? { ...s, ciphertext: s.ciphertext.map((b, i) => (i === 5 ? b ^ 0x40 : b)) } : s)) },
    });
    expect(result.included).toEqual([1, 2, 4, 5, 6, 7]);
    expect([...result.sum]).toEqual([...plainSum(inputs, [1, 2, 4, 5, 6, 7], 4)]);
    expect(result.dropouts).toEqual([
      {
        index: 3,
        phase: 'maskedInput',
        reason: "client 6 could not use its share: client 3's share for client 6 failed to decrypt (tampered, or sealed under another key)",
      },
    ]);
  });
});

describe('secure aggregation: the server validates what peers send', () => {
  it('rejects malformed, duplicate, reused and low-order keys, dropping the sender with a reason', () => {
    const c = config(6, 2, 3);
    const server = new SecAggServer(c);
    const good = new SecAggClient(c, 1).advertiseKeys();
    expect(server.receiveAdvertisement(good)).toEqual({ accepted: true });
    expect(server.receiveAdvertisement(good)).toEqual({ accepted: false, reason: 'client 1 advertised keys twice (the first is kept)' });
    expect(server.receiveAdvertisement({ ...good, from: 9 }).accepted).toBe(false);
    expect(server.receiveAdvertisement({ from: 2, cPk: good.cPk, sPk: new SecAggClient(c, 2).advertiseKeys().sPk })).toEqual({
      accepted: false,
      reason: 'client 2 advertised a key client 1 already uses',
    });
    const other = new SecAggClient(c, 3).advertiseKeys();
    expect(server.receiveAdvertisement({ ...other, sPk: new Uint8Array(32) }).accepted).toBe(false); // the zero point: agreement fails
    expect(server.receiveAdvertisement({ ...other, from: 4, cPk: other.cPk.subarray(0, 31) }).accepted).toBe(false);
    expect(server.receiveAdvertisement({ ...other, from: 5, sPk: other.cPk }).accepted).toBe(false);
    expect(server.dropouts.map((d) => d.index)).toEqual([2, 3, 4, 5]);
    expect(server.dropouts[1]!.reason).toMatch(/fail X25519 agreement/);
  });

  it('drops a client whose shares, masked input or unmasking response are malformed, and finishes without it where it can', () => {
    const n = 6;
    const c = config(n, 3, 3);
    const server = new SecAggServer(c);
    const clients = [...Array(n).keys()].map((i) => new SecAggClient(c, i + 1));
    for (const cl of clients) server.receiveAdvertisement(cl.advertiseKeys());
    const roster = server.closeAdvertising();
    const shares = clients.map((cl) => cl.shareKeys(roster));
    expect(server.receiveShareKeys({ ...shares[0]!, shares: shares[0]!.shares.slice(1) })).toMatchObject({
      accepted: false,
      reason: expect.stringMatching(/client 1 sent 4 shares, expected one for each of its 5 neighbours/),
    });
    expect(
      server.receiveShareKeys({ ...shares[1]!, shares: shares[1]!.shares.map((s, i) => (i === 0 ? { ...s, ciphertext: s.ciphertext.subarray(1) } : s)) }),
    ).toMatchObject({
      accepted: false,
      reason: expect.stringContaining(`${SHARE_CIPHERTEXT_BYTES}-byte ciphertext`),
    });
    for (const s of shares.slice(2)) expect(server.receiveShareKeys(s)).toEqual({ accepted: true });
    const deliveries = server.closeShareKeys();
    expect(deliveries.map((d) => d.to)).toEqual([3, 4, 5, 6]);
    const masked = deliveries.map((d) => clients[d.to - 1]!.maskedInput(d, Uint32Array.of(d.to, 0, 1)));
    expect(server.receiveMaskedInput({ ...masked[0]!, masked: new Uint32Array(4) }).accepted).toBe(false);
    for (const msg of masked.slice(1)) expect(server.receiveMaskedInput(msg)).toEqual({ accepted: true });
    const request = server.closeMaskedInput();
    expect(request).toEqual({ survivors: [4, 5, 6], dropped: [3] });
    const responses = request.survivors.map((u) => clients[u - 1]!.unmask(request));
    // a survivor revealing a self-mask share of a dropped client is refused (its input stays in the sum)
    expect(
      server.receiveUnmask({ ...responses[0]!, selfMaskShares: [...responses[0]!.selfMaskShares, { of: 3, share: responses[0]!.keyShares[0]!.share }] })
        .accepted,
    ).toBe(false);
    expect(server.receiveUnmask(responses[1]!)).toEqual({ accepted: true });
    expect(server.receiveUnmask(responses[2]!)).toEqual({ accepted: true });
    expect(() => server.finish()).toThrow('secure aggregation aborted in round 7: only 2 clients sent unmasking shares, 3 needed (t = 3 of n = 6)');
    expect(server.dropouts.map((d) => [d.index, d.phase])).toEqual([
      [1, 'shareKeys'],
      [2, 'shareKeys'],
      [3, 'maskedInput'],
      [4, 'unmask'],
    ]);
  });
});

describe('a masked vector alone looks uniform', () => {
  const CHI2_255_P001 = 330.52; // χ² quantile for 255 degrees of freedom at p = 0.001

  function chiSquareOfBytes(words: Uint32Array): number {
    const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    const counts = new Array<number>(256).fill(0);
    for (const b of bytes) counts[b]!++;
    const expected = bytes.length / 256;
    return counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
  }

  it("χ² on the 65,536 bytes of one client's masked input passes (p > 0.001), while the same test fails on its unmasked encoding", () => {
    const n = 3;
    const m = 16_384;
    const fp = fixedPoint({ clip: 0.1, maxClients: n });
    const deltas = floatDeltas(n, m, 'chi-square');
    const c = config(n, 2, m);
    const server = new SecAggServer(c);
    const clients = [1, 2, 3].map((i) => new SecAggClient(c, i, { random: seededRandom(`chi-square-client-${i}`) }));
    for (const cl of clients) server.receiveAdvertisement(cl.advertiseKeys());
    const roster = server.closeAdvertising();
    for (const cl of clients) server.receiveShareKeys(cl.shareKeys(roster));
    const deliveries = server.closeShareKeys();
    const encoded = encode(deltas[0]!, fp).encoded;
    const masked = clients[0]!.maskedInput(deliveries[0]!, encoded).masked;
    const control = chiSquareOfBytes(encoded);
    const chi2 = chiSquareOfBytes(masked);
    expect(chi2).toBeLessThan(CHI2_255_P001);
    expect(control).toBeGreaterThan(CHI2_255_P001);
  });
});
