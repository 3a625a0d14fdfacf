import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SearchRecord } from '../../simulations/tuning/record.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-tune-modes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a search record', () => {
  it('creates its folder 0700 and its store 0600, the write-ahead log included', () => {
    const out = join(dir, 'tune-1');
    const record = SearchRecord.open(join(out, 'starling.db'), '{"search":1}');
    try {
      record.append({ kind: 'trial', trial: 1, assignment: { lr: 0.1 } });
      expect(statSync(out).mode & 0o777).toBe(0o700);
      const files = readdirSync(out).filter((f) => f.startsWith('starling.db'));
      expect(files).toContain('starling.db-wal');
      for (const f of files) expect([f, statSync(join(out, f)).mode & 0o777]).toEqual([f, 0o600]);
    } finally {
      record.close();
    }
  });
});
