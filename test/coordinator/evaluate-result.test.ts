import { describe, expect, it } from 'vitest';
import type { ClientConnection } from '../../coordinator/client-connection.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';
import { readyConnection } from './connection-helpers.ts';

const weights = Float32Array.of(1, 2, 3);

const evaluate = (conn: ClientConnection, round = 1, signal = new AbortController().signal) =>
  conn.evaluate({ round, modelVersion: round, spec: DEFAULT_MODEL, weights }, signal);

describe('evaluate tasks at the wire boundary', () => {
  it('sends the weights once per model version and resolves with the validated result', async () => {
    const { conn, send, received } = readyConnection();
    const first = evaluate(conn);
    send({ type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.75 } });
    await expect(first).resolves.toEqual({ type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.75 } });
    const again = evaluate(conn);
    send({ type: 'evaluateResult', round: 1, numExamples: 0, metrics: {} });
    await expect(again).resolves.toMatchObject({ numExamples: 0 });
    const [a, b] = received().filter((m) => m.type === 'evaluate');
    expect(a!.type === 'evaluate' && [...a!.weights!]).toEqual([1, 2, 3]);
    expect(b!.type === 'evaluate' && b!.weights).toBeUndefined();
  });

  const valid: Record<string, unknown> = { type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.5 } };
  for (const [what, bad, pattern, code] of [
    ['a negative example count', { numExamples: -3 }, /"evaluateResult" .*numExamples/, 4422],
    ['a metric that is not a number', { metrics: { accuracy: 'good' } }, /"evaluateResult" .*at metrics\.accuracy/, 4422],
    ['metrics with no examples', { numExamples: 0 }, /metrics must be empty exactly when numExamples is 0/, 4422],
    ['an accuracy outside 0..1', { metrics: { accuracy: 1e300 } }, /"evaluateResult" .*at metrics\.accuracy/, 4422],
    ['a negative loss', { metrics: { loss: -1 } }, /"evaluateResult" .*at metrics\.loss/, 4422],
    ['a metric nobody asked for', { metrics: { accuracy: 0.5, bribe: 1 } }, /"evaluateResult" .*bribe/, 4422],
    ['an unknown field', { delta: new Float32Array(3) }, /"evaluateResult" .*delta/, 4422],
    ['another round', { round: 2 }, /evaluateResult is for round 2, the task was for round 1/, 4422],
  ] as const) {
    it(`${what}: a protocol error with a precise message closes that connection, nothing throws`, async () => {
      const { socket, conn, log, send } = readyConnection();
      const pending = evaluate(conn);
      expect(() => send({ ...valid, ...bad })).not.toThrow();
      await expect(pending).rejects.toThrow(pattern);
      expect(socket.closedWith).toBe(code);
      expect(log.entries.some((e) => pattern.test(e.msg ?? ''))).toBe(true);
    });
  }

  it('an evaluateResult nobody asked for, or where a fitResult is awaited, is unexpected (4409)', async () => {
    const idle = readyConnection();
    idle.send({ type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.5 } });
    expect(idle.socket.closedWith).toBe(4409);
    expect(idle.log.entries.some((e) => /evaluateResult for round 1, but no evaluate task is outstanding/.test(e.msg ?? ''))).toBe(true);
    const training = readyConnection();
    const config = fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05 });
    const fit = training.conn.fit({ round: 1, modelVersion: 0, spec: DEFAULT_MODEL, weights, config, seed: 1 }, new AbortController().signal);
    training.send({ type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.5 } });
    await expect(fit).rejects.toThrow(/evaluateResult for round 1, but no evaluate task is outstanding/);
    expect(training.socket.closedWith).toBe(4409);
  });

  it('a late result after the deadline is dropped, not an error', async () => {
    const { socket, conn, log, send } = readyConnection();
    const deadline = new AbortController();
    const pending = evaluate(conn, 1, deadline.signal);
    deadline.abort();
    await expect(pending).rejects.toThrow(/missed the evaluation of round 1 deadline/);
    send({ type: 'evaluateResult', round: 1, numExamples: 12, metrics: { accuracy: 0.5 } });
    expect(socket.closedWith).toBeUndefined();
    expect(log.entries.some((e) => /dropped late evaluation for round 1 from site/.test(e.msg ?? ''))).toBe(true);
  });
});
