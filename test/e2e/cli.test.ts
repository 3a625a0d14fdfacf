import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { probeBackend } from '../../shared/backend.ts';
import { freePort, waitForHealth } from '../../simulations/loopback.ts';
import { runDirectories } from '../../coordinator/history.ts';
import { jsonRounds, starling } from './cli-process.ts';

describe('the starling command', () => {
  it('doctor lists every backend and the one it selects', async () => {
    const r = await starling(['doctor']).done;
    expect(r.code).toBe(0);
    for (const name of ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']) expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/selected backend: (tfjs-node-gpu|tfjs-node|wasm)/);
  });

  it("data inspect prints each client's size and label histogram", async () => {
    const r = await starling(['data', 'inspect', '--partition', 'shards:2', '--clients', '4', '--json']).done;
    expect(r.code).toBe(0);
    const seen = JSON.parse(r.stdout) as { splits: { train: number; test: number }; clients: { client: number; size: number; labels: number[] }[] };
    expect(seen.splits).toEqual({ train: 8000, test: 2000 });
    expect(seen.clients.map((x) => x.client)).toEqual([1, 2, 3, 4]);
    expect(seen.clients.reduce((s, x) => s + x.size, 0)).toBe(8000);
    for (const x of seen.clients) expect(x.labels.reduce((a, b) => a + b, 0)).toBe(x.size);
    const bad = await starling(['data', 'inspect', '--partition', 'wat']).done;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown partition "wat"/);
  });

  it('a bad config file or flag exits 1 with a precise message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-cli-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'run.yaml');
    writeFileSync(bad, 'rounds: zero\nclients: 2\n');
    const r = await starling(['coordinator', '--config', bad]).done;
    expect(r.code).toBe(1);
    // one problem a line, as the README shows it (not an escaped \n)
    expect(r.stderr).toContain(`invalid run config (${bad}):\n  rounds: `);
    expect(r.stderr).toMatch(/rounds: .*number/);
    const flag = await starling(['simulate', '--rounds', 'ten']).done;
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/--rounds must be an integer, got "ten"/);
    // an unknown flag: one line and a hint, not the whole help
    const unknown = await starling(['simulate', '--bogus']).done;
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toEqual(["error: unknown option '--bogus'", '(add --help for usage)']);
    const version = await starling(['--version']).done;
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    const missing = await starling(['client', '--coordinator', 'ws://127.0.0.1:1', '--data', join(dir, 'missing.csv'), '--label', 'y']).done;
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/data file .*missing.csv does not exist/);
    if (!probeBackend('tfjs-node-gpu').usable) {
      const gpu = await starling(['client', '--coordinator', 'ws://127.0.0.1:1', '--backend', 'tfjs-node-gpu', '--shard', '1/10', '--insecure']).done;
      expect(gpu.code).toBe(1);
      expect(gpu.stderr).toMatch(/backend "tfjs-node-gpu" is not available: tfjs-node-gpu: @tensorflow\/tfjs-node-gpu is not installed/);
    }
    const noServer = await starling(['client', '--coordinator', 'ws://127.0.0.1:1', '--shard', '1/10', '--insecure', '--retries', '1']).done;
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toMatch(/cannot reach the coordinator at ws:\/\/127.0.0.1:1.*; connecting again in \d\.\d s \(attempt 1 of 1\)/);
    expect(noServer.stderr).toMatch(/starling: cannot reach the coordinator at ws:\/\/127.0.0.1:1/);
  });

  it("simulate --local-validation prints each round's federated evaluation in --json and stores it in history.json", async () => {
    const out = mkdtempSync(join(tmpdir(), 'starling-fed-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const r = await starling(['simulate', '--clients', '3', '--rounds', '2', '--local-validation', '0.2', '--json', '--out', out, '--workers', '2']).done;
    expect(r.code).toBe(0);
    type Fed = {
      clients: number;
      failures: number;
      numExamples: number;
      metrics: Record<string, number>;
      perClient: { client: string; numExamples: number; metrics: Record<string, number> }[];
    };
    const lines = jsonRounds<{ round: number; federated: Fed }>(r.stdout);
    expect(lines.map((l) => l.round)).toEqual([1, 2]);
    for (const { federated: f } of lines) {
      expect(f.perClient.map((c) => c.client)).toEqual(['client-1', 'client-2', 'client-3']);
      expect(Object.keys(f.metrics)).toEqual(
        expect.arrayContaining(['accuracy', 'loss', 'precisionMacro', 'recallMacro', 'f1Macro', 'precisionWeighted', 'recallWeighted', 'f1Weighted']),
      );
      const n = f.perClient.reduce((s, c) => s + c.numExamples, 0);
      expect(f.numExamples).toBe(n);
      expect(f.metrics.accuracy!).toBeCloseTo(f.perClient.reduce((s, c) => s + c.numExamples * c.metrics.accuracy!, 0) / n, 12);
    }
    const [runDir] = runDirectories(out);
    const history = JSON.parse(readFileSync(join(out, runDir!, 'history.json'), 'utf8')) as {
      config: { localValidation: number };
      rounds: { federated: Fed }[];
    };
    expect(history.config.localValidation).toBe(0.2);
    expect(history.rounds.map((x) => x.federated)).toEqual(lines.map((l) => l.federated));
    // --json ends with a summary: the run, how it ended, its last scores and where its files are
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown> & { files: Record<string, string>; last: { round: number } };
    expect(summary).toMatchObject({
      kind: 'summary',
      command: 'simulate',
      runId: runDir,
      status: 'complete',
      rounds: 2,
      roundsPlanned: 2,
      dir: join(out, runDir!),
      store: join(out, 'starling.db'),
    });
    expect(summary.last.round).toBe(2);
    for (const file of Object.values(summary.files)) expect(existsSync(file)).toBe(true);
    expect(Object.keys(summary.files)).toEqual(['history', 'model', 'weights']);
    const human = await starling(['simulate', '--clients', '2', '--rounds', '1', '--local-validation', '0.1', '--out', out]).done;
    expect(human.stdout).toMatch(/round 1\/1 .* fed accuracy 0\.\d{4} \(2 clients\)/);
    const bad = await starling(['simulate', '--local-validation', '0.7']).done;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--local-validation must be a fraction in \(0, 0.5\], got "0.7"/);
  });

  it('simulate --secagg (with --secagg-threshold and --secagg-neighbours) runs secure rounds; a robust strategy or dp with it exits 1', async () => {
    const out = mkdtempSync(join(tmpdir(), 'starling-secagg-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const r = await starling([
      'simulate',
      '--clients',
      '3',
      '--rounds',
      '1',
      '--secagg',
      '--secagg-threshold',
      '2',
      '--secagg-neighbours',
      '2',
      '--secagg-clip',
      '5',
      '--json',
      '--out',
      out,
      '--workers',
      '2',
    ]).done;
    expect(r.code).toBe(0);
    const line = jsonRounds<{ clients: number; secaggErrorBound: number; accuracy: number }>(r.stdout).at(-1)!;
    expect(line.clients).toBe(3);
    expect(line.secaggErrorBound).toBeGreaterThan(0);
    expect(line.secaggErrorBound).toBeLessThan(1e-6);
    expect(line.accuracy).toBeGreaterThan(0.3);
    const [runDir] = runDirectories(out);
    const history = JSON.parse(readFileSync(join(out, runDir!, 'history.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(history.config).toMatchObject({ secagg: true, secaggThreshold: 2, secaggNeighbours: 2, secaggClip: 5 });
    const robust = await starling(['simulate', '--clients', '5', '--rounds', '1', '--secagg', '--strategy', 'krum:f=1']).done;
    expect(robust.code).toBe(1);
    expect(robust.stderr).toMatch(/secagg: krum needs every individual update/);
    const dp = await starling(['simulate', '--secagg', '--dp', 'central:z=1.0,clip=1.0']).done;
    expect(dp.code).toBe(1);
    expect(dp.stderr).toMatch(/differential privacy together with secure aggregation is not supported yet/);
  });

  it('tune runs a search from a space file, prints a live table or --json, writes a best config simulate accepts, and refuses a bad space with every problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'starling-tune-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const space = join(dir, 'space.yaml');
    writeFileSync(
      space,
      [
        'base: {clients: 2, rounds: 1, validation: 0.1}',
        'params:',
        '  - {name: lr, path: train.lr, type: float, low: 0.01, high: 0.3, log: true}',
        '  - {name: epochs, path: train.epochs, type: int, low: 1, high: 2}',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'search');
    const r = await starling(['tune', '--space', space, '--method', 'random', '--trials', '3', '--out', out, '--json'], 120_000).done;
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.kind === 'result')).toHaveLength(3);
    const summary = lines.at(-1) as { kind: string; best: { configFile: string; score: number }; test: { accuracy: number }; roundsSpent: number };
    expect(summary.kind).toBe('summary');
    expect(summary.roundsSpent).toBe(3);
    expect(summary.test.accuracy).toBeGreaterThan(0.5);
    const replay = await starling(['simulate', '--config', summary.best.configFile, '--json', '--out', join(dir, 'replay')]).done;
    expect(replay.code).toBe(0);
    expect(jsonRounds<{ accuracy: number }>(replay.stdout).at(-1)!.accuracy).toBe(summary.best.score);
    // the human table, resumed from the same record: nothing runs again
    const table = await starling(['tune', '--space', space, '--method', 'random', '--trials', '3', '--out', out]).done;
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/trial rung rounds {2}val acc {2}seconds {2}parameters/);
    expect(table.stdout).toMatch(/resumed: 3 results came from the record/);
    expect(table.stdout).toMatch(/best: trial \d, validation accuracy 0\.\d{4} after 1 rounds: lr=/);
    writeFileSync(space, ['params:', '  - {name: lr, type: float, low: 0.3, high: 0.01}', '  - {name: opt, type: choice, values: []}', ''].join('\n'));
    const bad = await starling(['tune', '--space', space, '--method', 'grid']).done;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/params\[0\]\.low: must be below high/);
    expect(bad.stderr).toMatch(/params\[1\]\.values/);
  });

  it('a coordinator process and two client processes run a federated round trip', async () => {
    const out = mkdtempSync(join(tmpdir(), 'starling-run-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    // keys as a user makes them: keygen prints each public key
    const keygen = async (name: string) => {
      const r = await starling(['keygen', '--out', join(out, `${name}.key`)]).done;
      expect(r.code).toBe(0);
      expect(statSync(join(out, `${name}.key`)).mode & 0o777).toBe(0o600);
      return r.stdout.trim();
    };
    const coordinatorKey = await keygen('coordinator');
    writeFileSync(join(out, 'clients.txt'), `# who may join\n${await keygen('site-1')} site one\n${await keygen('site-2')} site two\n`);
    const port = await freePort();
    // federated evaluation on: site 1 holds out 10 % of its shard, site 2 holds out nothing and says so
    const coordinator = starling([
      'coordinator',
      '--port',
      String(port),
      '--clients',
      '2',
      '--rounds',
      '2',
      '--json',
      '--out',
      join(out, 'runs'),
      '--log-level',
      'warn',
      '--key',
      join(out, 'coordinator.key'),
      '--allow',
      join(out, 'clients.txt'),
      '--local-validation',
      '0.1',
    ]);
    await waitForHealth(port);
    const clients = [1, 2].map(
      (k) =>
        starling([
          'client',
          '--coordinator',
          `ws://127.0.0.1:${port}`,
          '--data',
          'mnist',
          '--shard',
          `${k}/10`,
          '--log-level',
          'warn',
          '--key',
          join(out, `site-${k}.key`),
          '--coordinator-key',
          coordinatorKey,
          ...(k === 1 ? ['--local-validation', '0.1'] : []),
        ]).done,
    );
    const [c, a, b] = await Promise.all([coordinator.done, ...clients]);
    expect(a!.code).toBe(0);
    expect(b!.code).toBe(0);
    expect(c.code).toBe(0);
    const lines = jsonRounds<Record<string, number>>(c.stdout);
    expect(lines.map((l) => l.round)).toEqual([1, 2]);
    for (const l of lines) {
      const f = l.federated as unknown as { clients: number; failures: number; numExamples: number; perClient: { client: string; numExamples: number }[] };
      expect(f).toMatchObject({ clients: 1, failures: 1 });
      expect(f.perClient[0]!.client).toMatch(/-1of10$/);
      // shard 1 of 10 of the 8,000 digits: 800 rows, 10 % held out per class
      expect(f.numExamples).toBeGreaterThan(70);
      expect(f.numExamples).toBeLessThan(90);
    }
    for (const l of lines) expect(Object.keys(l)).toEqual(expect.arrayContaining(['round', 'accuracy', 'loss', 'seconds', 'bytesIn', 'bytesOut']));
    expect(lines[1]!.accuracy!).toBeGreaterThan(0.5);
    const [runDir] = runDirectories(join(out, 'runs'));
    const history = JSON.parse(readFileSync(join(out, 'runs', runDir!, 'history.json'), 'utf8')) as { rounds: unknown[]; backend: string };
    expect(history.rounds).toHaveLength(2);
    expect(readFileSync(join(out, 'runs', runDir!, 'final-weights.f32')).byteLength).toBe(101_770 * 4);
  });
});
