import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('run config', () => {
  it('has the core-round defaults', () => {
    const c = loadRunConfig(undefined);
    expect(c).toMatchObject({ host: '127.0.0.1', port: 7070, clients: 10, rounds: 10, strategy: 'fedavg', seed: 42, partition: 'iid' });
    expect(c.train).toMatchObject({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0, nesterov: false, weightDecay: 0 });
    expect(c.model).toEqual({ type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' });
  });

  it('reads YAML and lets flags override the file', () => {
    const p = file('ok.yaml', 'rounds: 3\nclients: 4\ntrain:\n  epochs: 2\n  batchSize: 16\n  optimizer: sgd\n  lr: 0.1\n');
    const c = loadRunConfig(p, { rounds: 5, port: undefined });
    expect(c.rounds).toBe(5);
    expect(c.clients).toBe(4);
    expect(c.train.epochs).toBe(2);
    expect(c.port).toBe(7070);
  });

  it('lists every bad field with its path', () => {
    const p = file('bad.yaml', 'rounds: -1\nport: 70000\ntrain:\n  epochs: 1\n  batchSize: 0\n  optimizer: adamw\n  lr: 0.1\nmodel:\n  type: mlp\n  inputs: 784\n  hidden: [128]\n  outputs: 1\nbogus: 1\npartition: dirichlet:0\n');
    let message = '';
    try {
      loadRunConfig(p);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(`invalid run config (${p})`);
    for (const path of ['rounds:', 'port:', 'train.batchSize:', 'train.optimizer:', 'model.outputs:', 'bogus', 'partition:']) expect(message).toContain(path);
  });

  it('names a missing file, invalid YAML and a non-mapping document', () => {
    expect(() => loadRunConfig(join(dir, 'nope.yaml'))).toThrow(/config file .*nope.yaml does not exist/);
    expect(() => loadRunConfig(file('broken.yaml', 'rounds: [1,\n'))).toThrow(/is not valid YAML/);
    expect(() => loadRunConfig(file('list.yaml', '- 1\n- 2\n'))).toThrow(/must hold a mapping/);
  });

  it('refuses minFitClients above clients', () => {
    expect(() => loadRunConfig(undefined, { clients: 2, minFitClients: 3 })).toThrow(/minFitClients: 3 is more than clients \(2\)/);
  });

  it('refuses a validation fraction outside [0, 0.5]', () => {
    expect(() => loadRunConfig(undefined, { validation: 0.7 })).toThrow(/validation: Too big/);
    expect(loadRunConfig(undefined, { validation: 0.1 }).validation).toBe(0.1);
  });

  it('federated evaluation: localValidation in (0, 0.5] (absent: off), fractionEvaluate in (0, 1] (default 1)', () => {
    const plain = loadRunConfig(undefined, {});
    expect(plain.localValidation).toBeUndefined();
    expect(plain.fractionEvaluate).toBe(1);
    expect(loadRunConfig(undefined, { localValidation: 0.5, fractionEvaluate: 0.25 })).toMatchObject({ localValidation: 0.5, fractionEvaluate: 0.25 });
    expect(() => loadRunConfig(undefined, { localValidation: 0 })).toThrow(/localValidation: Too small/);
    expect(() => loadRunConfig(undefined, { localValidation: 0.6 })).toThrow(/localValidation: Too big/);
    expect(() => loadRunConfig(undefined, { fractionEvaluate: 0 })).toThrow(/fractionEvaluate: Too small/);
  });
});
