import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The dependency direction (README, Architecture), checked on every import statement. */
const ROOT = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) =>
    relative(ROOT, join(ROOT, file, '..', m[1] ?? m[2]!)),
  );
}

const FORBIDDEN: Record<string, string[]> = {
  shared: ['coordinator/', 'client/', 'simulations/', 'cli.ts', 'cli/'],
  coordinator: ['client/', 'simulations/', 'cli.ts', 'cli/'],
  client: ['coordinator/', 'simulations/', 'cli.ts', 'cli/'],
  // the command line is the one place that writes to the terminal: simulations and tuning return results
  simulations: ['cli.ts', 'cli/'],
  // crypto sits beneath the protocol (protocol imports crypto, never the reverse); secure
  // aggregation and privacy may use crypto but are pure cores that know no wire protocol
  'shared/crypto': ['shared/protocol/'],
  'shared/secagg': ['shared/protocol/'],
  'shared/privacy': ['shared/protocol/'],
  // the ML modules know nothing of the wire or its keys: models, engines, data, metrics and optimizers are plain computation
  'shared/models': ['shared/protocol/', 'shared/crypto/'],
  'shared/engine': ['shared/protocol/', 'shared/crypto/'],
  'shared/data': ['shared/protocol/', 'shared/crypto/'],
  'shared/metrics': ['shared/protocol/', 'shared/crypto/'],
  'shared/optimizers': ['shared/protocol/', 'shared/crypto/'],
};

describe('dependency direction', () => {
  it('sees the imports it checks', () => {
    expect(importsOf('coordinator/coordinator.ts')).toContain('shared/config.ts');
    expect(importsOf('simulations/train-worker.mjs')).toContain('simulations/train-worker.ts');
    expect(importsOf('shared/protocol/frame.ts')).toContain('shared/crypto/frame-sealer.ts');
  });

  for (const [dir, banned] of Object.entries(FORBIDDEN)) {
    it(`${dir}/ imports nothing from ${banned.join(', ')}`, () => {
      const offending = sources(dir).flatMap((f) =>
        importsOf(f)
          .filter((i) => banned.some((b) => i.startsWith(b)))
          .map((i) => `${f} → ${i}`),
      );
      expect(offending).toEqual([]);
    });
  }
});
