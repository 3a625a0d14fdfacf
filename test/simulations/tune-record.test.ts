import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from '../../coordinator/store/db.ts';
import { type RecordLine, SearchRecord } from '../../simulations/tuning/record.ts';

let dir: string;
let store: string;
let old: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-tune-record-'));
  store = join(dir, 'starling.db');
  old = join(dir, 'trials.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines: RecordLine[] = [
  { kind: 'trial', trial: 0, assignment: { lr: 0.1, optimizer: 'adam' } },
  { kind: 'trial', trial: 1, assignment: { lr: 0.01, optimizer: 'sgd' } },
  { kind: 'result', trial: 0, rung: 0, rounds: 2, status: 'ok', score: 0.75, seconds: 1.5 },
  { kind: 'trial', trial: 2, assignment: { lr: 1, optimizer: 'sgd' } },
  { kind: 'result', trial: 1, rung: 0, rounds: 2, status: 'failed', error: 'diverged at round 1', seconds: 0.25 },
  { kind: 'result', trial: 0, rung: 1, rounds: 1, status: 'stopped', seconds: 0.5 },
];
const header = { kind: 'search', version: 1, identity: '{"search":1}', startedAt: '2024-05-01T10:00:00.000Z' } as const;

/** Opens, does `f`, closes. */
function opened<T>(identity: string, f: (r: SearchRecord) => T, options: { importFrom?: string } = {}): T {
  const record = SearchRecord.open(store, identity, options);
  try {
    return f(record);
  } finally {
    record.close();
  }
}

const searchCount = () => {
  const db = openDb(store);
  try {
    return (db.prepare('SELECT count(*) AS n FROM searches').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('a search record in the store', () => {
  it('reads back the header, then its trials and results in the order they were appended, each committed as it was', () => {
    opened(header.identity, (record) => {
      for (const line of lines) record.append(line as Exclude<RecordLine, { kind: 'search' }>);
      // another connection sees every append before this one closes
      opened(header.identity, (other) => expect(other.lines.slice(1)).toStrictEqual(lines));
    });
    const again = opened(header.identity, (r) => r.lines);
    expect(again[0]).toMatchObject({ kind: 'search', version: 1, identity: header.identity });
    expect(again.slice(1)).toStrictEqual(lines);
  });

  it('holds one search: another is refused, naming the store, and changes nothing', () => {
    opened(header.identity, (record) => record.append(lines[0] as Exclude<RecordLine, { kind: 'search' }>));
    expect(() => opened('{"search":2}', () => undefined)).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining(`${store} records a different search`) }),
    );
    expect(opened(header.identity, (r) => r.lines.length)).toBe(2);
    expect(searchCount()).toBe(1);
  });
});

describe('an old trials.jsonl', () => {
  const jsonl = (ls: readonly object[]) => ls.map((l) => `${JSON.stringify(l)}\n`).join('');

  it('is imported once, its torn last line dropped, and left as it was; the search then resumes from the store', () => {
    const text = `${jsonl([header, ...lines.slice(0, 5)])}${JSON.stringify(lines[5]).slice(0, 20)}`;
    writeFileSync(old, text);
    const imported = opened(
      header.identity,
      (record) => {
        record.append(lines[5] as Exclude<RecordLine, { kind: 'search' }>);
        return record.lines;
      },
      { importFrom: old },
    );
    expect(imported).toStrictEqual([header, ...lines]);
    expect(readFileSync(old, 'utf8')).toBe(text);
    // the store now holds the search: the file is not read again
    writeFileSync(old, 'not a record\n');
    expect(opened(header.identity, (r) => r.lines, { importFrom: old })).toStrictEqual([header, ...lines]);
  });

  it('of another search is refused, naming it, and nothing is imported', () => {
    writeFileSync(old, jsonl([{ ...header, identity: '{"search":2}' }, ...lines]));
    expect(() => opened(header.identity, () => undefined, { importFrom: old })).toThrow(`${old} records a different search`);
    expect(opened('{"search":2}', (r) => r.lines.length, { importFrom: old })).toBe(1 + lines.length);
  });

  it('that is damaged is an error naming it, and imports nothing', () => {
    writeFileSync(old, `${jsonl([header, lines[0]!])}{"kind":\n${jsonl([lines[1]!])}`);
    expect(() => opened(header.identity, () => undefined, { importFrom: old })).toThrow(`${old}:3:`);
    // a result of a trial the file never records
    writeFileSync(old, jsonl([header, lines[0]!, lines[4]!]));
    expect(() => opened(header.identity, () => undefined, { importFrom: old })).toThrow(`cannot import ${old}`);
    expect(searchCount()).toBe(0);
  });
});
