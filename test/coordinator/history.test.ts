import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publicConfig, writeRun, type RunHistory, type RunHistoryFile } from '../../coordinator/history.ts';
import { resolveRunConfig } from '../../shared/config.ts';
import { initWeights } from '../../shared/models/registry.ts';

const TOKEN = 'a join token nobody may read in a run';
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-history-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function history(config = resolveRunConfig('test', { joinToken: TOKEN, key: 'coordinator.key', allow: 'clients.txt' })): RunHistory {
  return {
    runId: 'r1',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z',
    config,
    strategy: { name: 'fedavg' },
    backend: null,
    paramCount: 0,
    rounds: [],
    evaluatedOn: 'none',
    finalWeightsSha256: '',
    peakRssBytes: 0,
  };
}

describe("a run's files", () => {
  it('publicConfig drops the join token and keeps the file paths', () => {
    const config = resolveRunConfig('test', { joinToken: TOKEN, key: 'coordinator.key', allow: 'clients.txt' });
    const pub = publicConfig(config);
    expect('joinToken' in pub).toBe(false);
    expect(pub).toMatchObject({ key: 'coordinator.key', allow: 'clients.txt' });
    expect(publicConfig(resolveRunConfig('test', { joinTokenFile: 'join.token' })).joinTokenFile).toBe('join.token');
    expect(config.server.joinToken).toBe(TOKEN); // the running config is left alone
  });

  it('writeRun never writes the token, makes the run directory 0700 and every file 0600', () => {
    const h = history();
    const run = join(dir, 'runs', 'r1');
    writeRun(run, h, initWeights(h.config.model, 1));
    expect(statSync(run).mode & 0o777).toBe(0o700);
    expect(readdirSync(run).sort()).toEqual(['final-weights.f32', 'history.json', 'model.json']);
    for (const name of readdirSync(run)) {
      expect(statSync(join(run, name)).mode & 0o777, name).toBe(0o600);
      expect(readFileSync(join(run, name)).includes(TOKEN), name).toBe(false);
    }
    const stored = JSON.parse(readFileSync(join(run, 'history.json'), 'utf8')) as RunHistoryFile;
    expect(stored.config.key).toBe('coordinator.key');
    expect('joinToken' in stored.config).toBe(false);
  });
});
