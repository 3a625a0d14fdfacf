import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { sha256 } from '../../coordinator/history.ts';
import { CloseCode } from '../../shared/errors.ts';
import { generateIdentity } from '../../shared/crypto/primitives.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { toFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, type FitResult } from '../../shared/protocol/messages.ts';
import { RawPeer, SecurePeer, testConfig } from './helpers.ts';
import { ROUNDS, attackHarness } from './attack-harness.ts';

const { engine, keys, honest, run } = attackHarness();

describe('hostile input on the secure channel', async () => {
  // the honest clients alone: every attacked run must end with these exact bytes
  const baseline = await run(async () => {});

  const preHello: [string, (url: string) => Promise<number>, RegExp, number][] = [
    [
      'unknown key',
      async (url) => {
        const p = new SecurePeer(url, generateIdentity(), keys.coordinator.identity.publicKey);
        await p.connect().catch(() => {});
        return (await p.closed).code;
      },
      /client key .* is not on the allowlist/,
      CloseCode.unauthorized,
    ],
    [
      'bad signature',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect({ auth: (a) => ({ ...a, signature: Uint8Array.from(a.signature, (b, i) => (i === 3 ? b ^ 1 : b)) }) });
        return (await p.closed).code;
      },
      /client's signature over the transcript does not verify/,
      CloseCode.unauthorized,
    ],
    [
      'wrong protocol version',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect({ hello: (h) => ({ ...h, protocolVersion: 9 }) }).catch(() => {});
        return (await p.closed).code;
      },
      /protocol version 9 is not supported/,
      CloseCode.versionMismatch,
    ],
    [
      'one bit flipped in a ciphertext',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect();
        const frame = Uint8Array.from(p.seal({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'flipper' }));
        frame[12]! ^= 0x10;
        p.send(frame);
        return (await p.closed).code;
      },
      /frame failed authentication/,
      CloseCode.unauthorized,
    ],
    [
      'a replayed frame',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect();
        const frame = p.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'replayer' });
        p.send(frame);
        return (await p.closed).code;
      },
      /counter 0 was already used \(expected 1\)/,
      CloseCode.unauthorized,
    ],
    [
      'an old counter on a freshly sealed frame',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect();
        const rewound = p.snapshotSealer();
        p.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'rewinder' });
        p.send(toFrame({ type: 'error', code: 'X', message: 'sealed again under counter 0' }, rewound));
        return (await p.closed).code;
      },
      /counter 0 was already used/,
      CloseCode.unauthorized,
    ],
    [
      'a truncated frame',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect();
        p.send(p.seal({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'cut' }).subarray(0, 10));
        return (await p.closed).code;
      },
      /shorter than its 24-byte envelope/,
      CloseCode.malformed,
    ],
    [
      'a frame over the size limit',
      async (url) => {
        const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
        await p.connect();
        p.send(new Uint8Array(2 * 1024 * 1024));
        return (await p.closed).code;
      },
      /a frame larger than the 36888-byte limit while awaiting its hello \(closed with 1009\)/,
      CloseCode.tooBig,
    ],
  ];

  for (const [name, attack, reason, code] of preHello) {
    it(`${name}: refused with a precise reason; the honest round's aggregate is unchanged`, async () => {
      let closeCode = -1;
      const r = await run(async (url) => {
        closeCode = await attack(url);
      });
      expect(closeCode).toBe(code);
      expect(r.text).toMatch(reason);
      expect(r.hash).toBe(baseline.hash);
    });
  }

  it('before authenticating, a peer cannot make the coordinator buffer more than a handshake frame', async () => {
    const r = await run(async (url) => {
      const p = new RawPeer(url);
      await p.opened;
      p.send(new Uint8Array(64 * 1024)); // far below maxPayloadBytes (256 MiB), far above a handshake frame
      expect((await p.closed).code).toBe(CloseCode.tooBig);
    });
    expect(r.text).toMatch(/a frame larger than the 4096-byte limit while in the handshake \(closed with 1009\)/);
    expect(r.hash).toBe(baseline.hash);
  });

  it('a wrong join token: the coordinator logs why, and the client learns the same reason', async () => {
    const log = memoryLogger();
    const coordinator = await startCoordinator(testConfig({ clients: 1, rounds: 1, waitForClientsTimeoutMs: 2000 }), {
      log,
      engine,
      writeHistory: false,
      security: { identity: keys.coordinator.identity, admission: { joinToken: 'the right token, long enough' } },
    });
    try {
      const data = await openDataSource({ data: { kind: 'mnist' }, shard: '1/10', partition: { kind: 'iid' }, seed: 42 });
      const agent = new ClientAgent({
        url: coordinator.url,
        name: 'guesser',
        trainer: new EngineTrainer(engine, data),
        log: silentLogger,
        security: { identity: generateIdentity(), coordinatorKey: keys.coordinator.identity.publicKey, joinToken: 'a wrong token, long enough' },
      });
      await expect(agent.run()).rejects.toThrow(/the coordinator refused the handshake: handshake failed: .*join-token proof is wrong/);
      expect(log.entries.map((e) => e.msg ?? '').join('\n')).toMatch(/join-token proof is wrong/);
      await expect(coordinator.done).rejects.toThrow(/only 0 of 1 clients connected/);
    } finally {
      await coordinator.close();
    }
  });

  const badResults: [string, (r: FitResult) => FitResult, RegExp][] = [
    ['wrong round', (r) => ({ ...r, round: r.round + 1 }), /fitResult is for round 2, the task was for round 1/],
    ['wrong delta length', (r) => ({ ...r, delta: r.delta.subarray(1) }), /delta has 101769 values, the model has 101770/],
    ['NaN in the delta', (r) => ({ ...r, delta: Float32Array.from(r.delta, (v, i) => (i === 7 ? Number.NaN : v)) }), /delta contains NaN or Infinity/],
    [
      'Inf in the delta',
      (r) => ({ ...r, delta: Float32Array.from(r.delta, (v, i) => (i === 7 ? Number.POSITIVE_INFINITY : v)) }),
      /delta contains NaN or Infinity/,
    ],
    ['negative example count', (r) => ({ ...r, numExamples: -5 }), /numExamples/],
    ['absurd example count', (r) => ({ ...r, numExamples: 5e9 }), /numExamples/],
  ];

  for (const [name, corrupt, reason] of badResults) {
    it(`a well-sealed but invalid result (${name}) closes only that client; the aggregate is the honest clients'`, async () => {
      const r = await run(
        async (url) => {
          const p = new SecurePeer(url, keys.ids[2]!, keys.coordinator.identity.publicKey);
          await p.connect();
          p.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'zz-liar' });
          await p.nextMessage(); // welcome
          const task = await p.nextMessage();
          if (task.type !== 'fit') throw new Error('expected a fit task');
          p.sendSealed(
            corrupt({
              type: 'fitResult',
              round: task.round,
              numExamples: 10,
              delta: new Float32Array(task.weights!.length).fill(0.5),
              metrics: {},
              seconds: 0,
            }),
          );
          expect((await p.closed).code).toBe(CloseCode.invalid);
        },
        { clients: 3 },
      );
      expect(r.text).toMatch(reason);
      expect(r.rounds[0]).toMatchObject({ clients: 2, failures: 1 });
      expect(r.hash).toBe(baseline.hash);
    });
  }

  it('200 connections that never finish the handshake: 32 (the per-address cap) are dropped at the timeout, the rest refused at once; the run is unaffected', async () => {
    const peers: RawPeer[] = [];
    const r = await run(
      async (url) => {
        for (let i = 0; i < 200; i++) peers.push(new RawPeer(url));
        const closes = await Promise.all(peers.map((p) => p.closed));
        expect(closes.filter((c) => c.code === CloseCode.timeout)).toHaveLength(32);
        // refused at TCP accept: the socket is destroyed before the upgrade (1006, no close frame)
        expect(closes.filter((c) => c.code === 1006)).toHaveLength(168);
      },
      { handshakeTimeoutMs: 400 },
    );
    expect(r.hash).toBe(baseline.hash);
    expect(r.text).toMatch(/hello did not arrive within 400 ms/);
    expect(r.text).toMatch(/refused \d+ connections?: 32 unauthenticated connections are open from 127\.0\.0\.1 \(maxUnauthenticatedPerAddress\)/);
  });

  it('one session per identity: a second connection with the same key replaces the first', async () => {
    const log = memoryLogger();
    const coordinator = await startCoordinator(testConfig({ clients: 2, rounds: ROUNDS }), { log, engine, writeHistory: false, security: keys.coordinator });
    try {
      const first = new SecurePeer(coordinator.url, keys.ids[0]!, keys.coordinator.identity.publicKey);
      await first.connect();
      first.sendSealed({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'honest-0' });
      await first.nextMessage(); // welcome: this identity now holds a session
      const second = honest(coordinator.url, 0); // the same identity connects again
      expect((await first.closed).code).toBe(CloseCode.replaced);
      const outcomes = await Promise.all([second, honest(coordinator.url, 1)]);
      const result = await coordinator.done;
      expect(outcomes.map((o) => o.rounds)).toEqual([ROUNDS, ROUNDS]);
      expect(log.entries.map((e) => e.msg ?? '').join('\n')).toMatch(/connected again as .*; closing its older session/);
      expect(sha256(result.weights)).toBe(baseline.hash);
    } finally {
      await coordinator.close();
    }
  });
});
