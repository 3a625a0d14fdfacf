import { mkdtempSync, rmSync, statSync } from 'node:fs';
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
  it('creates its folder 0700 and trials.jsonl 0600', () => {
    const out = join(dir, 'tune-1');
    const record = SearchRecord.open(join(out, 'trials.jsonl'), '{"search":1}');
    record.append({ kind: 'trial', trial: 1, assignment: { lr: 0.1 } });
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'trials.jsonl')).mode & 0o777).toBe(0o600);
  });
});
