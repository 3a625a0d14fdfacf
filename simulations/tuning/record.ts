import { existsSync } from 'node:fs';
import { type Db, openDb } from '../../coordinator/store/db.ts';
import { ConfigError, DataError, errorMessage } from '../../shared/errors.ts';
import { readOldRecord } from './old-record.ts';

/**
 * A search's record, kept in the SQLite store of its --out folder (tables searches, trials,
 * trial_results) and written as things happen, one committed statement each, so an
 * interrupted search resumes without repeating finished work (a crash loses at most the
 * trials in flight). A folder holds one search; a resumed search must have its identity.
 */
export interface SearchHeader {
  readonly kind: 'search';
  readonly version: 1;
  /** What makes two searches the same one: method, seed, trials, rungs, η, the space and base settings (as canonical JSON). */
  readonly identity: string;
  readonly startedAt: string;
}

export interface TrialLine {
  readonly kind: 'trial';
  readonly trial: number;
  readonly assignment: Record<string, unknown>;
}

export interface ResultLine {
  readonly kind: 'result';
  readonly trial: number;
  readonly rung: number;
  readonly rounds: number;
  /** ok: scored; failed: the run threw (error says why); stopped: the budget ended it before its rounds (not scored, rerun on resume). */
  readonly status: 'ok' | 'failed' | 'stopped';
  readonly score?: number;
  readonly error?: string;
  readonly seconds: number;
}

export type RecordLine = SearchHeader | TrialLine | ResultLine;

/** A search's folder holds models trained on the data and the scores they got: its owner's alone. */
export const RECORD_DIR_MODE = 0o700;
export const RECORD_FILE_MODE = 0o600;
/** The store a search is recorded in, in its --out folder. */
export const STORE_FILE = 'starling.db';
/** The record of the Starling versions before the store: imported once, then left as it is. */
export const OLD_RECORD_FILE = 'trials.jsonl';

/**
 * Trials and results share one sequence (a trial's rowid, a result's id), so the record reads
 * back in the order it was written, as the file did.
 */
const NEXT_SEQ = '(SELECT max(coalesce((SELECT max(rowid) FROM trials), 0), coalesce((SELECT max(id) FROM trial_results), 0)) + 1)';

export class SearchRecord {
  /** The store file. */
  readonly file: string;
  /** The search's header, then its trials and results in the order they were appended. */
  readonly lines: RecordLine[];
  private readonly db: Db;
  private readonly insert: (line: TrialLine | ResultLine) => void;

  private constructor(file: string, db: Db, searchId: number) {
    this.file = file;
    this.db = db;
    this.insert = inserter(db, searchId);
    this.lines = readLines(db, searchId);
  }

  /**
   * Opens the store `file`: a new search with `identity`, or the one recorded there when it is
   * the same search. A store that holds no search yet first imports `importFrom`, the record
   * an earlier Starling kept in a file (when it exists), so that search resumes; the file is
   * left as it is and no longer written.
   */
  static open(file: string, identity: string, options: { readonly importFrom?: string } = {}): SearchRecord {
    const db = openDb(file);
    try {
      const searches = db.prepare('SELECT id, identity FROM searches ORDER BY id').all() as { id: number; identity: string }[];
      if (searches.some((s) => s.identity !== identity)) throw differentSearch(file);
      const searchId = searches[0]?.id ?? createSearch(db, identity, options.importFrom);
      return new SearchRecord(file, db, searchId);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Records `line`: one statement, committed when this returns. */
  append(line: TrialLine | ResultLine): void {
    this.insert(line);
    this.lines.push(line);
  }

  close(): void {
    this.db.close();
  }
}

function differentSearch(file: string): ConfigError {
  return new ConfigError(
    `${file} records a different search (other space, method, seed, trials or rungs); resume it with the same settings or choose another --out`,
  );
}

/** Records a new search, with the lines of the old record file `importFrom` when there is one (all of them or, on any error, nothing). */
function createSearch(db: Db, identity: string, importFrom: string | undefined): number {
  const old = importFrom !== undefined && existsSync(importFrom) ? readOldRecord(importFrom) : undefined;
  let header: SearchHeader | undefined;
  if (old) {
    if (old[0]?.kind !== 'search') throw new DataError(`${importFrom}: the first line is not a search header`);
    header = old[0];
    if (header.identity !== identity) throw differentSearch(importFrom!);
  }
  return db.transaction(() => {
    const id = Number(
      db.prepare('INSERT INTO searches (identity, started_at) VALUES (?, ?)').run(identity, header?.startedAt ?? new Date().toISOString()).lastInsertRowid,
    );
    if (old) {
      const insert = inserter(db, id);
      try {
        for (const line of old.slice(1)) {
          if (line.kind === 'search') throw new Error('a second search header');
          insert(line);
        }
      } catch (e) {
        throw new DataError(`cannot import ${importFrom}: ${errorMessage(e)}; move it away to start a new search`, { cause: e });
      }
    }
    return id;
  })();
}

function inserter(db: Db, searchId: number): (line: TrialLine | ResultLine) => void {
  const trial = db.prepare(`INSERT INTO trials (rowid, search_id, trial, assignment) VALUES (${NEXT_SEQ}, ?, ?, ?)`);
  const result = db.prepare(
    `INSERT INTO trial_results (id, search_id, trial, rung, rounds, status, score, error, seconds) VALUES (${NEXT_SEQ}, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return (line) => {
    if (line.kind === 'trial') trial.run(searchId, line.trial, JSON.stringify(line.assignment));
    else result.run(searchId, line.trial, line.rung, line.rounds, line.status, line.score ?? null, line.error ?? null, line.seconds);
  };
}

interface TrialRow {
  readonly seq: number;
  readonly trial: number;
  readonly assignment: string;
}

interface ResultRow {
  readonly seq: number;
  readonly trial: number;
  readonly rung: number;
  readonly rounds: number;
  readonly status: ResultLine['status'];
  readonly score: number | null;
  readonly error: string | null;
  readonly seconds: number;
}

function readLines(db: Db, searchId: number): RecordLine[] {
  const search = db.prepare('SELECT identity, started_at AS startedAt FROM searches WHERE id = ?').get(searchId) as { identity: string; startedAt: string };
  const trials = db.prepare('SELECT rowid AS seq, trial, assignment FROM trials WHERE search_id = ?').all(searchId) as TrialRow[];
  const results = db
    .prepare('SELECT id AS seq, trial, rung, rounds, status, score, error, seconds FROM trial_results WHERE search_id = ?')
    .all(searchId) as ResultRow[];
  const lines: { seq: number; line: TrialLine | ResultLine }[] = [
    ...trials.map((t) => ({ seq: t.seq, line: { kind: 'trial', trial: t.trial, assignment: JSON.parse(t.assignment) } as TrialLine })),
    ...results.map((r) => ({ seq: r.seq, line: resultLine(r) })),
  ];
  lines.sort((a, b) => a.seq - b.seq);
  return [{ kind: 'search', version: 1, identity: search.identity, startedAt: search.startedAt }, ...lines.map((l) => l.line)];
}

function resultLine(r: ResultRow): ResultLine {
  return {
    kind: 'result',
    trial: r.trial,
    rung: r.rung,
    rounds: r.rounds,
    status: r.status,
    ...(r.score !== null && { score: r.score }),
    ...(r.error !== null && { error: r.error }),
    seconds: r.seconds,
  };
}
