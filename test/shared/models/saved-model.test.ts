import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../../../shared/config.ts';
import { ConfigError, DataError } from '../../../shared/errors.ts';
import { loadSavedModel, saveModel } from '../../../shared/models/saved-model.ts';
import type { ModelSpec } from '../../../shared/models/spec.ts';
import { initWeights } from '../../../shared/models/registry.ts';

const root = mkdtempSync(join(tmpdir(), 'starling-saved-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const spec: ModelSpec = { type: 'mlp', inputs: 6, hidden: [4], outputs: 3, activation: 'relu' };
let n = 0;

/** A fresh saved model, optionally with model.json edited. */
function saved(edit?: (m: Record<string, unknown>) => void): { dir: string; file: string; weights: Float32Array } {
  const dir = join(root, `m${n++}`);
  const weights = initWeights(spec, 3);
  const file = saveModel(dir, spec, weights, { runId: 'test' });
  if (edit) {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(m);
    writeFileSync(file, JSON.stringify(m));
  }
  return { dir, file, weights };
}

describe('saved models', () => {
  it('round-trips spec and weights byte for byte, from model.json or its directory', () => {
    const { dir, file, weights } = saved();
    for (const path of [dir, file]) {
      const m = loadSavedModel(path);
      expect(m.spec).toEqual(spec);
      expect(Buffer.from(m.weights.buffer).equals(Buffer.from(weights.buffer))).toBe(true);
      expect(m.manifest).toMatchObject({ format: 'starling-model', version: 1, paramCount: 43, weights: 'final-weights.f32', source: { runId: 'test' } });
      expect(m.manifest.params.map((p) => p.name)).toEqual(['dense0/kernel', 'dense0/bias', 'dense1/kernel', 'dense1/bias']);
    }
  });

  it('a missing model file is a ConfigError naming it', () => {
    const missing = join(root, 'nowhere', 'model.json');
    expect(() => loadSavedModel(missing)).toThrow(ConfigError);
    expect(() => loadSavedModel(missing)).toThrow(`saved model ${missing} does not exist`);
    expect(() => loadSavedModel(root)).toThrow(`saved model ${join(root, 'model.json')} does not exist`);
  });

  const broken: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['wrong format', (m) => (m.format = 'keras'), /is not a Starling saved model \(format "keras", expected "starling-model"\)/],
    ['wrong version', (m) => (m.version = 2), /saved-model version 2 is not supported \(this Starling reads version 1\)/],
    ['a spec that fails the schema', (m) => ((m.spec as Record<string, unknown>).hidden = [-4]), /invalid model spec:\n {2}spec\.hidden\.0: Too small/],
    ['params that do not match the spec', (m) => ((m.params as { name: string }[])[1]!.name = 'dense0/b'), /params do not match the spec at #1/],
    ['a weights path outside its directory', (m) => (m.weights = '../x.f32'), /weights: must be a file name beside model.json/],
    ['a weights name that is the directory itself', (m) => (m.weights = '.'), /weights: must be a file name beside model.json/],
    ['a weights name that is the parent directory', (m) => (m.weights = '..'), /weights: must be a file name beside model.json/],
  ];
  for (const [what, edit, message] of broken) {
    it(`${what} is a DataError naming model.json`, () => {
      const { file } = saved(edit);
      expect(() => loadSavedModel(file)).toThrow(DataError);
      expect(() => loadSavedModel(file)).toThrow(message);
      expect(() => loadSavedModel(file)).toThrow(file);
    });
  }

  it('not JSON is a DataError naming the file', () => {
    const { file } = saved();
    writeFileSync(file, '{ nope');
    expect(() => loadSavedModel(file)).toThrow(new RegExp(`saved model ${file} is not valid JSON`));
  });

  it('a missing, short or changed weights file is a DataError naming it', () => {
    const a = saved();
    rmSync(join(a.dir, 'final-weights.f32'));
    expect(() => loadSavedModel(a.dir)).toThrow(`${a.file} names weights file final-weights.f32, but ${join(a.dir, 'final-weights.f32')} does not exist`);
    const b = saved();
    const wb = join(b.dir, 'final-weights.f32');
    writeFileSync(wb, readFileSync(wb).subarray(4));
    expect(() => loadSavedModel(b.dir)).toThrow(`${wb} holds 168 bytes; ${b.file} needs 172 (43 float32 parameters)`);
    const c = saved();
    const wc = join(c.dir, 'final-weights.f32');
    const bytes = readFileSync(wc);
    bytes[7]! ^= 1;
    writeFileSync(wc, bytes);
    expect(() => loadSavedModel(c.dir)).toThrow(DataError);
    expect(() => loadSavedModel(c.dir)).toThrow(new RegExp(`${wc} has SHA-256 [0-9a-f]{64}, but ${c.file} records`));
    const d = saved();
    rmSync(join(d.dir, 'final-weights.f32'));
    mkdirSync(join(d.dir, 'final-weights.f32'));
    expect(() => loadSavedModel(d.dir)).toThrow(`${join(d.dir, 'final-weights.f32')} is not a regular file`);
  });

  it('init brings the saved spec into the run config; a different model: or an unknown freeze name is refused', () => {
    const { dir } = saved();
    expect(resolveRunConfig('t', { init: dir }).model).toEqual(spec);
    expect(resolveRunConfig('t', { init: dir, model: { ...spec } }).model).toEqual(spec);
    expect(() => resolveRunConfig('t', { init: dir, model: { ...spec, hidden: [5] } })).toThrow(
      /model: differs from the spec of the saved model .*model\.json/,
    );
    expect(() => resolveRunConfig('t', { init: dir, freeze: ['dense3'] })).toThrow(/freeze: unknown layer "dense3" \(this model has: dense0, /);
    expect(() => resolveRunConfig('t', { init: dir, freeze: ['dense0', 'dense1'] })).toThrow(/freeze: dense0, dense1 freezes every parameter/);
    expect(() => resolveRunConfig('t', { train: { epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1, frozen: ['dense0'] } })).toThrow(
      /train\.frozen: set by the coordinator from `freeze:`/,
    );
    expect(() => resolveRunConfig('t', { init: join(root, 'absent') })).toThrow(ConfigError);
  });
});
