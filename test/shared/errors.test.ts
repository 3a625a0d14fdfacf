import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.ts';

describe('the error vocabulary', () => {
  it('docs/errors.md explains exactly the codes of ERROR_CODES, each once', () => {
    const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...page.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('no source file throws a bare RangeError or TypeError: every error a user can meet has a code', () => {
    const sources = (dir: string): string[] => {
      return readdirSync(new URL(`../../${dir}/`, import.meta.url)).flatMap((name: string) => {
        const path = `${dir}/${name}`;
        if (statSync(new URL(`../../${path}`, import.meta.url)).isDirectory()) return name === 'assembly' ? [] : sources(path);
        return name.endsWith('.ts') ? [path] : [];
      });
    };
    const offending = ['coordinator', 'client', 'shared', 'simulations', 'cli']
      .flatMap(sources)
      .filter((f) => /new (Range|Type)Error\(/.test(readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8')));
    expect(offending).toEqual([]);
  });
});
