import { describe, expect, it } from 'vitest';
import { probeAll, selectBackend } from '../../shared/backend.ts';
import { BackendError } from '../../shared/errors.ts';

describe('backend selection', () => {
  it('probes each backend and says why', () => {
    const probes = probeAll();
    expect(probes.map((p) => p.name)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
    for (const p of probes) expect(p.reason.length).toBeGreaterThan(10);
    expect(probes.find((p) => p.name === 'cpu')!.usable).toBe(true);
    expect(probes.find((p) => p.name === 'wasm')!.usable).toBe(true);
  });

  it('picks the first usable backend', async () => {
    const first = probeAll().find((p) => p.usable)!.name;
    expect(await selectBackend()).toBe(first);
  });

  it('refuses an unknown or unavailable forced backend with a clear error', async () => {
    await expect(selectBackend('quantum')).rejects.toThrow(/unknown backend "quantum"/);
    const missing = probeAll().find((p) => !p.usable);
    if (missing) {
      await expect(selectBackend(missing.name)).rejects.toThrow(BackendError);
      await expect(selectBackend(missing.name)).rejects.toThrow(new RegExp(`backend "${missing.name}" is not available`));
    }
  });
});
