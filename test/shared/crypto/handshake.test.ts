import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/errors.ts';
import { ClientHandshake, ServerHandshake } from '../../../shared/crypto/handshake.ts';
import { toBase64 } from '../../../shared/crypto/identity-file.ts';
import { generateIdentity } from '../../../shared/crypto/primitives.ts';
import { SEAL_OVERHEAD, SessionSealer } from '../../../shared/crypto/session-sealer.ts';

const server = generateIdentity();
const client = generateIdentity();
const allowlist = new Map([[toBase64(client.publicKey), 'site']]);

function handshake(opts: { clientId?: typeof client; pinned?: Uint8Array; token?: string; serverToken?: string; list?: Map<string, string> } = {}) {
  const s = new ServerHandshake(server, { allowlist: opts.list ?? allowlist, joinToken: opts.serverToken });
  const c = new ClientHandshake(opts.clientId ?? client, opts.pinned ?? server.publicKey, opts.token);
  const hello = c.start();
  const reply = s.onClientHello(hello);
  const { auth, sealer: clientSealer } = c.onServerHello(reply);
  const { sealer: serverSealer, peerName } = s.onClientAuth(auth);
  return { clientSealer, serverSealer, peerName, s, c, hello, reply, auth };
}

describe('handshake', () => {
  it('derives matching per-direction keys: each side opens what the other sealed, never its own', () => {
    const { clientSealer, serverSealer, peerName } = handshake();
    expect(peerName).toBe('site');
    const up = clientSealer.seal(Uint8Array.of(1, 2, 3));
    expect(up.length).toBe(3 + SEAL_OVERHEAD);
    expect([...serverSealer.open(up)!]).toEqual([1, 2, 3]);
    const down = serverSealer.seal(Uint8Array.of(9));
    expect([...clientSealer.open(down)!]).toEqual([9]);
    // another session's keys (or a zero key) do not open this session's frames
    expect(handshake().serverSealer.open(handshake().clientSealer.seal(Uint8Array.of(5)))).toBeNull();
    expect(new SessionSealer(new Uint8Array(32), new Uint8Array(32)).open(handshake().clientSealer.seal(Uint8Array.of(5)))).toBeNull();
  });

  it('refuses an unknown key, a wrong version, a coordinator that is not the pinned one, and a bad signature', () => {
    const stranger = generateIdentity();
    expect(() => handshake({ clientId: stranger })).toThrow(/client key .* is not on the allowlist/);
    const s = new ServerHandshake(server, { allowlist });
    const hello = new ClientHandshake(client, server.publicKey).start();
    expect(() => s.onClientHello({ ...hello, protocolVersion: 9 })).toThrow(/protocol version 9 is not supported/);
    const impostor = generateIdentity();
    expect(() => handshake({ pinned: impostor.publicKey })).toThrow(/not the pinned/);
    // flip a bit in the client's signature
    const s2 = new ServerHandshake(server, { allowlist });
    const c2 = new ClientHandshake(client, server.publicKey);
    const { auth } = c2.onServerHello(s2.onClientHello(c2.start()));
    auth.signature[10]! ^= 0x40;
    expect(() => s2.onClientAuth(auth)).toThrow(/client's signature over the transcript does not verify/);
    // a server signature over a different transcript
    const s3 = new ServerHandshake(server, { allowlist });
    const c3 = new ClientHandshake(client, server.publicKey);
    c3.start();
    const reply = s3.onClientHello(new ClientHandshake(client, server.publicKey).start());
    expect(() => c3.onServerHello(reply)).toThrow(/coordinator's signature over the transcript does not verify/);
  });

  it('admits by join token only with the right token', () => {
    const stranger = generateIdentity();
    expect(handshake({ clientId: stranger, token: 'correct horse battery staple', serverToken: 'correct horse battery staple' }).peerName).toBe('token');
    expect(() => handshake({ clientId: stranger, token: 'wrong token wrong token', serverToken: 'correct horse battery staple' })).toThrow(
      /join-token proof is wrong/,
    );
    expect(() => handshake({ clientId: stranger, serverToken: 'correct horse battery staple' })).toThrow(/join-token proof is missing/);
  });
});

describe('sealed frames', () => {
  it('detect a flipped bit, a replay, an old counter, a skipped counter and truncation', () => {
    const { clientSealer, serverSealer } = handshake();
    const f0 = clientSealer.seal(Uint8Array.of(1));
    const f1 = clientSealer.seal(Uint8Array.of(2));
    const f2 = clientSealer.seal(Uint8Array.of(3));
    const flipped = Uint8Array.from(f0);
    flipped[9]! ^= 1;
    expect(serverSealer.open(flipped)).toBeNull();
    expect([...serverSealer.open(f0)!]).toEqual([1]);
    expect(() => serverSealer.open(f0)).toThrow(/counter 0 was already used \(expected 1\): a replayed or old frame/);
    expect(() => serverSealer.open(f2)).toThrow(/counter 2 skips ahead of 1/);
    expect(() => serverSealer.open(f1.subarray(0, 10))).toThrow(/shorter than its 24-byte envelope/);
    expect([...serverSealer.open(f1)!]).toEqual([2]);
    // a tampered counter header fails authentication (it is associated data)
    const f3 = clientSealer.seal(Uint8Array.of(4));
    const f4 = clientSealer.seal(Uint8Array.of(5));
    expect(serverSealer.open(f2)).not.toBeNull();
    const relabelled = Uint8Array.from(f4);
    relabelled[7] = 3;
    expect(serverSealer.open(relabelled)).toBeNull();
    expect([...serverSealer.open(f3)!]).toEqual([4]);
  });

  it('property: random bytes and random mutations of valid frames never escape as anything but null or a ProtocolError', () => {
    const { clientSealer, serverSealer } = handshake();
    const valid = clientSealer.seal(new Uint8Array(64).fill(7));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (junk, at, xor) => {
        for (const frame of [junk, Uint8Array.from(valid, (b, i) => (i === at ? b ^ xor : b))]) {
          try {
            expect(serverSealer.open(frame)).toBeNull();
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
