import { describe, expect, it } from 'vitest';
import type { ClientConnection } from '../../coordinator/client-connection.ts';
import { ClientPeer } from '../../coordinator/client-peer.ts';
import { memoryLogger } from '../../shared/log.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import type { FitTask } from '../../shared/protocol/messages.ts';
import { readyConnection } from './connection-helpers.ts';

const spec = { type: 'mlp' as const, inputs: 3, hidden: [], outputs: 2, activation: 'relu' as const };
const weights = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const config = fitConfig({ epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1 });
const fitRequest = (round: number) => ({ round, modelVersion: round - 1, spec, weights, config, seed: 1 });
const fitResult = (round: number, value = 1) => ({
  type: 'fitResult',
  round,
  numExamples: 4,
  delta: new Float32Array(8).fill(value),
  metrics: {},
  seconds: 0,
});

/** One client identity (a ClientPeer) and a way to open sessions of it over fake sockets, wired as the server wires them. */
function identity() {
  const log = memoryLogger();
  let idle = 0;
  const peer = new ClientPeer({
    id: 'c1',
    name: 'site',
    identity: 'key:site',
    log,
    onIdle: () => {
      idle++;
    },
  });
  let sessions = 0;
  const session = () => {
    const s = readyConnection({ id: `c${++sessions}`, log, onClosed: (c: ClientConnection) => peer.detach(c, c.closedBecause!) });
    peer.attach(s.conn);
    const tasks = () => s.received().filter((m): m is FitTask => m.type === 'fit');
    return { ...s, tasks };
  };
  return { peer, session, log, idle: () => idle };
}

const text = (log: ReturnType<typeof memoryLogger>) => log.entries.map((e) => e.msg ?? '').join('\n');
/** Lets the promise callbacks queued so far run (a lost session's rejection reaches the peer through them). */
const settled = () => new Promise((r) => setImmediate(r));

describe('a client identity across sessions', () => {
  it("a task whose session is lost waits for the identity's next session, is sent to it with the full weights, and its answer answers the task", async () => {
    const { peer, session, log } = identity();
    const a = session();
    const pending = peer.fit(fitRequest(2), new AbortController().signal);
    expect(a.tasks()).toHaveLength(1);
    a.socket.emit('close', 1006, Buffer.alloc(0));
    expect(peer.ready).toBe(false);
    await settled();

    const b = session();
    await settled();
    const [task] = b.tasks();
    expect(task).toMatchObject({ round: 2, modelVersion: 1, seed: 1 });
    // the new session holds no model: the weights go in full
    expect(Array.from(task!.weights!)).toEqual(Array.from(weights));
    b.send(fitResult(2, 0.5));
    expect((await pending).delta[0]).toBe(0.5);
    expect(text(log)).toMatch(/client site \(c1\) disconnected \(code 1006\) with the round 2 task outstanding; it is sent again if the client reconnects/);
    // a repeat of that answer is dropped and logged; the session stays
    b.send(fitResult(2, 0.5));
    expect(b.socket.closedWith).toBeUndefined();
    expect(text(log)).toMatch(/dropped a repeated result for round 2 from site \(c2\): that task was already answered or given up on/);
  });

  it('a client that does not come back fails at the deadline, saying so; an answer to that task on a later session is dropped', async () => {
    const { peer, session, log, idle } = identity();
    const a = session();
    const deadline = new AbortController();
    const pending = peer.fit(fitRequest(1), deadline.signal);
    a.socket.emit('close', 1006, Buffer.alloc(0));
    await settled();
    expect(idle()).toBe(0); // a task still waits for it: the server keeps the peer
    deadline.abort();
    await expect(pending).rejects.toThrow('client site (c1) disconnected (code 1006); it did not return before the round 1 deadline');
    expect(idle()).toBe(1);

    const b = session();
    expect(b.tasks()).toHaveLength(0);
    b.send(fitResult(1));
    expect(b.socket.closedWith).toBeUndefined();
    expect(text(log)).toMatch(/dropped a repeated result for round 1 from site \(c2\)/);
  });

  it('a client that fails the task or breaks the protocol is not waited for', async () => {
    const { peer, session } = identity();
    const a = session();
    const failed = peer.fit(fitRequest(1), new AbortController().signal);
    a.send({ type: 'taskFailed', round: 1, task: 'fit', code: 'E_DIVERGED', message: 'NaN' });
    await expect(failed).rejects.toThrow(/could not do round 1's training \(E_DIVERGED\)/);

    const broken = peer.fit(fitRequest(2), new AbortController().signal);
    a.send({ ...fitResult(2), delta: new Float32Array(3) });
    await expect(broken).rejects.toThrow(/delta has 3 values, the model has 8/);
    expect(a.socket.closedWith).toBe(4422);

    const b = session();
    const gaveUp = peer.fit(fitRequest(3), new AbortController().signal);
    b.send({ type: 'error', code: 'E_CLIENT', message: 'out of disk' });
    await expect(gaveUp).rejects.toThrow(/client site \(c2\) failed: "?out of disk/);
  });

  it('a session replaced by a newer one of the same identity hands its task to it', async () => {
    const { peer, session } = identity();
    const a = session();
    const pending = peer.fit(fitRequest(1), new AbortController().signal);
    a.conn.replace();
    expect(a.socket.closedWith).toBe(4410);
    await settled();
    const b = session();
    await settled();
    expect(b.tasks()).toHaveLength(1);
    b.send(fitResult(1, 2));
    expect((await pending).delta[0]).toBe(2);
  });

  it('when the server ends the peer, a task waiting for it fails at once', async () => {
    const { peer, session } = identity();
    const a = session();
    const pending = peer.fit(fitRequest(1), new AbortController().signal);
    a.socket.emit('close', 1001, Buffer.alloc(0));
    peer.end('the coordinator is shutting down');
    await expect(pending).rejects.toThrow('client site (c1) disconnected (code 1001); the coordinator is shutting down');
  });

  it("secure aggregation stays on the session its round began on: a new session cannot take over the client's keys", async () => {
    const { peer, session } = identity();
    const a = session();
    const advertise = { type: 'secagg' as const, phase: 'advertise' as const, round: 1, clients: 3, threshold: 2 };
    const first = peer.secagg({ phase: 'advertise', task: advertise as never }, new AbortController().signal);
    a.socket.emit('close', 1006, Buffer.alloc(0));
    await expect(first).rejects.toThrow(/disconnected/);
    session();
    const shareKeys = { type: 'secagg' as const, phase: 'shareKeys' as const, round: 1, keys: [] };
    await expect(peer.secagg({ phase: 'shareKeys', task: shareKeys as never }, new AbortController().signal)).rejects.toThrow(
      "client site (c1) is on a new session since the round began: it cannot continue round 1's secure aggregation",
    );
  });
});
