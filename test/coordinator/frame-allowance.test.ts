import { describe, expect, it } from 'vitest';
import type { ClientConnection } from '../../coordinator/client-connection.ts';
import { CONTROL_ALLOWANCE, defaultMaxPayloadBytes, fitResultAllowance, largestAnswerBytes, secaggAllowance } from '../../coordinator/frame-limits.ts';
import { ReceiveBudget } from '../../coordinator/receive-budget.ts';
import { frameLimits } from '../../coordinator/coordinator.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';
import { testConfig } from '../e2e/helpers.ts';
import { readyConnection } from './connection-helpers.ts';

const config = fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 });
const VALUES = 1000;
const sendFit = (conn: ClientConnection, round: number, signal = new AbortController().signal) =>
  conn.fit({ round, modelVersion: round - 1, spec: DEFAULT_MODEL, weights: new Float32Array(VALUES), config, seed: 1 }, signal);
const result = (round: number) => ({ type: 'fitResult', round, numExamples: 5, delta: new Float32Array(VALUES), metrics: {}, seconds: 0 });

describe('per-state frame allowances', () => {
  it('an idle connection allows control frames; a fit task raises the limit to its answer, which is lowered again once it arrives', async () => {
    const { socket, conn, send } = readyConnection();
    expect(socket._receiver._maxPayload).toBe(CONTROL_ALLOWANCE.bytes);
    const pending = sendFit(conn, 1);
    expect(socket._receiver._maxPayload).toBe(fitResultAllowance(VALUES).bytes);
    send(result(1));
    await expect(pending).resolves.toMatchObject({ numExamples: 5 });
    expect(socket._receiver._maxPayload).toBe(CONTROL_ALLOWANCE.bytes);
  });

  it('an abandoned task keeps its allowance until its late answer arrives (dropped, not an error)', async () => {
    const { socket, conn, send } = readyConnection();
    const deadline = new AbortController();
    const pending = sendFit(conn, 1, deadline.signal);
    deadline.abort();
    await expect(pending).rejects.toThrow(/missed the round 1 deadline/);
    expect(socket._receiver._maxPayload).toBe(fitResultAllowance(VALUES).bytes);
    send(result(1));
    expect(socket.closedWith).toBeUndefined();
    expect(socket._receiver._maxPayload).toBe(CONTROL_ALLOWANCE.bytes);
  });

  it('the receive budget across connections: a task that would exceed it fails for that client only; the room returns when an answer arrives or a connection closes', async () => {
    // room for one answer above the control size every connection always has
    const budget = new ReceiveBudget(fitResultAllowance(VALUES).bytes - CONTROL_ALLOWANCE.bytes);
    const a = readyConnection({ budget });
    const b = readyConnection({ budget });
    const first = sendFit(a.conn, 1);
    await expect(sendFit(b.conn, 1)).rejects.toThrow(
      /the coordinator's receive budget \(\d+ bytes\) is exhausted .*; client site \(c1\) was not sent the round 1 task/,
    );
    // b was not sent a task and may still only send control frames
    expect(b.socket._receiver._maxPayload).toBe(CONTROL_ALLOWANCE.bytes);
    a.send(result(1));
    await first;
    expect(budget.reserved).toBe(0);
    const second = sendFit(b.conn, 2);
    expect(budget.reserved).toBeGreaterThan(0);
    b.socket.emit('close', 1006, Buffer.alloc(0));
    await expect(second).rejects.toThrow(/disconnected/);
    expect(budget.reserved).toBe(0);
  });

  it('at most two late answers are awaited per connection: a third missed deadline drops the oldest, whose answer is then unexpected', async () => {
    const { socket, conn, send } = readyConnection();
    for (const round of [1, 2, 3]) {
      const deadline = new AbortController();
      const pending = sendFit(conn, round, deadline.signal);
      deadline.abort();
      await expect(pending).rejects.toThrow(/missed the round \d deadline/);
    }
    send(result(3));
    send(result(2));
    expect(socket.closedWith).toBeUndefined();
    send(result(1));
    expect(socket.closedWith).toBe(4409);
  });

  it('the budget never counts a negative reservation', () => {
    const budget = new ReceiveBudget(100);
    const owner = {};
    expect(budget.resize(owner, -50)).toBe(true);
    expect(budget.reserved).toBe(0);
    expect(budget.resize(owner, 60)).toBe(true);
    expect(budget.resize({}, 60)).toBe(false);
    budget.release(owner);
    expect(budget.reserved).toBe(0);
  });

  it('a taskFailed answer fails the task and keeps the connection', async () => {
    const { socket, conn, send } = readyConnection();
    const pending = sendFit(conn, 1);
    send({ type: 'taskFailed', round: 1, task: 'fit', code: 'E_DIVERGED', message: 'NaN from model version 0' });
    await expect(pending).rejects.toThrow(/client site \(c1\) could not do round 1's training \(E_DIVERGED\): NaN from model version 0/);
    expect(socket.closedWith).toBeUndefined();
    expect(conn.ready).toBe(true);
    // one for a task nobody asked for is still a protocol error
    send({ type: 'taskFailed', round: 2, task: 'evaluate', code: 'E_X', message: '' });
    expect(socket.closedWith).toBe(4409);
  });

  it("secure-aggregation answers are allowed what their phase needs for the round's n", () => {
    expect(secaggAllowance('advertise', 100, 0)).toBe(CONTROL_ALLOWANCE);
    expect(secaggAllowance('shareKeys', 100, 0).bytes).toBeGreaterThan(100 * 1024);
    expect(secaggAllowance('shareKeys', 100, 0).shape.maxContainer).toBe(100);
    expect(secaggAllowance('maskedInput', 10, 101_771).bytes).toBeGreaterThan(4 * 101_771);
  });
});

describe('maxPayloadBytes and the receive budget from the run', () => {
  it('are sized from the model by default; a set maxPayloadBytes too small for the model is a config error', () => {
    // the default MLP: 101,770 values → a 0.41 MB answer → 1 MiB
    expect(frameLimits(testConfig({ clients: 10 }), 101_770)).toEqual({ maxPayloadBytes: 1024 * 1024, receiveBudgetBytes: 64 * 1024 * 1024 });
    expect(defaultMaxPayloadBytes(largestAnswerBytes(1_663_370, 10, false))).toBe(7 * 1024 * 1024);
    expect(() => frameLimits(testConfig({ maxPayloadBytes: 100_000 }), 101_770)).toThrow(
      /maxPayloadBytes 100000 is too small for this run: a client's answer can be 443968 bytes/,
    );
    expect(() => frameLimits(testConfig({ receiveBudgetBytes: 1024 * 1024, maxPayloadBytes: 2 * 1024 * 1024 }), 101_770)).toThrow(
      /receiveBudgetBytes .* is smaller than one client's answer/,
    );
  });
});
