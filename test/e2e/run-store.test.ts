import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunSummary, StoredRun } from '../../coordinator/store/run-store.ts';
import { printedRounds, starling, untilRound } from './cli-process.ts';

describe('the run store, from the command line', () => {
  it('a simulation killed with SIGKILL mid-run keeps every finished round in the store; runs list shows it interrupted, runs show its rounds', async () => {
    const out = mkdtempSync(join(tmpdir(), 'starling-store-e2e-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const store = join(out, 'starling.db');
    // --insecure: a process killed with SIGKILL cannot remove the temporary key folder a secure simulation makes
    const sim = starling(['simulate', '--insecure', '--clients', '3', '--rounds', '200', '--json', '--out', out, '--log-level', 'error']);
    await untilRound(sim, 2);
    sim.child.kill('SIGKILL');
    expect((await sim.done).code).toBeNull();
    const printed = printedRounds(sim);

    const list = await starling(['runs', 'list', '--json', '--store', store]).done;
    expect(list.code, list.stderr).toBe(0);
    const [run, ...others] = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunSummary);
    expect(others).toEqual([]);
    // a round printed was committed first; the one in flight at the kill may have committed too
    expect(run!.status).toBe('interrupted');
    expect(run!.rounds).toBeGreaterThanOrEqual(printed.length);
    expect(run!).toMatchObject({ roundsPlanned: 200, data: 'mnist', model: 'mlp', strategy: 'fedavg' });

    const show = await starling(['runs', 'show', run!.id.slice(0, 24), '--json', '--store', store]).done;
    expect(show.code, show.stderr).toBe(0);
    const stored = JSON.parse(show.stdout) as StoredRun;
    expect(stored.rounds.slice(0, printed.length).map((r) => [r.round, r.accuracy])).toEqual(printed.map((p) => [p.round, p.accuracy]));
    expect(stored.config).toMatchObject({ clients: 3, rounds: 200, strategy: 'fedavg' });

    const table = await starling(['runs', 'list', '--store', store]).done;
    expect(table.stdout).toMatch(new RegExp(`${run!.id} .* interrupted +${run!.rounds}/200`));
    expect(table.stdout).toContain('continues with `starling coordinator --resume <run>` (or `starling simulate --resume <run>`)');
    const missing = await starling(['runs', 'show', 'nope', '--store', store]).done;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run "nope" in .*starling\.db/);
  }, 90_000);
});
