import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { RoundRecord } from '../round-loop.ts';
import type { FitFailure, ResultRecord } from '../strategies/strategy.ts';
import { type Checkpoint, writeCheckpoint } from './checkpoint-file.ts';
import { type CheckpointRef, type ClientRoundResult, type RunOutcome, type RunStart, RunStore } from './run-store.ts';

/**
 * A coordinator's run as the store sees it: begun when the run starts, each round committed
 * with its clients' results as it ends, finished with how the run ended. Each round's
 * checkpoint is written in the background while the next round runs, and named in the store
 * once it is on disk; a crash before that resumes from the checkpoint before (its round is run
 * again). A write that fails later (a full disk) is logged as E_STORE or E_CHECKPOINT and the
 * run goes on: history.json is still written.
 */
export class RunRecorder {
  private readonly store: RunStore;
  private readonly runId: string;
  /** Where the round checkpoints go (the run directory's checkpoints/). */
  private readonly checkpoints: string;
  private readonly log: Logger;
  private clients = new Map<number, ClientRoundResult[]>();
  private failing = false;
  private finished = false;
  /** The newest checkpoint not yet being written (an older one still waiting is superseded by it). */
  private queued: Checkpoint | undefined;
  /** The background writer, while it runs. */
  private writing: Promise<void> | undefined;

  private constructor(store: RunStore, runId: string, dir: string, log: Logger) {
    this.store = store;
    this.runId = runId;
    this.checkpoints = join(resolve(dir), 'checkpoints');
    this.log = log;
  }

  /** Opens the store at `path` (an E_STORE error when it cannot be used: before anything listens) and records the run's start. */
  static start(path: string, run: RunStart & { readonly dir: string }, log: Logger): RunRecorder {
    const store = RunStore.open(path);
    try {
      store.beginRun(run);
    } catch (e) {
      store.close();
      throw e;
    }
    log.info({ store: path, runId: run.id }, `recording run ${run.id} in ${path}`);
    return new RunRecorder(store, run.id, run.dir, log);
  }

  /**
   * Opens the store at `path` to go on recording run `runId` from round `from` (a resume, once
   * the coordinator has everything it needs to start): the rounds after `from` are deleted, to
   * run again, and the run is marked running in this process.
   */
  static reopen(path: string, runId: string, from: number, dir: string, log: Logger): RunRecorder {
    const store = RunStore.open(path);
    try {
      store.resumeRun(runId, from);
    } catch (e) {
      store.close();
      throw e;
    }
    log.info({ store: path, runId }, `recording run ${runId} in ${path}`);
    const recorder = new RunRecorder(store, runId, dir, log);
    // temporary files of checkpoint writes a hard exit cut short
    if (existsSync(recorder.checkpoints))
      for (const name of readdirSync(recorder.checkpoints)) if (name.endsWith('.tmp')) rmSync(join(recorder.checkpoints, name), { force: true });
    return recorder;
  }

  /** A round of a run with differential privacy is about to release noised updates at `rate` (RunStore.recordRelease). */
  onRelease(round: number, rate: number): void {
    this.write(() => this.store.recordRelease(this.runId, round, rate));
  }

  /** A round's results and failures by client, kept until the round's record commits with them. */
  onClients(round: number, results: readonly ResultRecord[], failures: readonly FitFailure[]): void {
    const rows = [
      ...results.map((r) => ({ who: r.client, row: { examples: r.numExamples, metrics: r.metrics, partial: r.partial ?? false } })),
      ...failures.map((f) => ({ who: f.client, row: { failure: f.reason } })),
    ];
    // names are the peers' own and need not be unique: a repeated one is told apart by its connection id, so no row is lost
    const count = new Map<string, number>();
    for (const { who } of rows) count.set(who.name, (count.get(who.name) ?? 0) + 1);
    this.clients.set(
      round,
      rows.map(({ who, row }) => ({ client: count.get(who.name)! > 1 ? `${who.name} (${who.id})` : who.name, ...row })),
    );
  }

  /**
   * Commits a round — its record, its clients' results and federated evaluation in one
   * transaction — and queues its checkpoint (`checkpoint`'s arrays are never changed after the
   * round: the round loop and the server steps make new ones).
   */
  onRound(record: RoundRecord, checkpoint?: Checkpoint): void {
    const clients = this.clients.get(record.round) ?? [];
    this.clients.delete(record.round);
    this.write(() => this.store.recordRound(this.runId, record, clients));
    if (!checkpoint) return;
    this.queued = checkpoint;
    this.writing ??= this.drain();
  }

  /** Resolves once every queued checkpoint is on disk and named in the store. */
  async flush(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    // after the round's tasks are out: the checkpoint is written while the clients train
    await new Promise((r) => setImmediate(r));
    for (let c = this.queued; c; c = this.queued) {
      this.queued = undefined;
      const ref = await this.writeCheckpoint(c);
      if (ref) this.write(() => this.prune(this.store.addCheckpoint(this.runId, ref)));
    }
    this.writing = undefined;
  }

  private async writeCheckpoint(c: Checkpoint): Promise<CheckpointRef | undefined> {
    const file = join(this.checkpoints, `round-${String(c.round).padStart(6, '0')}.ckpt`);
    try {
      mkdirSync(this.checkpoints, { recursive: true, mode: 0o700 });
      return { round: c.round, file, ...(await writeCheckpoint(file, c)) };
    } catch (e) {
      this.log.error({ code: 'E_CHECKPOINT', file, err: errorMessage(e) }, `cannot write the checkpoint ${file}: ${errorMessage(e)}`);
      return undefined;
    }
  }

  private prune(files: readonly string[]): void {
    for (const file of files) rmSync(file, { force: true });
  }

  /**
   * Records how the run ended, once its last checkpoint is down, and closes the store; only
   * the first outcome counts. A complete run's checkpoints are deleted (it cannot be resumed);
   * a stopped or failed run keeps them.
   */
  async finish(outcome: RunOutcome): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.flush();
    this.write(() => {
      this.store.finishRun(this.runId, outcome);
      if (outcome.status !== 'complete') return;
      this.prune(this.store.dropCheckpoints(this.runId));
      rmSync(this.checkpoints, { recursive: true, force: true });
    });
    this.store.close();
  }

  private write(commit: () => void): void {
    try {
      commit();
    } catch (e) {
      if (!this.failing)
        this.log.error(
          { code: 'E_STORE', store: this.store.path, err: errorMessage(e) },
          `cannot write to the run store ${this.store.path}: ${errorMessage(e)}`,
        );
      this.failing = true;
    }
  }
}
