import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunHistoryFile } from '../../coordinator/history.ts';
import { RunStore } from '../../coordinator/store/run-store.ts';
import { freePort, waitForHealth } from '../../simulations/loopback.ts';
import { starling, untilRound } from './cli-process.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-restart-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ROUNDS = 6;

async function keygen(name: string): Promise<string> {
  const r = await starling(['keygen', '--out', join(root, `${name}.key`)]).done;
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/**
 * A coordinator process and two client processes over real sockets on the secure channel.
 * `restarts` run against the coordinator while it works (each kills it one way or another
 * and starts it again with --resume on the same port); the client processes are never
 * restarted. Resolves with the finished run's history.
 */
async function run(out: string, coordinatorKey: string, restarts: readonly ((c: ReturnType<typeof starling>) => Promise<void>)[]): Promise<RunHistoryFile> {
  const port = await freePort();
  const own = [
    '--port',
    String(port),
    '--key',
    join(root, 'coordinator.key'),
    '--allow',
    join(root, 'clients.txt'),
    '--out',
    out,
    '--json',
    '--log-level',
    'error',
  ];
  let coordinator = starling(['coordinator', ...own, '--clients', '2', '--rounds', String(ROUNDS), '--seed', '5'], 120_000);
  await waitForHealth(port);
  const clients = [1, 2].map(
    (k) =>
      starling(
        [
          'client',
          '--coordinator',
          `ws://127.0.0.1:${port}`,
          '--shard',
          `${k}/2`,
          '--name',
          `site-${k}`,
          '--key',
          join(root, `site-${k}.key`),
          '--coordinator-key',
          coordinatorKey,
          '--retries',
          '30',
          '--log-level',
          'error',
        ],
        120_000,
      ).done,
  );
  for (const restart of restarts) {
    await restart(coordinator);
    const store = RunStore.open(join(out, 'starling.db'), { readonly: true });
    const id = store.listRuns()[0]!.id;
    store.close();
    coordinator = starling(['coordinator', '--resume', id, ...own], 120_000);
  }
  const [c, ...ended] = await Promise.all([coordinator.done, ...clients]);
  expect(c.code, c.stderr).toBe(0);
  for (const e of ended) expect(e.code, e.stderr).toBe(0);
  const store = RunStore.open(join(out, 'starling.db'), { readonly: true });
  const id = store.listRuns()[0]!.id;
  store.close();
  return JSON.parse(readFileSync(join(out, id, 'history.json'), 'utf8')) as RunHistoryFile;
}

describe('a coordinator restarted with --resume', () => {
  it('killed mid-round, then stopped between rounds: the same client processes reconnect, carry on, and the run ends with the weights of a run never restarted', async () => {
    const coordinatorKey = await keygen('coordinator');
    writeFileSync(join(root, 'clients.txt'), `${await keygen('site-1')} site one\n${await keygen('site-2')} site two\n`);
    const whole = await run(join(root, 'whole'), coordinatorKey, []);
    const restarted = await run(join(root, 'restarted'), coordinatorKey, [
      // mid-round: SIGKILL just after round 2 is reported, while round 3's clients train
      async (c) => {
        await untilRound(c, 2);
        c.child.kill('SIGKILL');
        await c.done;
      },
      // between rounds: SIGTERM stops it cleanly after abandoning whatever round is under way
      async (c) => {
        await untilRound(c, 4);
        c.child.kill('SIGTERM');
        const stopped = await c.done;
        expect(stopped.code, stopped.stderr).toBe(0);
      },
    ]);
    expect(restarted.rounds.map((r) => r.round)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
    expect(restarted.finalWeightsSha256).toBe(whole.finalWeightsSha256);
    expect(restarted.rounds.map((r) => r.accuracy)).toEqual(whole.rounds.map((r) => r.accuracy));
  }, 240_000);
});
