import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { deferred, fixedDelta, heldFromSecondTask, testConfig, testKeys } from './helpers.ts';

/** The samples of a Prometheus text exposition: `name{labels}` → value (comments and types skipped). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

const keys = testKeys(3);

describe('GET /metrics', () => {
  it('is off by default; on, a scrape during a run reports the rounds, durations, clients, failures by kind and bytes the history records', async () => {
    const off = await startCoordinator(testConfig({ clients: 1, rounds: 1 }), { log: silentLogger, writeHistory: false, security: keys.coordinator });
    try {
      const r = await fetch(`${off.url.replace('ws://', 'http://')}/metrics`);
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ error: 'GET /metrics is off; start the coordinator with --metrics-endpoint (metricsEndpoint: true) to serve it' });
    } finally {
      await off.close();
    }

    const gate = deferred();
    const roundOne = deferred<RoundRecord>();
    const coordinator = await startCoordinator(testConfig({ clients: 3, rounds: 2, minFitClients: 2, metricsEndpoint: true }), {
      log: silentLogger,
      engine: SimdEngine.create(),
      writeHistory: false,
      security: keys.coordinator,
      onRound: (r) => (r.round === 1 ? roundOne.resolve(r) : undefined),
    });
    const failing: Trainer = { evaluate: () => Promise.reject(new Error('no evaluation')), fit: () => Promise.reject(new Error('out of memory')) };
    const agents = [heldFromSecondTask(fixedDelta, gate.promise), heldFromSecondTask(fixedDelta, gate.promise), failing].map((trainer, i) =>
      new ClientAgent({ url: coordinator.url, name: `client-${i}`, trainer, log: silentLogger, security: keys.client(i) }).run(),
    );
    // the failing agent's run ends in its error: settled here, looked at below
    for (const a of agents) a.catch(() => undefined);
    try {
      const record = await roundOne.promise;
      // round 2's clients are held at the gate: the scrape sees round 1 complete, not yet round 2
      const response = await fetch(`${coordinator.url.replace('ws://', 'http://')}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parseExposition(await response.text());
      expect(m.get(`starling_run_info{run_id="${coordinator.runId}",strategy="fedavg"}`)).toBe(1);
      expect(m.get('starling_rounds_planned')).toBe(2);
      expect(m.get('starling_round')).toBe(1);
      expect(m.get('starling_rounds_completed_total')).toBe(1);
      expect(m.get('starling_rounds_skipped_total')).toBe(0);
      expect(m.get('starling_client_results_total')).toBe(2);
      expect(m.get('starling_client_failures_total{reason="client_error"}')).toBe(1);
      expect(m.get('starling_round_duration_seconds_count')).toBe(1);
      expect(m.get('starling_round_duration_seconds_sum')).toBeCloseTo(record.seconds, 6);
      expect(m.get('starling_round_phase_seconds_sum{phase="aggregate"}')).toBeCloseTo(record.timings.aggregate, 6);
      expect(m.get('starling_round_phase_seconds_count{phase="federated_evaluate"}')).toBeUndefined();
      expect(m.get('starling_model_accuracy')).toBe(record.accuracy);
      expect(m.get('starling_model_loss')).toBe(record.loss);
      // no DP: no ε
      expect([...m.keys()].some((k) => k.startsWith('starling_privacy_epsilon'))).toBe(false);
      // the two that stayed are connected and ready; the failing one left
      expect(m.get('starling_clients_connected')).toBe(2);
      expect(m.get('starling_clients_ready')).toBe(2);
      // everything received and sent so far: round 1's frames and more (handshakes, round 2's tasks)
      expect(m.get('starling_received_bytes_total')).toBeGreaterThanOrEqual(record.bytesIn);
      expect(m.get('starling_sent_bytes_total')).toBeGreaterThanOrEqual(record.bytesOut);
      expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
      // scraped again (a query string, as some scrapers add): the counters hold, none counted twice; HEAD answers without a body
      const again = parseExposition(await (await fetch(`${coordinator.url.replace('ws://', 'http://')}/metrics?scrape=2`)).text());
      expect(again.get('starling_client_results_total')).toBe(2);
      expect(again.get('starling_received_bytes_total')).toBeGreaterThanOrEqual(m.get('starling_received_bytes_total')!);
      expect(again.get('starling_received_bytes_total')! - m.get('starling_received_bytes_total')!).toBeLessThan(record.bytesIn);
      const head = await fetch(`${coordinator.url.replace('ws://', 'http://')}/metrics`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    } finally {
      gate.resolve();
      await Promise.allSettled(agents);
      await coordinator.done.catch(() => undefined);
      await coordinator.close();
    }
    expect((await agents[0]!).rounds).toBe(2);
    await expect(agents[2]).rejects.toThrow(/out of memory/);
  });
});
