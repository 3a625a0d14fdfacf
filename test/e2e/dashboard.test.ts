import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { DashboardFeed, type DashboardState } from '../../coordinator/dashboard/feed.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { simulate } from '../../simulations/simulate.ts';
import { deferred, fixedDelta, heldFromSecondTask, testConfig, testKeys } from './helpers.ts';

const keys = testKeys(3);

const failing: Trainer = { evaluate: () => Promise.reject(new Error('no evaluation')), fit: () => Promise.reject(new Error('disk full')) };

/** The server-sent events a stream carries, until it ends: each name with its parsed data. */
async function readEvents(url: string): Promise<{ events: Promise<{ name: string; data: unknown }[]> }> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events = (async () => {
    const text = await res.text();
    return text
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => {
        const [head, data] = block.split('\n');
        return { name: head!.slice('event: '.length), data: JSON.parse(data!.slice('data: '.length)) as unknown };
      });
  })();
  return { events };
}

describe('the dashboard', () => {
  it('is off by default and loopback only; on, its page, state and event stream follow the run round by round, clients and failures included', async () => {
    const off = await startCoordinator(testConfig({ clients: 1, rounds: 1 }), { log: silentLogger, writeHistory: false, security: keys.coordinator });
    try {
      const r = await fetch(`${off.url.replace('ws://', 'http://')}/dashboard`);
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: string }).error).toMatch(/start the coordinator with --dashboard/);
    } finally {
      await off.close();
    }
    await expect(
      startCoordinator(testConfig({ clients: 1, rounds: 1, dashboard: true, host: '0.0.0.0' }), {
        log: silentLogger,
        writeHistory: false,
        security: keys.coordinator,
      }),
    ).rejects.toThrow(/--dashboard is served on loopback only \(it has no authentication of its own\), and the coordinator listens on 0\.0\.0\.0/);

    const records: RoundRecord[] = [];
    const coordinator = await startCoordinator(testConfig({ clients: 3, rounds: 2, minFitClients: 2, dashboard: true }), {
      log: silentLogger,
      engine: SimdEngine.create(),
      writeHistory: false,
      security: keys.coordinator,
      onRound: (r) => records.push(r),
    });
    const http = coordinator.url.replace('ws://', 'http://');
    const page = await fetch(`${http}/dashboard`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard/uPlot.iife.min.js"></script>');
    const uplot = await fetch(`${http}/dashboard/uPlot.iife.min.js`);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await uplot.text()).length).toBeGreaterThan(10_000);
    // a page open before any client: its stream carries the whole run
    const stream = await readEvents(`${http}/dashboard/events`);
    const agents = [fixedDelta, fixedDelta, failing].map((trainer, i) =>
      new ClientAgent({ url: coordinator.url, name: `client-${i}`, trainer, log: silentLogger, security: keys.client(i) }).run(),
    );
    for (const a of agents) a.catch(() => undefined);
    try {
      await coordinator.done;
      const events = await stream.events;
      expect(events.map((e) => e.name)).toEqual(['state', 'round', 'round', 'end']);
      const first = events[0]!.data as DashboardState;
      expect(first).toMatchObject({
        run: { runId: coordinator.runId, strategy: 'fedavg', roundsPlanned: 2, secure: true, privacy: false },
        status: 'running',
        rounds: [],
      });
      const rounds = events.filter((e) => e.name === 'round').map((e) => (e.data as { record: RoundRecord }).record);
      expect(rounds.map((r) => [r.round, r.accuracy, r.bytesIn])).toEqual(records.map((r) => [r.round, r.accuracy, r.bytesIn]));
      const end = events[3]!.data as { status: string; clients: DashboardState['clients'] };
      expect(end.status).toBe('complete');
      expect(end.clients.map((c) => [c.name, c.rounds, c.failures, c.examples])).toEqual([
        ['client-0', 2, 0, 10],
        ['client-1', 2, 0, 10],
        ['client-2', 0, 1, null],
      ]);
      expect(end.clients[2]!.lastFailure).toMatchObject({ round: 1, kind: 'client_error' });
      expect(end.clients[2]!.lastFailure!.reason).toMatch(/client-2 .*failed: "disk full/);
      expect(end.clients[0]!.seconds).toBeGreaterThanOrEqual(0);
    } finally {
      await Promise.allSettled(agents);
      await coordinator.close();
    }
  });
});

/** A GET with the Host header given (fetch will not set one). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard against hostile use', () => {
  it('answers only a loopback Host (no DNS rebinding), holds at most 16 pages, and keeps a page open past the unauthenticated deadline', async () => {
    const coordinator = await startCoordinator(testConfig({ clients: 1, rounds: 1, dashboard: true, handshakeTimeoutMs: 300 }), {
      log: silentLogger,
      writeHistory: false,
      security: keys.coordinator,
    });
    const http = coordinator.url.replace('ws://', 'http://');
    const opened: AbortController[] = [];
    try {
      const rebound = await getWithHost(`${http}/dashboard/state`, 'evil.example:7070');
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain('only requests addressed to a loopback name');
      expect((await getWithHost(`${http}/dashboard/state`, `localhost:${coordinator.port}`)).status).toBe(200);
      expect((await getWithHost(`${http}/dashboard/state`, `[::1]:${coordinator.port}`)).status).toBe(200);
      // 16 pages; a 17th is told to come back later
      for (let i = 0; i < 16; i++) {
        const abort = new AbortController();
        opened.push(abort);
        const res = await fetch(`${http}/dashboard/events`, { signal: abort.signal });
        expect(res.status).toBe(200);
      }
      const refused = await fetch(`${http}/dashboard/events`);
      expect(refused.status).toBe(503);
      // past twice the handshake deadline the unauthenticated gate would have cut them: the pages are still served
      await new Promise((r) => setTimeout(r, 900));
      const state = (await (await fetch(`${http}/dashboard/state`)).json()) as DashboardState;
      expect(state.status).toBe('running');
      expect((await fetch(`${http}/dashboard/events`)).status).toBe(503);
      // a page closed frees its place
      opened.pop()!.abort();
      await new Promise((r) => setTimeout(r, 100));
      const again = new AbortController();
      opened.push(again);
      expect((await fetch(`${http}/dashboard/events`, { signal: again.signal })).status).toBe(200);
    } finally {
      for (const a of opened) a.abort();
      await coordinator.close();
    }
  });

  it('a page that stops reading is cut off once 1 MiB waits for it; the others go on', () => {
    const feed = new DashboardFeed({ runId: 'r', strategy: 'fedavg', model: 'mlp', data: 'mnist', roundsPlanned: 5, secure: true, privacy: false }, () => []);
    const page = (unread: number) => {
      const written: string[] = [];
      let destroyed = false;
      const res = {
        writableLength: unread,
        writeHead() {},
        write: (t: string) => written.push(t) > 0,
        on() {},
        end() {},
        destroy() {
          destroyed = true;
        },
      };
      feed.subscribe(res as never);
      return { written, destroyed: () => destroyed, res };
    };
    const stalled = page(2 * 1024 * 1024);
    const reading = page(0);
    feed.onRound({
      round: 1,
      accuracy: 0.5,
      loss: 1,
      seconds: 0.1,
      bytesIn: 1,
      bytesOut: 1,
      clients: 1,
      failures: 0,
      partial: 0,
      trainLoss: null,
      trainAccuracy: null,
      federated: null,
      timings: { collect: 0, slowestClientTrain: 0, aggregate: 0, evaluate: 0, federatedEvaluate: 0 },
    });
    expect(stalled.destroyed()).toBe(true);
    expect(stalled.written).toHaveLength(1);
    expect(reading.written.map((t) => t.split('\n')[0])).toEqual(['event: state', 'event: round']);
  });
});

describe('the dashboard of a simulation', () => {
  it('simulate --dashboard serves it on the ephemeral port it names; the page follows the simulated rounds', async () => {
    const gate = deferred();
    const url = deferred<string>();
    const roundOne = deferred();
    const run = simulate(testConfig({ clients: 2, rounds: 2, dashboard: true, transport: 'ws' }), {
      log: silentLogger,
      writeHistory: false,
      // every client waits at its second task until the page has been read
      trainerFor: (_i, t) => heldFromSecondTask(t, gate.promise),
      onListening: url.resolve,
      onRound: (r) => (r.round === 1 ? roundOne.resolve() : undefined),
    });
    try {
      const http = (await url.promise).replace('ws://', 'http://');
      await roundOne.promise;
      const state = (await (await fetch(`${http}/dashboard/state`)).json()) as DashboardState;
      expect(state.status).toBe('running');
      expect(state.rounds.map((r) => r.round)).toEqual([1]);
      expect(state.clients.map((c) => [c.name, c.state, c.rounds])).toEqual([
        ['client-1', 'ready', 1],
        ['client-2', 'ready', 1],
      ]);
    } finally {
      gate.resolve();
    }
    expect((await run).history.rounds).toHaveLength(2);
  });
});
