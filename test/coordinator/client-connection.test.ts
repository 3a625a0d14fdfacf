import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromFrame, toFrame } from '../../shared/protocol/frame.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { PROTOCOL_VERSION, toClientSchema } from '../../shared/protocol/messages.ts';
import { authenticate, connection } from './connection-helpers.ts';
import { encodeMessage } from '../../shared/protocol/codec.ts';
import { CONTROL_ALLOWANCE } from '../../coordinator/frame-limits.ts';

describe('client connection under random input (property)', () => {
  it('random bytes before or after the handshake never escape as an exception; bad frames close with a logged reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (junk, afterHandshake) => {
        const { socket, log } = connection();
        expect(socket._receiver._maxPayload).toBe(4096);
        if (afterHandshake) authenticate(socket);
        // authenticated, a peer with no task outstanding may send only control-sized frames
        if (afterHandshake) expect(socket._receiver._maxPayload).toBe(CONTROL_ALLOWANCE.bytes);
        expect(() => socket.emit('message', Buffer.from(junk), true)).not.toThrow();
        expect(socket.closedWith).toBeDefined();
        expect(log.entries.some((e) => /closing connection c1/.test(e.msg ?? ''))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('random mutations and truncations of a valid sealed hello are refused, never thrown', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(40), (pos, xor, cut) => {
        const { socket, conn } = connection();
        const sealer = authenticate(socket);
        const frame = Uint8Array.from(toFrame({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'prop' }, sealer));
        frame[pos % frame.length]! ^= xor;
        const mutated = cut > 0 && cut < frame.length ? frame.subarray(0, frame.length - cut) : frame;
        expect(() => socket.emit('message', Buffer.from(mutated), true)).not.toThrow();
        // any change to a sealed frame fails authentication or sequencing
        expect(conn.ready).toBe(false);
        expect(socket.closedWith).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('fit tasks and results with frozen parameters', () => {
  it('sends the full weights once, then only the trainable values; a delta of any other length than the trainable count is refused', async () => {
    const { socket, conn } = connection();
    const sealer = authenticate(socket);
    socket.emit('message', Buffer.from(toFrame({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'frozen' }, sealer)), true);
    expect(fromFrame(Buffer.from(socket.sent.at(-1)!), toClientSchema, sealer, 1 << 20).type).toBe('welcome');
    const spec = { type: 'mlp' as const, inputs: 3, hidden: [], outputs: 2, activation: 'relu' as const };
    const weights = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const config = fitConfig({ epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1, frozen: ['dense0/kernel'] });
    const request = (round: number) => ({ round, modelVersion: round - 1, spec, weights, trainableWeights: weights.subarray(6), config, seed: 1 });
    const lastTask = () => fromFrame(Buffer.from(socket.sent.at(-1)!), toClientSchema, sealer, 1 << 20);
    const reply = (round: number, length: number) =>
      socket.emit(
        'message',
        Buffer.from(toFrame({ type: 'fitResult', round, numExamples: 4, delta: new Float32Array(length), metrics: {}, seconds: 0 }, sealer)),
        true,
      );

    const first = conn.fit(request(1), new AbortController().signal);
    const t1 = lastTask();
    if (t1.type !== 'fit') throw new Error('expected a fit task');
    expect(Array.from(t1.weights!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(t1.trainable).toBeUndefined();
    reply(1, 2);
    expect((await first).delta).toHaveLength(2);

    const second = conn.fit(request(2), new AbortController().signal);
    const t2 = lastTask();
    if (t2.type !== 'fit') throw new Error('expected a fit task');
    expect(t2.weights).toBeUndefined();
    expect(Array.from(t2.trainable!)).toEqual([7, 8]);
    reply(2, 8);
    await expect(second).rejects.toThrow('delta has 8 values, the model has 2 trainable (of 8; frozen parameters are left out)');
  });
});

describe('what a peer says reaches the log quoted and cut short', () => {
  it('an unauthenticated error frame with a 3,000-character message and terminal escapes is logged as one quoted line of 200 characters', () => {
    const { socket, log } = connection();
    const message = `\x1b[2J\n12:00:00 ERROR round 3 ${'x'.repeat(3000)}`;
    socket.emit('message', Buffer.from(encodeMessage({ type: 'error', code: 'X', message })), true);
    const line = log.entries.find((e) => /the client gave up/.test(e.msg ?? ''))!.msg!;
    expect(line).toContain('handshake failed: the client gave up: "\\x1b[2J\\n12:00:00 ERROR round 3 x');
    expect(line).toMatch(/x…"$/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the line must hold no raw control character
    expect(line).not.toMatch(/[\x00-\x1f]/);
    expect(line.length).toBeLessThan(400);
  });
});
