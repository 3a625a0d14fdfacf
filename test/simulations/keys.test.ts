import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { makeSimulationKeys } from '../../simulations/keys.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

const keyFolders = () => readdirSync(tmpdir()).filter((name) => name.startsWith('starling-keys-'));

describe('simulation keys', () => {
  it('live in a temporary folder until disposed of; disposing twice is harmless', () => {
    const keys = makeSimulationKeys(2, (i) => `c${i}`);
    expect(readdirSync(keys.dir).sort()).toEqual(['allow.txt', 'c0.key', 'c1.key', 'coordinator.key']);
    keys.dispose();
    expect(existsSync(keys.dir)).toBe(false);
    keys.dispose();
  });

  it('leave no folder behind when making them fails', () => {
    const before = keyFolders();
    const names = (i: number) => {
      if (i === 1) throw new Error('no name for client 1');
      return `c${i}`;
    };
    expect(() => makeSimulationKeys(2, names)).toThrow(/no name for client 1/);
    expect(keyFolders()).toEqual(before);
  });

  it('are removed when the process exits without disposing of them (process.exit, as on an interrupt)', () => {
    const code =
      "const { makeSimulationKeys } = await import('./simulations/keys.ts'); const k = makeSimulationKeys(1, () => 'c'); " +
      "const kept = makeSimulationKeys(1, () => 'd'); kept.dispose(); process.stdout.write(k.dir); process.exit(3);";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/starling-keys-/);
    expect(existsSync(r.stdout)).toBe(false);
  });
});
