import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { EngineTrainer, type Trainer } from '../../client/trainer.ts';
import { loadMnist } from '../../shared/data/mnist.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import type { RoundRecord } from '../../coordinator/round-loop.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig, testKeys } from './helpers.ts';

/** Debian's Chromium (`.ci/run` installs it when missing); without it, outside CI, this suite is skipped and says so. */
const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);
if (!present) process.stderr.write(`dashboard-browser.test.ts: skipped, no ${CHROMIUM} (apt-get install -y chromium)\n`);

const keys = testKeys(3);
/** Where to write the page's picture (the README's: STARLING_DASHBOARD_SCREENSHOT=docs/dashboard.png), with more rounds to show. */
const SCREENSHOT = process.env.STARLING_DASHBOARD_SCREENSHOT;
const ROUNDS = SCREENSHOT ? 25 : 3;

/** Real training on 600 digits of its own, taking a moment per round (the page watches the rounds arrive). */
const ROWS = 600;
const { train } = loadMnist();
const engine = SimdEngine.create();
function learner(k: number): Trainer {
  const own = new EngineTrainer(engine, { dataset: train, indices: Uint32Array.from({ length: ROWS }, (_, i) => k * ROWS + i) });
  return {
    evaluate: (spec, weights) => own.evaluate(spec, weights),
    async fit(spec, weights, config, seed) {
      await new Promise((r) => setTimeout(r, 100));
      return own.fit(spec, weights, config, seed);
    },
  };
}
const failing: Trainer = { evaluate: () => Promise.reject(new Error('no evaluation')), fit: () => Promise.reject(new Error('disk full')) };

describe.skipIf(!present)('the dashboard in a real browser (headless Chromium)', () => {
  it('shows the rounds as they happen, the numbers the run records, a failing client in the table, and charts that are drawn', async () => {
    const records: RoundRecord[] = [];
    const coordinator = await startCoordinator(testConfig({ clients: 3, rounds: ROUNDS, minFitClients: 2, dashboard: true }), {
      log: silentLogger,
      engine,
      writeHistory: false,
      security: keys.coordinator,
      onRound: (r) => records.push(r),
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const agents: Promise<unknown>[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${coordinator.url.replace('ws://', 'http://')}/dashboard`);
      // the page has the run's state before any client is there
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'running');
      expect(await page.textContent('#run')).toBe(coordinator.runId);
      expect(await page.textContent('#progress')).toBe(`round 0 of ${ROUNDS}`);
      agents.push(
        ...[learner(0), learner(1), failing].map((trainer, i) =>
          new ClientAgent({ url: coordinator.url, name: `client-${i}`, trainer, log: silentLogger, security: keys.client(i) }).run().catch(() => undefined),
        ),
      );
      // round by round: the page shows each as it ends
      await page.waitForFunction((n) => document.getElementById('progress')?.textContent?.startsWith(`round 1 of ${n}`), ROUNDS);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'complete', undefined, { timeout: 30_000 });
      await coordinator.done;
      expect(records).toHaveLength(ROUNDS);
      const last = records.at(-1)!;
      expect(await page.textContent('#progress')).toBe(`round ${ROUNDS} of ${ROUNDS} · accuracy ${last.accuracy!.toFixed(4)}`);
      const rows = await page.$$eval('#clients tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
      expect(rows.map((r) => [r[0], r[3], r[4], r[7]])).toEqual([
        ['client-0', String(ROUNDS), '0', String(ROWS)],
        ['client-1', String(ROUNDS), '0', String(ROWS)],
        ['client-2', '0', '1', ''],
      ]);
      expect(rows[2]![5]).toMatch(/^round 1 \(client_error\): client client-2 .*failed: "disk full/);
      // each chart drew on its canvas: a good share of its pixels are not the background
      const inked = await page.$$eval('.chart canvas', (canvases) =>
        canvases.map((c) => {
          const canvas = c as HTMLCanvasElement;
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          let ink = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i]! < 230 || data[i + 1]! < 230 || data[i + 2]! < 230)) ink++;
          return ink;
        }),
      );
      expect(inked.length).toBeGreaterThanOrEqual(4);
      for (const ink of inked.slice(0, 4)) expect(ink).toBeGreaterThan(500);
      // the README's picture is this page
      const dir = mkdtempSync(join(tmpdir(), 'starling-dashboard-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const shot = SCREENSHOT ?? join(dir, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(20_000);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await Promise.allSettled(agents);
      await coordinator.close();
    }
  });
});
