import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { DashboardState } from '../../coordinator/dashboard/feed.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig, testKeys } from './helpers.ts';

const keys = testKeys(3);

/** A client that trains nothing: a small fixed delta, at once. */
const quick: Trainer = {
  evaluate: () => Promise.reject(new Error('no evaluation')),
  fit: async (_spec, weights) => ({ delta: new Float32Array(weights.length).fill(1e-4), numExamples: 10, metrics: { loss: 1, accuracy: 0.5, epochs: 1 } }),
};
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
    const agents = [quick, quick, failing].map((trainer, i) =>
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
