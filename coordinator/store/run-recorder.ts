import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { RoundRecord } from '../round-loop.ts';
import type { FitFailure, FitOutcome } from '../strategies/strategy.ts';
import { type ClientRoundResult, type RunOutcome, type RunStart, RunStore } from './run-store.ts';

/**
 * A coordinator's run as the store sees it: begun when the run starts, each round committed
 * with its clients' results as it ends, finished with how the run ended. A write that fails
 * later (a full disk) is logged as E_STORE and the run goes on: history.json is still written.
 */
export class RunRecorder {
  private readonly store: RunStore;
  private readonly runId: string;
  private readonly log: Logger;
  private clients = new Map<number, ClientRoundResult[]>();
  private failing = false;
  private finished = false;

  private constructor(store: RunStore, runId: string, log: Logger) {
    this.store = store;
    this.runId = runId;
    this.log = log;
  }

  /** Opens the store at `path` (an E_STORE error when it cannot be used: before anything listens) and records the run's start. */
  static start(path: string, run: RunStart, log: Logger): RunRecorder {
    const store = RunStore.open(path);
    try {
      store.beginRun(run);
    } catch (e) {
      store.close();
      throw e;
    }
    log.info({ store: path, runId: run.id }, `recording run ${run.id} in ${path}`);
    return new RunRecorder(store, run.id, log);
  }

  /** A round's results and failures by client, kept until the round's record commits with them. */
  onClients(round: number, results: readonly FitOutcome[], failures: readonly FitFailure[]): void {
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

  onRound(record: RoundRecord): void {
    const clients = this.clients.get(record.round) ?? [];
    this.clients.delete(record.round);
    this.write(() => this.store.recordRound(this.runId, record, clients));
  }

  /** Records how the run ended and closes the store; only the first outcome counts. */
  finish(outcome: RunOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.write(() => this.store.finishRun(this.runId, outcome));
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
