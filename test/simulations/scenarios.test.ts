import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveRunConfig } from '../../shared/config.ts';

const dir = new URL('../../simulations/scenarios/', import.meta.url).pathname;

describe('scenario files', () => {
  it('every run of every scenario is a valid run config', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const s = parse(readFileSync(join(dir, f), 'utf8')) as {
        name: string;
        target: number;
        base: Record<string, unknown>;
        runs: { label: string; config: Record<string, unknown> }[];
      };
      expect(s.target, f).toBeGreaterThan(0);
      for (const run of s.runs) {
        // every contradiction (a Krum run with too few clients a round, dp with a robust rule …) is the config's to refuse
        expect(() => resolveRunConfig(`${f}: ${run.label}`, s.base, run.config)).not.toThrow();
      }
    }
  });
});
