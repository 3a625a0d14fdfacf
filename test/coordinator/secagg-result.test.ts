import { describe, expect, it } from 'vitest';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';
import { readyConnection } from './connection-helpers.ts';

/** The secure-aggregation tasks among what the coordinator sent. */
function secaggConnection() {
  const c = readyConnection();
  return { ...c, received: () => c.received().filter((m) => m.type === 'secagg') };
}

const advertise = { type: 'secagg', phase: 'advertise', round: 1, index: 1, clients: 3, threshold: 2, dimension: 3, clip: 1, scale: 1024 } as const;
const keys = { type: 'secaggResult', phase: 'advertise', round: 1, cPk: new Uint8Array(32).fill(1), sPk: new Uint8Array(32).fill(2) };

describe('secure-aggregation tasks at the wire boundary', () => {
  it('sends the phase task and resolves with the answer to that phase', async () => {
    const { conn, send, received } = secaggConnection();
    const pending = conn.secagg({ phase: 'advertise', task: advertise }, new AbortController().signal);
    send(keys);
    await expect(pending).resolves.toMatchObject({ phase: 'advertise', round: 1 });
    expect(received()).toEqual([advertise]);
  });

  it('the maskedInput task carries the model like a fit task; a masked vector of the wrong length is 4422', async () => {
    const { conn, send, socket, received } = secaggConnection();
    const config = fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05 });
    const fit = { round: 1, modelVersion: 0, spec: DEFAULT_MODEL, weights: Float32Array.of(1, 2, 3), config, seed: 7 };
    const pending = conn.secagg({ phase: 'maskedInput', fit, senders: [1, 2], shares: [], dimension: 3 }, new AbortController().signal);
    const task = received()[0]!;
    expect(task.type === 'secagg' && task.phase === 'maskedInput' && [...task.weights!]).toEqual([1, 2, 3]);
    send({ type: 'secaggResult', phase: 'maskedInput', round: 1, masked: new Uint32Array(4), complaints: [], metrics: {}, seconds: 0 });
    await expect(pending).rejects.toThrow(/masked input has 4 words, the round's vectors have 3/);
    expect(socket.closedWith).toBe(4422);
  });

  for (const [what, bad, pattern, code] of [
    ['a 31-byte key', { cPk: new Uint8Array(31) }, /"secaggResult" expected 32 bytes at cPk/, 4422],
    ['an unknown phase', { phase: 'reveal' }, /"secaggResult" .*phase/, 4422],
    ['an unknown field', { masked: new Uint32Array(3) }, /"secaggResult" .*masked/, 4422],
    [
      'a float array for a share',
      { phase: 'unmask', cPk: undefined, sPk: undefined, selfMaskShares: [{ of: 1, share: new Float32Array(16) }], keyShares: [] },
      /"secaggResult" .*selfMaskShares/,
      4422,
    ],
    [
      'the answer to another phase',
      { phase: 'shareKeys', cPk: undefined, sPk: undefined, shares: [] },
      /secaggResult answers the shareKeys phase, the task was for the advertise phase/,
      4422,
    ],
    ['another round', { round: 2 }, /secaggResult is for round 2, the task was for round 1/, 4422],
  ] as const) {
    it(`${what}: a protocol error closes that connection with a precise message`, async () => {
      const { socket, conn, log, send } = secaggConnection();
      const pending = conn.secagg({ phase: 'advertise', task: advertise }, new AbortController().signal);
      const msg: Record<string, unknown> = { ...keys, ...bad };
      for (const k of Object.keys(msg)) if (msg[k] === undefined) delete msg[k];
      expect(() => send(msg)).not.toThrow();
      await expect(pending).rejects.toThrow(pattern);
      expect(socket.closedWith).toBe(code);
      expect(log.entries.some((e) => pattern.test(e.msg ?? ''))).toBe(true);
    });
  }

  it('a secaggResult nobody asked for is unexpected (4409); a late one after the deadline is dropped', async () => {
    const idle = secaggConnection();
    idle.send(keys);
    expect(idle.socket.closedWith).toBe(4409);
    const late = secaggConnection();
    const deadline = new AbortController();
    const pending = late.conn.secagg({ phase: 'advertise', task: advertise }, deadline.signal);
    deadline.abort();
    await expect(pending).rejects.toThrow(/missed the secure aggregation advertise phase of round 1 deadline/);
    late.send(keys);
    expect(late.socket.closedWith).toBeUndefined();
  });
});
