import { join } from 'node:path';
import type { RunHistory } from '../coordinator/history.ts';
import type { RunConfig } from '../shared/config.ts';

/** The command that continues a stopped run: --resume finds runs/starling.db by itself; any other store is named. */
export function resumeCommand(command: 'coordinator' | 'simulate', runId: string, store: string): string {
  return `starling ${command} --resume ${runId}${store === join('runs', 'starling.db') ? '' : ` --store ${store}`}`;
}

/**
 * What a --json run ends with, after its round objects: `kind: "summary"` (as tune --json ends), the run id, how it
 * ended, its last scores, and where its files are (null where none were written).
 */
export function jsonSummary(
  command: 'coordinator' | 'simulate',
  result: { readonly history: RunHistory; readonly dir: string | undefined; readonly stopped?: boolean },
  config: RunConfig,
): Record<string, unknown> {
  const { history, dir } = result;
  const last = history.rounds.at(-1);
  const store = config.output.store === false ? null : config.output.store;
  return {
    kind: 'summary',
    command,
    runId: history.runId,
    status: result.stopped ? 'stopped' : 'complete',
    rounds: history.rounds.length,
    roundsPlanned: config.rounds,
    last: last ? { round: last.round, accuracy: last.accuracy, loss: last.loss, ...(last.mae !== undefined ? { mae: last.mae } : {}) } : null,
    ...(history.bestRound !== undefined ? { bestRound: history.bestRound } : {}),
    ...(history.test ? { test: history.test } : {}),
    ...(history.privacy ? { epsilon: history.privacy.epsilon, delta: history.privacy.delta } : {}),
    finalWeightsSha256: history.finalWeightsSha256,
    dir: dir ?? null,
    files: dir ? { history: join(dir, 'history.json'), model: join(dir, 'model.json'), weights: join(dir, 'final-weights.f32') } : null,
    store,
    ...(result.stopped && store !== null ? { resume: resumeCommand(command, history.runId, store) } : {}),
  };
}
