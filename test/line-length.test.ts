import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No source line runs past 200 characters. The formatter wraps code at 160 but cannot wrap a
 * long string or template literal: those are split by hand (concatenated parts, or a named const).
 */
const ROOT = new URL('..', import.meta.url).pathname;
const LIMIT = 200;
const ROOTS = ['cli.ts', 'cli', 'coordinator', 'client', 'shared', 'simulations', 'test', 'bench'];
// hand-written AssemblyScript kernels, outside the formatter's reach; and generated or installed code
const SKIPPED = new Set(['shared/engine/simd/assembly']);
const SKIPPED_NAMES = new Set(['node_modules', 'build', 'dist', 'runs']);

function sources(path: string): string[] {
  if (SKIPPED.has(path)) return [];
  if (statSync(join(ROOT, path)).isDirectory()) {
    return readdirSync(join(ROOT, path))
      .filter((name) => !SKIPPED_NAMES.has(name) && !name.startsWith('.'))
      .flatMap((name) => sources(join(path, name)));
  }
  return /\.(ts|mjs)$/.test(path) ? [path] : [];
}

function longLines(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.length > LIMIT ? [`${file}:${i + 1} (${line.length})`] : []));
}

describe('line length', () => {
  it('walks the source folders', () => {
    const files = ROOTS.flatMap(sources);
    expect(files).toContain('cli.ts');
    expect(files).toContain('coordinator/coordinator.ts');
    expect(files).toContain('test/line-length.test.ts');
    expect(files.some((f) => f.startsWith('shared/engine/simd/assembly/'))).toBe(false);
  });

  it(`keeps every line of ${ROOTS.join(', ')} within ${LIMIT} characters`, () => {
    expect(ROOTS.flatMap(sources).flatMap(longLines)).toEqual([]);
  });
});
