import { readFileSync } from 'node:fs';
import { DataError } from '../../shared/errors.ts';
import type { RecordLine } from './record.ts';

/**
 * Reads the record file (trials.jsonl: one JSON object a line) that Starling kept before the
 * store, to import it once. A torn last line (a crash mid-write) is dropped; any other bad
 * line is an error naming it. The file is only read.
 */
export function readOldRecord(file: string): RecordLine[] {
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
  return out;
}
