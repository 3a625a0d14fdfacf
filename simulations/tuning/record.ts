import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWrite } from '../../shared/atomic-file.ts';
import { ConfigError, DataError } from '../../shared/errors.ts';

/**
 * A search's record: one JSON object a line, appended as things happen, so an
 * interrupted search resumes without repeating finished work. The first line
 * describes the search; a resumed search must match it.
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

export class SearchRecord {
  readonly file: string;
  readonly lines: RecordLine[];

  private constructor(file: string, lines: RecordLine[]) {
    this.file = file;
    this.lines = lines;
  }

  /** Opens `file`: a new record with `identity`, or the existing one when it was made by the same search. */
  static open(file: string, identity: string): SearchRecord {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: RECORD_DIR_MODE });
      const header: SearchHeader = { kind: 'search', version: 1, identity, startedAt: new Date().toISOString() };
      appendFileSync(file, `${JSON.stringify(header)}\n`, { mode: RECORD_FILE_MODE });
      return new SearchRecord(file, [header]);
    }
    const { lines, torn } = parseRecord(file);
    // a line torn by a crash mid-write is cut off (or, when only its newline is missing, ended), so the next append starts a fresh line
    if (torn) atomicWrite(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''), RECORD_FILE_MODE);
    const header = lines[0];
    if (header?.kind !== 'search') throw new DataError(`${file}: the first line is not a search header`);
    if (header.identity !== identity) {
      throw new ConfigError(
        `${file} records a different search (other space, method, seed, trials or rungs); resume it with the same settings or choose another --out`,
      );
    }
    return new SearchRecord(file, lines);
  }

  append(line: TrialLine | ResultLine): void {
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    this.lines.push(line);
  }
}

/** Reads a record; a torn last line (a crash mid-write) is dropped, any other bad line is an error naming it. */
function parseRecord(file: string): { lines: RecordLine[]; torn: boolean } {
  const text = readFileSync(file, 'utf8');
  const raw = text.split('\n');
  const out: RecordLine[] = [];
  // a record not ending in a newline was cut short while writing, whatever its last line holds
  const torn = text.length > 0 && !text.endsWith('\n');
  raw.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const v = JSON.parse(line) as RecordLine;
      if (typeof v !== 'object' || v === null || !['search', 'trial', 'result'].includes((v as { kind?: string }).kind ?? ''))
        throw new Error('not a record line');
      out.push(v);
    } catch (e) {
      const last = raw.slice(i + 1).every((l) => l.trim() === '');
      if (last && torn) return;
      throw new DataError(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { lines: out, torn };
}
