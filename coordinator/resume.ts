import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { resolveRunConfig, runConfigFields, type RunConfig } from '../shared/config.ts';
import { CheckpointError, StarlingError, errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { paramCount } from '../shared/models/registry.ts';
import { trainableLayout } from '../shared/trainable.ts';
import type { RoundRecord } from './round-loop.ts';
import { type Checkpoint, readCheckpoint } from './store/checkpoint-file.ts';
import { type RunKind, RunStore } from './store/run-store.ts';

/** Where a resumed run picks up: its config, its last good checkpoint, and the rounds before it. */
export interface ResumePoint {
  readonly runId: string;
  readonly startedAt: string;
  readonly config: RunConfig;
  /** The run's directory (history.json, the final model, checkpoints/). */
  readonly dir: string;
  /** The checkpoint the run continues from; none when it stopped before its first round ended. */
  readonly checkpoint?: Checkpoint;
  /** The rounds up to the checkpoint's, as the store recorded them. */
  readonly history: readonly RoundRecord[];
  /**
   * With differential privacy: the sampling rates of the rounds after the checkpoint that began
   * releasing noised updates (the store notes each before its tasks go out) and that no
   * checkpoint's account holds — recorded after the checkpoint used, under way when the run
   * stopped, or run by an earlier resume that died before its first checkpoint.
   */
  readonly unchargedReleases: readonly number[];
  /** The strategy the run recorded: its spec's short form, or the name of a program's own (CoordinatorOptions.strategy). */
  readonly strategy: string;
}

/**
 * The run settings a resumed run may take anew: where it listens, its secrets and key files,
 * its timeouts and limits, how a simulation's clients reach it (both transports give the same
 * bytes), and how it reports. Anything else would change what the run computes.
 */
const RESUMABLE_OVERRIDES = new Set([
  'transport',
  'host',
  'port',
  'insecure',
  'key',
  'allow',
  'joinToken',
  'joinTokenFile',
  'handshakeTimeoutMs',
  'waitForClientsTimeoutMs',
  'roundTimeoutMs',
  'frameTimeoutMs',
  'heartbeatIntervalMs',
  'maxPayloadBytes',
  'receiveBudgetBytes',
  'maxUnauthenticated',
  'maxUnauthenticatedPerAddress',
  'statusEndpoint',
  'metricsEndpoint',
  'dashboard',
  'json',
  'logLevel',
  'out',
  'store',
]);

/**
 * The store and run id that `--resume TARGET` names: a run directory (runs/<run id>, whose store
 * is the starling.db beside it unless `store` is given), or a run id or unique prefix of one in
 * `store` (runs/starling.db when not given).
 */
export function locateRun(target: string, store: string | undefined): { readonly store: string; readonly id: string } {
  if (existsSync(target) && statSync(target).isDirectory()) {
    const dir = resolve(target);
    return { store: store ?? join(dirname(dir), 'starling.db'), id: basename(dir) };
  }
  return { store: store ?? join('runs', 'starling.db'), id: target };
}

/**
 * Opens the run `id` in the store at `storePath` to resume it: its stored config with `flags`
 * over it (only RESUMABLE_OVERRIDES may differ), and the newest checkpoint that reads back
 * whole. A damaged checkpoint is logged as E_CHECKPOINT, naming its file, and the one before
 * it is tried. Nothing in the store changes here: the rounds after the checkpoint are dropped,
 * to run again, only once the coordinator starts (RunRecorder.reopen). A run with rounds but
 * no usable checkpoint is an E_RESUME error, never a silent fresh start.
 */
export function openResumePoint(storePath: string, id: string, flags: Record<string, unknown>, log: Logger, kind?: RunKind): ResumePoint {
  if (!existsSync(storePath)) throw new StarlingError('E_RESUME', `cannot resume ${id}: no run store at ${storePath} (--store FILE names another)`);
  const store = RunStore.open(storePath);
  try {
    const run = store.getRun(id);
    if (!run)
      throw new StarlingError(
        'E_RESUME',
        `cannot resume: no run ${JSON.stringify(id)} in ${storePath} (or the prefix names more than one; see starling runs list)`,
      );
    const { summary } = run;
    if (summary.status === 'complete') throw new StarlingError('E_RESUME', `run ${summary.id} is complete: there is nothing to resume`);
    if (summary.status === 'running')
      throw new StarlingError('E_RESUME', `run ${summary.id} is still running (its process is alive); stop it first (Ctrl-C, or SIGTERM)`);
    // a run resumes the way it ran: with its real clients, or as a simulation (whose seeded noise and sample are not a real run's)
    if (kind && summary.kind && kind !== summary.kind) {
      const command = summary.kind === 'simulation' ? 'simulate' : 'coordinator';
      throw new StarlingError('E_RESUME', `run ${summary.id} ran as a ${summary.kind}: resume it with \`starling ${command} --resume ${summary.id}\``);
    }
    const config = resumedConfig(run.config, flags, summary.id, storePath);
    const weights = paramCount(config.model);
    const trainable = trainableLayout(config.model, config.freeze).trainableCount;
    let checkpoint: Checkpoint | undefined;
    const problems: string[] = [];
    const refs = store.checkpoints(summary.id);
    for (const ref of refs) {
      try {
        checkpoint = readCheckpoint(ref.file, { runId: summary.id, round: ref.round, weights, trainable, sha256: ref.sha256, bytes: ref.bytes });
        break;
      } catch (e) {
        const message = e instanceof CheckpointError ? e.message : `checkpoint ${ref.file}: ${errorMessage(e)}`;
        problems.push(message);
        log.error({ code: 'E_CHECKPOINT', file: ref.file, round: ref.round }, `${message}; falling back to the checkpoint before it`);
      }
    }
    if (!checkpoint && refs.length > 0)
      throw new StarlingError(
        'E_RESUME',
        `run ${summary.id} has ${summary.rounds} rounds but no usable checkpoint: ${problems.join('; ')}; ` +
          'it cannot be resumed (start a new run with its config: starling runs show --json)',
      );
    // a run that stopped before its first checkpoint was down starts again from its initial model, which its config fixes
    if (!checkpoint && summary.rounds > 0)
      log.warn({ runId: summary.id }, `run ${summary.id} stopped before its first checkpoint was written: it runs again from round 1`);
    const from = checkpoint?.round ?? 0;
    const history = run.rounds.filter((r) => r.round <= from);
    // a round the store failed to record (a full disk) leaves a gap: the history would not be the run's
    if (history.some((r, i) => r.round !== i + 1) || history.length !== from)
      throw new StarlingError(
        'E_RESUME',
        `run ${summary.id}: the store holds rounds ${history.map((r) => r.round).join(', ') || 'none'} up to the checkpoint of round ${from}; ` +
          'with rounds missing its history cannot be continued',
      );
    if (from < summary.rounds) log.warn({ runId: summary.id, from, recorded: summary.rounds }, `rounds ${from + 1}..${summary.rounds} are run again`);
    log.info({ runId: summary.id, round: from }, `resuming run ${summary.id} after round ${from}`);
    return {
      runId: summary.id,
      startedAt: summary.startedAt,
      config,
      dir: summary.dir ? resolve(summary.dir) : resolve(config.output.out, summary.id),
      ...(checkpoint ? { checkpoint } : {}),
      history,
      unchargedReleases: store.unchargedReleases(summary.id, from),
      strategy: summary.strategy,
    };
  } finally {
    store.close();
  }
}

/** The stored config with the flags over it; a flag that would change what the run computes is a ConfigError. */
function resumedConfig(stored: Record<string, unknown>, flags: Record<string, unknown>, runId: string, storePath: string): RunConfig {
  const source = `run ${runId} in ${storePath}`;
  const before = runConfigFields(resolveRunConfig(source, stored));
  const config = resolveRunConfig(source, stored, flags, { store: storePath });
  const after = runConfigFields(config);
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => !RESUMABLE_OVERRIDES.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  if (changed.length > 0)
    throw new StarlingError(
      'E_RESUME',
      `--resume continues run ${runId} as it was configured; ${changed.join(', ')} cannot change ` +
        '(only where it listens, its keys and secrets, timeouts, limits and output can)',
    );
  return config;
}
