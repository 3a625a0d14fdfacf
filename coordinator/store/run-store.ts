import { hostname } from 'node:os';
import type { RoundRecord } from '../round-loop.ts';
import { type Db, openDb } from './db.ts';

/** What the store records of a run when it starts. */
export interface RunStart {
  readonly id: string;
  readonly startedAt: string;
  /** The config as its files record it: flat, secrets dropped (history.ts, publicConfig). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly roundsPlanned: number;
  /** Short forms, for listing: the data, the model type, the strategy. */
  readonly data: string;
  readonly model: string;
  readonly strategy: string;
  readonly codeVersion: string;
  /** Whether real clients or a simulation's virtual ones took part: a run resumes the way it ran. */
  readonly kind?: RunKind;
  /** The run directory its files go to, when it writes them. */
  readonly dir?: string;
}

/** One client's part in a round: its result, or why it has none. */
export interface ClientRoundResult {
  readonly client: string;
  readonly examples?: number;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly partial?: boolean;
  readonly failure?: string;
}

export type RunStatus = 'running' | 'complete' | 'failed' | 'stopped';

export type RunKind = 'coordinator' | 'simulation';

/** A round's checkpoint file, as the store names it. */
export interface CheckpointRef {
  readonly round: number;
  /** Absolute path. */
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Checkpoints kept per run: the newest, and older ones to fall back to when it is damaged. */
export const CHECKPOINTS_KEPT = 3;

export interface RunOutcome {
  readonly status: Exclude<RunStatus, 'running'>;
  readonly finishedAt: string;
  readonly error?: string;
  readonly finalWeightsSha256?: string;
}

/** A run as `starling runs list` shows it. `interrupted`: marked running, but its process on this host is gone. */
export interface RunSummary {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly status: RunStatus | 'interrupted';
  readonly rounds: number;
  readonly roundsPlanned: number;
  readonly bestAccuracy: number | null;
  readonly data: string;
  readonly model: string;
  readonly strategy: string;
  readonly error: string | null;
  readonly dir: string | null;
  /** How many times the run was taken up again with --resume. */
  readonly resumes: number;
  /** null for a run recorded before Starling noted it. */
  readonly kind: RunKind | null;
}

export interface StoredRun {
  readonly summary: RunSummary;
  readonly config: Record<string, unknown>;
  readonly rounds: RoundRecord[];
}

interface RunRow {
  id: string;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  error: string | null;
  config: string;
  rounds_planned: number;
  data: string;
  model: string;
  strategy: string;
  host: string;
  pid: number;
  dir: string | null;
  /** Absent in a store of schema 1 opened read-only (not migrated). */
  resumes?: number;
  kind?: RunKind | null;
  rounds: number;
  best: number | null;
}

const SUMMARY_SELECT = `
  SELECT r.*, (SELECT COUNT(*) FROM rounds WHERE run_id = r.id) AS rounds, (SELECT MAX(accuracy) FROM rounds WHERE run_id = r.id) AS best
  FROM runs r`;

/**
 * The coordinator's record of its runs in one SQLite file (WAL): each run as it starts, each
 * round as it ends — its record, every client's result or failure and the federated
 * evaluation, in one transaction — and how the run ended. A run whose process dies keeps
 * every round committed before it. Model weights stay in files; the store names them.
 */
export class RunStore {
  readonly path: string;
  private readonly db: Db;
  private readonly insertRound;
  private readonly insertClient;
  private readonly insertFederated;
  private readonly insertCheckpoint;

  private constructor(path: string, db: Db) {
    this.path = path;
    this.db = db;
    this.insertRound = db.prepare(`
      INSERT INTO rounds (run_id, round, accuracy, loss, seconds, bytes_in, bytes_out, clients, failures, partial, train_loss, train_accuracy, epsilon, delta, skipped, skip_reason, record)
      VALUES (@runId, @round, @accuracy, @loss, @seconds, @bytesIn, @bytesOut, @clients, @failures, @partial, @trainLoss, @trainAccuracy, @epsilon, @delta, @skipped, @skipReason, @record)`);
    this.insertClient = db.prepare(`
      INSERT INTO client_results (run_id, round, client, examples, metrics, partial, failure)
      VALUES (@runId, @round, @client, @examples, @metrics, @partial, @failure)`);
    this.insertCheckpoint = db.prepare(`
      INSERT OR REPLACE INTO checkpoints (run_id, round, file, sha256, bytes, created_at) VALUES (@runId, @round, @file, @sha256, @bytes, @createdAt)`);
    this.insertFederated = db.prepare(`
      INSERT INTO federated_results (run_id, round, client, examples, metrics) VALUES (@runId, @round, @client, @examples, @metrics)`);
  }

  /** Opens the store at `path`, creating it (and migrating an older one) unless `readonly`. */
  static open(path: string, options: { readonly readonly?: boolean } = {}): RunStore {
    return new RunStore(path, openDb(path, options));
  }

  beginRun(run: RunStart): void {
    this.db
      .prepare(`
        INSERT INTO runs (id, started_at, status, config, seed, rounds_planned, data, model, strategy, code_version, host, pid, dir, kind)
        VALUES (@id, @startedAt, 'running', @config, @seed, @roundsPlanned, @data, @model, @strategy, @codeVersion, @host, @pid, @dir, @kind)`)
      .run({ ...run, config: JSON.stringify(run.config), host: hostname(), pid: process.pid, dir: run.dir ?? null, kind: run.kind ?? null });
  }

  /** Commits one round: its record, each client's result or failure, and its federated evaluation, together or not at all. */
  recordRound(runId: string, record: RoundRecord, clients: readonly ClientRoundResult[]): void {
    this.db.transaction(() => {
      this.insertRound.run({
        runId,
        round: record.round,
        accuracy: record.accuracy,
        loss: record.loss,
        seconds: record.seconds,
        bytesIn: record.bytesIn,
        bytesOut: record.bytesOut,
        clients: record.clients,
        failures: record.failures,
        partial: record.partial,
        trainLoss: record.trainLoss,
        trainAccuracy: record.trainAccuracy,
        epsilon: record.epsilon ?? null,
        delta: record.delta ?? null,
        skipped: record.skipped ? 1 : 0,
        skipReason: record.skipReason ?? null,
        record: JSON.stringify(record),
      });
      for (const c of clients) {
        this.insertClient.run({
          runId,
          round: record.round,
          client: c.client,
          examples: c.examples ?? null,
          metrics: c.metrics ? JSON.stringify(c.metrics) : null,
          partial: c.partial === undefined ? null : c.partial ? 1 : 0,
          failure: c.failure ?? null,
        });
      }
      for (const c of record.federated?.perClient ?? []) {
        this.insertFederated.run({ runId, round: record.round, client: c.client, examples: c.numExamples, metrics: JSON.stringify(c.metrics) });
      }
    })();
  }

  /**
   * Names a round's checkpoint file (on disk by now) beside its round. Returns the checkpoint
   * files no longer kept (beyond the newest CHECKPOINTS_KEPT), for the caller to delete.
   */
  addCheckpoint(runId: string, checkpoint: CheckpointRef): string[] {
    return this.db.transaction(() => {
      this.insertCheckpoint.run({ runId, ...checkpoint, createdAt: new Date().toISOString() });
      // the checkpoint's privacy account holds these rounds' releases now
      this.db.prepare('DELETE FROM releases WHERE run_id = ? AND round <= ?').run(runId, checkpoint.round);
      const old = this.db
        .prepare('SELECT round, file FROM checkpoints WHERE run_id = ? ORDER BY round DESC LIMIT -1 OFFSET ?')
        .all(runId, CHECKPOINTS_KEPT) as { round: number; file: string }[];
      for (const o of old) this.db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND round = ?').run(runId, o.round);
      return old.map((o) => o.file);
    })();
  }

  /** Forgets a run's checkpoints (a complete run is never resumed); returns their files, for the caller to delete. */
  dropCheckpoints(runId: string): string[] {
    return this.db.transaction(() => {
      const files = (this.db.prepare('SELECT file FROM checkpoints WHERE run_id = ?').all(runId) as { file: string }[]).map((r) => r.file);
      this.db.prepare('DELETE FROM checkpoints WHERE run_id = ?').run(runId);
      return files;
    })();
  }

  /**
   * Notes that round `round` of a run with differential privacy is about to release noised
   * updates, sampled at `rate`: until a checkpoint at or after the round is named, a resume
   * charges it again (its account lives only in memory until then).
   */
  recordRelease(runId: string, round: number, rate: number): void {
    this.db.prepare('INSERT INTO releases (run_id, round, rate, started_at) VALUES (?, ?, ?, ?)').run(runId, round, rate, new Date().toISOString());
  }

  /** The sampling rates of the releases after round `after` that no checkpoint's account holds. */
  unchargedReleases(runId: string, after: number): number[] {
    return (this.db.prepare('SELECT rate FROM releases WHERE run_id = ? AND round > ? ORDER BY rowid').all(runId, after) as { rate: number }[]).map(
      (r) => r.rate,
    );
  }

  /** A run's checkpoints, newest first. */
  checkpoints(runId: string): CheckpointRef[] {
    return this.db.prepare('SELECT round, file, sha256, bytes FROM checkpoints WHERE run_id = ? ORDER BY round DESC').all(runId) as CheckpointRef[];
  }

  /**
   * Takes a run up again from round `from` (its checkpoint's): the rounds after it are deleted
   * (they are run again), and the run is marked running in this process. `from` 0 starts over.
   */
  resumeRun(runId: string, from: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM rounds WHERE run_id = ? AND round > ?').run(runId, from);
      this.db
        .prepare(
          "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, final_weights_sha256 = NULL, host = ?, pid = ?, resumes = resumes + 1 WHERE id = ?",
        )
        .run(hostname(), process.pid, runId);
    })();
  }

  finishRun(runId: string, outcome: RunOutcome): void {
    this.db
      .prepare('UPDATE runs SET status = @status, finished_at = @finishedAt, error = @error, final_weights_sha256 = @sha WHERE id = @runId')
      .run({ runId, status: outcome.status, finishedAt: outcome.finishedAt, error: outcome.error ?? null, sha: outcome.finalWeightsSha256 ?? null });
  }

  /** Every run, newest first. */
  listRuns(): RunSummary[] {
    return (this.db.prepare(`${SUMMARY_SELECT} ORDER BY r.started_at DESC, r.id DESC`).all() as RunRow[]).map(summaryOf);
  }

  /** One run by its id (or a unique prefix of it): its summary, config and round records. */
  getRun(idOrPrefix: string): StoredRun | undefined {
    const rows = this.db
      .prepare(`${SUMMARY_SELECT} WHERE r.id = ? OR r.id LIKE ? ESCAPE '\\' ORDER BY r.id`)
      .all(idOrPrefix, `${likeEscape(idOrPrefix)}%`) as RunRow[];
    const row = rows.find((r) => r.id === idOrPrefix) ?? (rows.length === 1 ? rows[0] : undefined);
    if (!row) return undefined;
    const records = this.db.prepare('SELECT record FROM rounds WHERE run_id = ? ORDER BY round').all(row.id) as { record: string }[];
    return {
      summary: summaryOf(row),
      config: JSON.parse(row.config) as Record<string, unknown>,
      rounds: records.map((r) => JSON.parse(r.record) as RoundRecord),
    };
  }

  /** The clients' results of one round of a run, by client name. */
  clientResults(runId: string, round: number): ClientRoundResult[] {
    const rows = this.db
      .prepare('SELECT client, examples, metrics, partial, failure FROM client_results WHERE run_id = ? AND round = ? ORDER BY client')
      .all(runId, round) as { client: string; examples: number | null; metrics: string | null; partial: number | null; failure: string | null }[];
    return rows.map((r) => ({
      client: r.client,
      ...(r.examples !== null ? { examples: r.examples } : {}),
      ...(r.metrics !== null ? { metrics: JSON.parse(r.metrics) as Record<string, number> } : {}),
      ...(r.partial !== null ? { partial: r.partial === 1 } : {}),
      ...(r.failure !== null ? { failure: r.failure } : {}),
    }));
  }

  close(): void {
    this.db.close();
  }
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function summaryOf(row: RunRow): RunSummary {
  return {
    id: row.id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status === 'running' && row.host === hostname() && !alive(row.pid) ? 'interrupted' : row.status,
    rounds: row.rounds,
    roundsPlanned: row.rounds_planned,
    bestAccuracy: row.best,
    data: row.data,
    model: row.model,
    strategy: row.strategy,
    error: row.error,
    dir: row.dir,
    resumes: row.resumes ?? 0,
    kind: row.kind ?? null,
  };
}

/**
 * Whether a process of this host with this pid is alive (a run marked running whose process is
 * gone was interrupted). This process's own pid is not taken for the run's: in a container the
 * coordinator is pid 1 every time, so a run recorded by an earlier container looks alive.
 */
function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
