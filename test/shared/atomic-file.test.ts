import { linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWrite } from '../../shared/atomic-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('atomicWrite', () => {
  it('creates the file with the mode asked for, and leaves no temporary file', () => {
    const file = join(dir, 'history.json');
    atomicWrite(file, '{"a":1}\n', 0o600);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    atomicWrite(join(dir, 'w.f32'), new Uint8Array([1, 2, 3]), 0o600);
    expect([...readFileSync(join(dir, 'w.f32'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['history.json', 'w.f32']);
  });

  it('replaces an existing 0644 file by a new 0600 one without writing into the old inode', () => {
    const file = join(dir, 'model.json');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    linkSync(file, join(dir, 'witness'));
    atomicWrite(file, 'new\n', 0o600);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(readFileSync(join(dir, 'witness'), 'utf8')).toBe('old\n');
  });

  it('removes its temporary file when the rename fails', () => {
    const file = join(dir, 'taken');
    mkdirSync(file);
    writeFileSync(join(file, 'inside'), 'x');
    expect(() => atomicWrite(file, 'data', 0o600)).toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
