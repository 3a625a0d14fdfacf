import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import type { Trainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { memoryLogger, silentLogger } from '../../shared/log.ts';
import { testConfig, testKeys } from './helpers.ts';

const engine = SimdEngine.create();
const keys = testKeys(1);
const idle: Trainer = { fit: () => Promise.reject(new Error('not expected to train')), evaluate: () => Promise.reject(new Error('not expected to evaluate')) };

async function withCoordinator<T>(
  over: Parameters<typeof testConfig>[0],
  secure: boolean,
  body: (url: string, http: string, log: ReturnType<typeof memoryLogger>) => Promise<T>,
): Promise<T> {
  const log = memoryLogger();
  const coordinator = await startCoordinator(
    testConfig({ clients: 1, rounds: 1, waitForClientsTimeoutMs: 30_000, ...(secure ? {} : { insecure: true }), ...over }),
    { log, engine, writeHistory: false, ...(secure ? { security: keys.coordinator } : {}) },
  );
  try {
    return await body(coordinator.url, coordinator.url.replace('ws://', 'http://'), log);
  } finally {
    await coordinator.close();
  }
}

describe('HTTP endpoints', () => {
  it('GET /health answers anyone; GET /status (client names) is off unless statusEndpoint is set', async () => {
    await withCoordinator({}, true, async (_url, http) => {
      expect(await (await fetch(`${http}/health`)).json()).toEqual({ ok: true });
      const status = await fetch(`${http}/status`);
      expect(status.status).toBe(404);
      expect(await status.json()).toEqual({ error: 'GET /status is off; start the coordinator with --status-endpoint (statusEndpoint: true) to serve it' });
    });
    await withCoordinator({ statusEndpoint: true }, true, async (_url, http) => {
      const status = await fetch(`${http}/status`);
      expect(status.status).toBe(200);
      expect(await status.json()).toMatchObject({ clients: [], round: 0, rounds: 1, secure: true });
    });
  });
});

describe('a client and a coordinator that disagree about the secure channel', () => {
  it('an --insecure client at a secure coordinator is told the coordinator requires the secure channel', async () => {
    await withCoordinator({}, true, async (url, _http, log) => {
      await expect(new ClientAgent({ url, name: 'plain', trainer: idle, log: silentLogger }).run()).rejects.toThrow(
        /this coordinator requires the secure channel, and the client connected without it \(--insecure\)/,
      );
      expect(log.entries.some((e) => /requires the secure channel/.test(e.msg ?? ''))).toBe(true);
    });
  });

  it('a secure client at an --insecure coordinator is told to use --insecure too', async () => {
    await withCoordinator({}, false, async (url) => {
      await expect(new ClientAgent({ url, name: 'sealed', trainer: idle, log: silentLogger, security: keys.client(0) }).run()).rejects.toThrow(
        /this coordinator runs --insecure .* run the client with --insecure too/,
      );
    });
  });
});
