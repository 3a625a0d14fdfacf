import type { AddressInfo } from 'node:net';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClientAgent } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { decodeMessage, encodeMessage } from '../../shared/protocol/codec.ts';
import { toCoordinatorSchema } from '../../shared/protocol/messages.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';

const idle: Trainer = { fit: () => Promise.reject(new Error('not expected to train')), evaluate: () => Promise.reject(new Error('not expected to evaluate')) };
let server: WebSocketServer | undefined;

/** A fake coordinator that does whatever `onHello` says after the client's first frame; `autoPong: false` makes it deaf to heartbeats. */
async function fakeCoordinator(onHello: (ws: WebSocket) => void, options: { autoPong?: boolean } = {}): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  server.on('connection', (ws) => ws.once('message', () => onHello(ws)));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const c of server?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

describe('client agent against a misbehaving coordinator', () => {
  it('gives up when no welcome arrives', async () => {
    const url = await fakeCoordinator(() => {});
    const agent = new ClientAgent({ url, name: 'a', trainer: idle, log: silentLogger, connectTimeoutMs: 200, reconnect: false });
    await expect(agent.run()).rejects.toThrow(/welcome did not arrive within 200 ms/);
  });

  it('refuses garbage, a wrong protocol version and a task without weights', async () => {
    const garbage = await fakeCoordinator((ws) => ws.send(Uint8Array.of(0x82, 0xa1)));
    await expect(new ClientAgent({ url: garbage, name: 'a', trainer: idle, log: silentLogger }).run()).rejects.toThrow(/malformed frame/);
    server!.close();

    const version = await fakeCoordinator((ws) => ws.send(encodeMessage({ type: 'welcome', protocolVersion: 7, clientId: 'c1', runId: 'r' })));
    await expect(new ClientAgent({ url: version, name: 'a', trainer: idle, log: silentLogger }).run()).rejects.toThrow(/protocol version 7 is not supported/);
    server!.close();

    const noWeights = await fakeCoordinator((ws) => {
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      ws.send(
        encodeMessage({
          type: 'fit',
          round: 1,
          modelVersion: 3,
          spec: DEFAULT_MODEL,
          config: fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.1, momentum: 0, mu: 0 }),
          seed: 1,
        }),
      );
    });
    await expect(new ClientAgent({ url: noWeights, name: 'a', trainer: idle, log: silentLogger }).run()).rejects.toThrow(/came without weights/);
  });

  it('settles even when the refusal it gets carries a reason too long for a close frame', async () => {
    const url = await fakeCoordinator((ws) => ws.send(encodeMessage({ type: 'error', code: '€'.repeat(60), message: 'no' })));
    await expect(new ClientAgent({ url, name: 'a', trainer: idle, log: silentLogger }).run()).rejects.toThrow(/the coordinator refused this client: no/);
  });

  it('reports an unreachable coordinator after retrying with backoff', async () => {
    const url = await fakeCoordinator(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const log = memoryLogger();
    await expect(new ClientAgent({ url, name: 'a', trainer: idle, log, reconnect: { attempts: 3, initialDelayMs: 20, maxDelayMs: 40 } }).run()).rejects.toThrow(
      /cannot reach the coordinator/,
    );
    // three waits, each uniform below its cap of 20, 40, 40 ms, between four attempts
    const waits = log.entries.filter((e) => /connecting again in/.test(e.msg ?? '')).map((e) => e.obj as { attempt: number; waitMs: number });
    expect(waits.map((w) => w.attempt)).toEqual([1, 2, 3]);
    expect(waits.map((w, i) => w.waitMs <= [20, 40, 40][i]!)).toEqual([true, true, true]);
  });

  it('connects again after a dropped connection and finishes the run; a refusal is not retried', async () => {
    let connections = 0;
    const url = await fakeCoordinator((ws) => {
      connections++;
      // the first connection breaks before the welcome (1006), the second completes the run
      if (connections === 1) return ws.terminate();
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c2', runId: 'r' }));
      ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 0 }));
    });
    await expect(new ClientAgent({ url, name: 'a', trainer: idle, log: silentLogger, reconnect: { initialDelayMs: 10 } }).run()).resolves.toMatchObject({
      reason: 'ok',
    });
    expect(connections).toBe(2);
    server!.close();

    let refusals = 0;
    const refusing = await fakeCoordinator((ws) => {
      refusals++;
      ws.send(encodeMessage({ type: 'error', code: 'E_HANDSHAKE', message: 'not allowed' }));
      ws.close(4401);
    });
    await expect(new ClientAgent({ url: refusing, name: 'a', trainer: idle, log: silentLogger, reconnect: { initialDelayMs: 10 } }).run()).rejects.toThrow(
      /not allowed/,
    );
    expect(refusals).toBe(1);
  });

  it('a session welcomed and dropped at once does not reset the retry count: the client gives up instead of looping', async () => {
    let connections = 0;
    const url = await fakeCoordinator((ws) => {
      connections++;
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      setTimeout(() => ws.terminate(), 10);
    });
    await expect(
      new ClientAgent({ url, name: 'a', trainer: idle, log: silentLogger, reconnect: { attempts: 3, initialDelayMs: 5, maxDelayMs: 10 } }).run(),
    ).rejects.toThrow(/closed the connection \(code 1006/);
    expect(connections).toBe(4);
  });

  it('a task still running when its session drops finishes before the next session starts, and its answer is not counted; queued ones are dropped', async () => {
    let running = 0;
    let overlapped = false;
    const slow: Trainer = {
      evaluate: idle.evaluate,
      fit: async (_s, w) => {
        running++;
        overlapped ||= running > 1;
        await new Promise((r) => setTimeout(r, 150));
        running--;
        return { delta: new Float32Array(w.length), numExamples: 4, metrics: { loss: 1, accuracy: 0, epochs: 1 } };
      },
    };
    const spec = { type: 'mlp' as const, inputs: 3, hidden: [], outputs: 2, activation: 'relu' as const };
    const config = fitConfig({ epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1 });
    let connections = 0;
    const url = await fakeCoordinator((ws) => {
      connections++;
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: `c${connections}`, runId: 'r' }));
      if (connections === 1) {
        // two tasks, then the connection breaks while the first trains
        ws.send(encodeMessage({ type: 'fit', round: 1, modelVersion: 0, spec, weights: new Float32Array(8), config, seed: 1 }));
        ws.send(encodeMessage({ type: 'fit', round: 2, modelVersion: 0, spec, config, seed: 2 }));
        setTimeout(() => ws.terminate(), 50);
        return;
      }
      ws.send(encodeMessage({ type: 'fit', round: 3, modelVersion: 2, spec, weights: new Float32Array(8).fill(2), config, seed: 3 }));
      ws.on('message', () => ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 3 })));
    });
    const outcome = await new ClientAgent({ url, name: 'a', trainer: slow, log: silentLogger, reconnect: { initialDelayMs: 5 } }).run();
    expect(outcome).toMatchObject({ reason: 'ok', rounds: 1 });
    expect(overlapped).toBe(false);
    expect(connections).toBe(2);
  });

  it('reports a training that diverged as a failed task and stays in the run', async () => {
    const nan: Trainer = {
      fit: async (_s, w) => ({ delta: new Float32Array(w.length).fill(Number.NaN), numExamples: 4, metrics: { loss: Number.NaN, accuracy: 0, epochs: 1 } }),
      evaluate: idle.evaluate,
    };
    const got: string[] = [];
    const url = await fakeCoordinator((ws) => {
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      ws.send(
        encodeMessage({
          type: 'fit',
          round: 1,
          modelVersion: 0,
          spec: DEFAULT_MODEL,
          weights: new Float32Array(101_770),
          config: fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.1 }),
          seed: 1,
        }),
      );
      ws.on('message', (data) => {
        const m = decodeMessage(data as Buffer, toCoordinatorSchema, 1 << 20);
        got.push(m.type === 'taskFailed' ? `${m.type} ${m.round} ${m.task} ${m.code}` : m.type);
        if (m.type === 'taskFailed') ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 1 }));
      });
    });
    await expect(new ClientAgent({ url, name: 'a', trainer: nan, log: silentLogger }).run()).resolves.toMatchObject({ reason: 'ok', rounds: 0 });
    expect(got).toEqual(['taskFailed 1 fit E_DIVERGED']);
  });

  it('with frozen parameters: sends only the trainable delta, fills trainable-only fit and evaluate tasks into the held model, refuses one it cannot fill', async () => {
    const spec = { type: 'mlp' as const, inputs: 3, hidden: [], outputs: 2, activation: 'relu' as const };
    const config = fitConfig({ epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1, frozen: ['dense0/kernel'] });
    const seen: number[][] = [];
    // a trainer that records the full weights it is given and moves every value by +1
    const evaluated: number[][] = [];
    const trainer: Trainer = {
      fit: async (_s, w) => {
        seen.push(Array.from(w));
        return { delta: new Float32Array(w.length).fill(1), numExamples: 4, metrics: { loss: 1, accuracy: 0, epochs: 1 } };
      },
      evaluate: async (_s, w) => {
        evaluated.push(Array.from(w));
        return { numExamples: 2, metrics: { loss: 0.5, accuracy: 1 } };
      },
    };
    const deltas: number[][] = [];
    const url = await fakeCoordinator((ws) => {
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      ws.send(encodeMessage({ type: 'fit', round: 1, modelVersion: 0, spec, weights: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), config, seed: 1 }));
      ws.on('message', (data) => {
        const m = decodeMessage(data as Buffer, toCoordinatorSchema, 1 << 20);
        // round 1's new model reaches the client with its evaluate task, trainable values only; round 2's fit then carries no weights
        if (m.type === 'evaluateResult') return ws.send(encodeMessage({ type: 'fit', round: 2, modelVersion: 1, spec, config, seed: 2 }));
        if (m.type !== 'fitResult') return;
        deltas.push(Array.from(m.delta));
        if (m.round === 1)
          ws.send(encodeMessage({ type: 'evaluate', round: 1, modelVersion: 1, spec, trainable: Float32Array.of(70, 80), frozen: ['dense0/kernel'] }));
        else ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 2 }));
      });
    });
    await expect(new ClientAgent({ url, name: 'a', trainer, log: silentLogger }).run()).resolves.toMatchObject({ rounds: 2 });
    expect(seen).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [1, 2, 3, 4, 5, 6, 70, 80],
    ]);
    expect(evaluated).toEqual([[1, 2, 3, 4, 5, 6, 70, 80]]);
    expect(deltas).toEqual([
      [1, 1],
      [1, 1],
    ]);
    server!.close();

    const orphan = await fakeCoordinator((ws) => {
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      ws.send(encodeMessage({ type: 'fit', round: 1, modelVersion: 0, spec, trainable: Float32Array.of(7, 8), config, seed: 1 }));
    });
    await expect(new ClientAgent({ url: orphan, name: 'a', trainer: idle, log: silentLogger }).run()).rejects.toThrow(
      /holds no model of this run to take the frozen values from/,
    );
  });
});

describe('client agent: heartbeats, giving up, and a task that comes again', () => {
  it('takes a coordinator that answers no heartbeat as gone, cuts the connection and connects again', async () => {
    let connections = 0;
    const closes: number[] = [];
    const url = await fakeCoordinator(
      (ws) => {
        connections++;
        ws.on('close', (code) => closes.push(code));
        ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: `c${connections}`, runId: 'r' }));
        // the first coordinator then falls silent (it never pongs); the second ends the run
        if (connections === 2) ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 0 }));
      },
      { autoPong: false },
    );
    const log = memoryLogger();
    const agent = new ClientAgent({ url, name: 'a', trainer: idle, log, heartbeatIntervalMs: 50, reconnect: { initialDelayMs: 10 } });
    await expect(agent.run()).resolves.toMatchObject({ reason: 'ok' });
    expect(connections).toBe(2);
    // cut without a close handshake: a coordinator that does not answer pings would not answer that either
    expect(closes[0]).toBe(1006);
    expect(
      log.entries.some((e) => /the coordinator answered no heartbeat for \d+\.\d s; the connection is taken as lost; connecting again/.test(e.msg ?? '')),
    ).toBe(true);
  });

  it('pings no coordinator with heartbeats off, and leaves one that answers them alone', async () => {
    const url = await fakeCoordinator((ws) => {
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
      setTimeout(() => ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 0 })), 300);
    });
    let pings = 0;
    server!.on('connection', (ws) => ws.on('ping', () => pings++));
    await expect(new ClientAgent({ url, name: 'a', trainer: idle, log: silentLogger, heartbeatIntervalMs: 50, reconnect: false }).run()).resolves.toMatchObject(
      {
        reason: 'ok',
      },
    );
    expect(pings).toBeGreaterThan(0);
    server!.close();

    const quiet = await fakeCoordinator(
      (ws) => {
        ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: 'c1', runId: 'r' }));
        setTimeout(() => ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 0 })), 300);
      },
      { autoPong: false },
    );
    let quietPings = 0;
    server!.on('connection', (ws) => ws.on('ping', () => quietPings++));
    await expect(
      new ClientAgent({ url: quiet, name: 'a', trainer: idle, log: silentLogger, heartbeatIntervalMs: 0, reconnect: false }).run(),
    ).resolves.toMatchObject({ reason: 'ok' });
    expect(quietPings).toBe(0);
  });

  it('gives up once giveUpAfterMs has passed since the connection was lost, with attempts to spare', async () => {
    const url = await fakeCoordinator(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const log = memoryLogger();
    const reconnect = { attempts: 100_000, initialDelayMs: 5, maxDelayMs: 20, giveUpAfterMs: 200 };
    await expect(new ClientAgent({ url, name: 'a', trainer: idle, log, reconnect }).run()).rejects.toThrow(/cannot reach the coordinator/);
    const attempts = log.entries.filter((e) => /connecting again in/.test(e.msg ?? '')).length;
    expect(attempts).toBeGreaterThan(0);
    expect(attempts).toBeLessThan(100_000);
    expect(log.entries.some((e) => /giving up: no session with the coordinator for \d+\.\d s/.test(e.msg ?? ''))).toBe(true);
  });

  it('answers a task sent again after a lost connection with the answer it computed, without training twice or counting the round twice', async () => {
    let trainings = 0;
    const trainer: Trainer = {
      evaluate: idle.evaluate,
      fit: async (_s, w) => {
        trainings++;
        await new Promise((r) => setTimeout(r, 100));
        return { delta: new Float32Array(w.length).fill(0.25), numExamples: 4, metrics: { loss: 1, accuracy: 0, epochs: 1 } };
      },
    };
    const spec = { type: 'mlp' as const, inputs: 3, hidden: [], outputs: 2, activation: 'relu' as const };
    const config = fitConfig({ epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1 });
    const task = { type: 'fit' as const, round: 1, modelVersion: 0, spec, weights: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), config, seed: 1 };
    const results: number[][] = [];
    let connections = 0;
    const url = await fakeCoordinator((ws) => {
      connections++;
      ws.send(encodeMessage({ type: 'welcome', protocolVersion: 1, clientId: `c${connections}`, runId: 'r' }));
      ws.send(encodeMessage(task));
      // the first connection breaks while the client trains: its answer is lost with it
      if (connections === 1) return void setTimeout(() => ws.terminate(), 30);
      ws.on('message', (data) => {
        const m = decodeMessage(data as Buffer, toCoordinatorSchema, 1 << 20);
        if (m.type !== 'fitResult') return;
        results.push(Array.from(m.delta));
        ws.send(encodeMessage({ type: 'done', reason: 'ok', rounds: 1 }));
      });
    });
    const log = memoryLogger();
    const outcome = await new ClientAgent({ url, name: 'a', trainer, log, reconnect: { initialDelayMs: 5 } }).run();
    expect(outcome).toMatchObject({ reason: 'ok', rounds: 1 });
    expect(trainings).toBe(1);
    expect(results).toEqual([Array(8).fill(0.25)]);
    expect(log.entries.some((e) => /round 1: the task came again after a lost connection; sending the answer computed for it before/.test(e.msg ?? ''))).toBe(
      true,
    );
  });
});
