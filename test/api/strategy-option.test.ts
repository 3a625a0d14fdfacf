import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinStrategy, ConfigError, runConfig, silentLogger, simulate, startCoordinator, type Strategy, type StrategyContext } from '../../api/index.ts';
import { locateRun, openResumePoint } from '../../coordinator/resume.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-api-strategy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A small, quick MNIST run whose server step has state (FedAvgM's velocity): what a checkpoint must carry. */
const settings = { clients: 2, rounds: 3, seed: 3, model: { type: 'mlp' as const, inputs: 784, hidden: [16], outputs: 10 } };

/** FedAvgM wrapped by a program: renamed, and counting the states it is restored from. */
function wrapped(restored: unknown[]) {
  return (ctx: StrategyContext): Strategy => {
    const inner = builtinStrategy('fedavgm:lr=1,momentum=0.5')(ctx);
    return {
      ...inner,
      name: 'wrapped-fedavgm',
      restore(state) {
        restored.push(state);
        inner.restore(state);
      },
    };
  };
}

describe('a strategy passed to simulate and startCoordinator', () => {
  it('runs in place of config.strategy, and a run stopped and resumed with it ends with the same model as one never stopped', async () => {
    const straight = await simulate(runConfig({ ...settings, out: join(root, 'straight') }), { log: silentLogger, strategy: wrapped([]) });
    expect(straight.history.strategy).toEqual({ name: 'fedavgm', lr: 1, momentum: 0.5 });
    expect(straight.history.rounds).toHaveLength(3);

    const out = join(root, 'resumed');
    const stopping = new AbortController();
    const first = await simulate(runConfig({ ...settings, out }), {
      log: silentLogger,
      strategy: wrapped([]),
      onRound: (r) => (r.round === 1 ? stopping.abort() : undefined),
      signal: stopping.signal,
    });
    expect(first.stopped).toBe(true);
    const { store, id } = locateRun(first.history.runId, join(out, 'starling.db'));
    const point = openResumePoint(store, id, {}, silentLogger, 'simulation');
    // the config names fedavg; the run ran the program's strategy: resuming without it is refused, not silently different
    await expect(simulate(point.config, { log: silentLogger, resume: point })).rejects.toThrow(/ran strategy .*; it cannot continue with fedavg \(/);
    const restored: unknown[] = [];
    const resumed = await simulate(point.config, { log: silentLogger, strategy: wrapped(restored), resume: point });
    expect(restored).toHaveLength(1);
    expect(Object.keys((restored[0] as { step: object }).step)).toEqual(['velocity']);
    expect(resumed.history.rounds).toHaveLength(3);
    expect(resumed.history.finalWeightsSha256).toBe(straight.history.finalWeightsSha256);
  });

  it('is refused with differential privacy, whose release would replace its combiner', async () => {
    const config = runConfig({ clients: 2, rounds: 1, port: 0, evaluate: 'none', insecure: true, dp: 'central:z=1,clip=1' });
    await expect(startCoordinator(config, { log: silentLogger, writeHistory: false, strategy: builtinStrategy('fedavg') })).rejects.toThrow(ConfigError);
  });

  it('is refused under secure aggregation when its combiner needs every update', async () => {
    const config = runConfig({ clients: 3, rounds: 1, port: 0, evaluate: 'none', insecure: true, secagg: true });
    await expect(startCoordinator(config, { log: silentLogger, writeHistory: false, strategy: builtinStrategy('fedmedian') })).rejects.toThrow(
      /needs every individual update/,
    );
  });
});
