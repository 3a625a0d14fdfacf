import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunConfig, resolveRunConfig, runConfigFields, withFields } from '../../shared/config.ts';
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
    expect(c).toMatchObject({
      clients: 10,
      rounds: 10,
      seed: 42,
      server: { host: '127.0.0.1', port: 7070 },
      strategy: { spec: { name: 'fedavg' } },
      data: { source: { kind: 'mnist' }, partition: { kind: 'iid' } },
    });
    expect(c.train).toMatchObject({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, nesterov: false, weightDecay: 0 });
    expect(c.secagg).toBeUndefined();
    expect(c.privacy).toEqual({ dp: undefined, delta: 1e-5 });
    expect(c.model).toEqual({ type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' });
  });

  it('reads YAML and lets flags override the file', () => {
    const p = file('ok.yaml', 'rounds: 3\nclients: 4\ntrain:\n  epochs: 2\n  batchSize: 16\n  optimizer: sgd\n  lr: 0.1\n');
    const c = loadRunConfig(p, { rounds: 5, port: undefined });
    expect(c.rounds).toBe(5);
    expect(c.clients).toBe(4);
    expect(c.train.epochs).toBe(2);
    expect(c.server.port).toBe(7070);
  });

  it('lists every bad field with its path', () => {
    const p = file(
      'bad.yaml',
      'rounds: -1\nport: 70000\ntrain:\n  epochs: 1\n  batchSize: 0\n  optimizer: adamw\n  lr: 0.1\n' +
        'model:\n  type: mlp\n  inputs: 784\n  hidden: [128]\n  outputs: 1\nbogus: 1\npartition: dirichlet:0\n',
    );
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

  it('heartbeatIntervalMs: 15 s by default, in the server section; 0 turns heartbeats off; below 10 ms or fractional is refused', () => {
    expect(loadRunConfig(undefined).server.heartbeatIntervalMs).toBe(15_000);
    expect(loadRunConfig(undefined, { heartbeatIntervalMs: 0 }).server.heartbeatIntervalMs).toBe(0);
    expect(loadRunConfig(undefined, { heartbeatIntervalMs: 250 }).server.heartbeatIntervalMs).toBe(250);
    expect(() => loadRunConfig(undefined, { heartbeatIntervalMs: 5 })).toThrow(/heartbeatIntervalMs: must be 0 \(off\) or at least 10 ms/);
    expect(() => loadRunConfig(undefined, { heartbeatIntervalMs: -1 })).toThrow(/heartbeatIntervalMs: Too small/);
    expect(() => loadRunConfig(undefined, { heartbeatIntervalMs: 1.5 })).toThrow(/heartbeatIntervalMs/);
    expect(runConfigFields(loadRunConfig(undefined, { heartbeatIntervalMs: 0 })).heartbeatIntervalMs).toBe(0);
  });

  it('refuses a validation fraction outside [0, 0.5]', () => {
    expect(() => loadRunConfig(undefined, { validation: 0.7 })).toThrow(/validation: Too big/);
    expect(loadRunConfig(undefined, { validation: 0.1 }).data.validation).toBe(0.1);
  });

  it('federated evaluation: localValidation in (0, 0.5] (absent: off), fractionEvaluate in (0, 1] (default 1)', () => {
    const plain = loadRunConfig(undefined, {});
    expect(plain.data.localValidation).toBeUndefined();
    expect(plain.strategy.fractionEvaluate).toBe(1);
    expect(loadRunConfig(undefined, { localValidation: 0.5, fractionEvaluate: 0.25 })).toMatchObject({
      data: { localValidation: 0.5 },
      strategy: { fractionEvaluate: 0.25 },
    });
    expect(() => loadRunConfig(undefined, { localValidation: 0 })).toThrow(/localValidation: Too small/);
    expect(() => loadRunConfig(undefined, { localValidation: 0.6 })).toThrow(/localValidation: Too big/);
    expect(() => loadRunConfig(undefined, { fractionEvaluate: 0 })).toThrow(/fractionEvaluate: Too small/);
  });

  it('parses strategy, dp, data and partition once into typed specs, from the short string or a mapping', () => {
    const short = loadRunConfig(undefined, { strategy: 'FedProx:mu=0.1', dp: 'central:z=1,clip=2', data: 'synthetic:0.5,1', partition: 'dirichlet:0.3' });
    const mapped = loadRunConfig(undefined, {
      strategy: { name: 'fedprox', mu: 0.1 },
      dp: { mode: 'central', z: 1, clip: 2 },
      data: { kind: 'synthetic', alpha: 0.5, beta: 1 },
      partition: { kind: 'dirichlet', alpha: 0.3 },
    });
    expect(short.strategy.spec).toEqual({ name: 'fedprox', mu: 0.1 });
    expect(short.privacy.dp).toEqual({ mode: 'central', noiseMultiplier: 1, clip: 2 });
    expect(short.data.source).toEqual({ kind: 'synthetic', alpha: 0.5, beta: 1 });
    expect(short.data.partition).toEqual({ kind: 'dirichlet', alpha: 0.3 });
    expect(mapped).toEqual(short);
    expect(loadRunConfig(undefined, { strategy: 'fedadam' }).strategy.spec).toEqual({ name: 'fedadam', lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  });

  it('validates the strategy when the config is read, naming the field', () => {
    expect(() => loadRunConfig(undefined, { strategy: 'fedmagic' })).toThrow(/strategy: unknown strategy "fedmagic" \(available: fedavg,/);
    expect(() => loadRunConfig(undefined, { strategy: 'fedprox:mu=-1' })).toThrow(/strategy: strategy fedprox: mu: .*>=0/);
    expect(() => loadRunConfig(undefined, { strategy: { name: 'fedavgm', speed: 3 } })).toThrow(/strategy: strategy fedavgm: .*speed/);
    expect(() => loadRunConfig(undefined, { strategy: 7 })).toThrow(/strategy: expected a string or a mapping/);
    expect(() => loadRunConfig(undefined, { partition: { kind: 'shards', perClient: 0 } })).toThrow(/partition: perClient: /);
    // a data setting where it means nothing is refused, not ignored
    expect(() => loadRunConfig(undefined, { data: 'iris.csv' })).toThrow(/label: a CSV file needs the name of its label column/);
    expect(() => loadRunConfig(undefined, { label: 'species' })).toThrow(/label: applies to CSV data, not mnist/);
    expect(() => loadRunConfig(undefined, { data: 'idx:a,b', clean: true })).toThrow(/clean: applies to CSV data, not idx/);
    expect(() => loadRunConfig(undefined, { data: 'synthetic:1,1', testFraction: 0.3 })).toThrow(/testFraction: applies to CSV and IDX data/);
    expect(() => loadRunConfig(undefined, { data: 'a.csv', label: 'y', classes: 'x,y,x' })).toThrow(/classes: each class name once/);
    expect(() => loadRunConfig(undefined, { data: 'a.csv', label: 'y', testData: 'b.csv', testFraction: 0.3 })).toThrow(
      /testFraction: the test split is testData/,
    );
    expect(() => loadRunConfig(undefined, { data: 'a.csv', label: 'y', cleanRange: '5,1' })).toThrow(/cleanRange: lo must be ≤ hi/);
    const csv = loadRunConfig(undefined, { data: 'a.csv', label: 'y', classes: 'b, a', cleanRange: '0,9', testData: 'idx:t,l' });
    expect(csv.data).toMatchObject({ source: { kind: 'csv', path: 'a.csv' }, label: 'y', classes: ['b', 'a'], clean: { range: [0, 9] } });
    expect(csv.data.testData).toEqual({ kind: 'idx', images: 't', labels: 'l' });
  });

  it('checks contradictions between fields in one place, every one listed', () => {
    const refuse = (fields: Record<string, unknown>, pattern: RegExp) => expect(() => loadRunConfig(undefined, fields)).toThrow(pattern);
    refuse({ strategy: 'krum:f=2', clients: 6 }, /strategy: strategy krum with f = 2 needs more than 2f \+ 2 = 6 clients per round; this run asks 6/);
    refuse({ strategy: 'multikrum:f=1,m=6', clients: 6 }, /m = 6 is more than n − f = 5/);
    refuse({ strategy: 'fedmedian', dp: 'central:z=1,clip=1' }, /dp: fedmedian needs every individual update/);
    refuse({ strategy: 'krum:f=1', clients: 10, secagg: true }, /secagg: krum needs every individual update/);
    refuse({ secaggThreshold: 3 }, /secaggThreshold: needs secagg: true/);
    let message = '';
    try {
      loadRunConfig(undefined, { clients: 2, minFitClients: 3, secagg: true, dp: 'central:z=1,clip=1' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/minFitClients: 3 is more than clients/);
    expect(message).toMatch(/dp: differential privacy together with secure aggregation/);
  });

  it('runConfigFields writes the flat form that reads back to the same config', () => {
    const c = loadRunConfig(undefined, {
      strategy: 'fedavgm:lr=0.5',
      dp: 'local:z=0.5,clip=2',
      partition: 'shards:2',
      secagg: false,
      clients: 4,
      localValidation: 0.2,
    });
    const fields = runConfigFields(c);
    expect(fields).toMatchObject({
      // every parameter written out, defaults too: the record says what ran
      strategy: 'fedavgm:lr=0.5,momentum=0.9',
      dp: 'local:z=0.5,clip=2',
      partition: 'shards:2',
      data: 'mnist',
      localValidation: 0.2,
      secagg: false,
    });
    expect(resolveRunConfig('round trip', fields)).toEqual(c);
    const secure = loadRunConfig(undefined, { secagg: true, secaggThreshold: 3, clients: 4 });
    expect(resolveRunConfig('round trip', runConfigFields(secure))).toEqual(secure);
  });

  it('refuses keys that would reach a prototype, anywhere in a layer, naming the path', () => {
    const p = file('proto.yaml', '__proto__:\n  clients: 3\nrounds: 2\n');
    expect(() => loadRunConfig(p)).toThrow(/__proto__: not a setting/);
    expect(() => resolveRunConfig('t', JSON.parse('{"model": {"type": "mlp", "constructor": {}}}'))).toThrow(/model\.constructor: not a setting/);
    expect(({} as Record<string, unknown>).clients).toBeUndefined();
  });

  it("train: holds hyperparameters; the coordinator's fit fields are refused unless at their no-op values (older files read as before)", () => {
    const train = { epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05 };
    expect(loadRunConfig(undefined, { train: { ...train, mu: 0, frozen: [] } }).train).toEqual(loadRunConfig(undefined, { train }).train);
    expect(() => loadRunConfig(undefined, { train: { ...train, mu: 0.1 } })).toThrow(/train\.mu: set by the coordinator from `strategy: fedprox:mu=…`/);
    expect(() => loadRunConfig(undefined, { train: { ...train, frozen: ['dense0'] } })).toThrow(/train\.frozen: .*use freeze instead/);
  });

  it("a strategy needs a string name, no name= and no parameter twice; a dp mapping's error quotes at most 200 characters of it", () => {
    expect(() => loadRunConfig(undefined, { strategy: { name: ['fedavg'] } })).toThrow(/a strategy mapping needs name: one of fedavg/);
    expect(() => loadRunConfig(undefined, { strategy: 'fedprox:mu=0.1,mu=0.2' })).toThrow(/mu is given twice/);
    expect(() => loadRunConfig(undefined, { strategy: 'fedprox:name=3' })).toThrow(/the name goes before the colon/);
    let message = '';
    try {
      loadRunConfig(undefined, { dp: { mode: 'central', z: 1, clip: 1, junk: Array.from({ length: 10_000 }, (_, i) => i) } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/unknown key junk/);
    expect(message.length).toBeLessThan(600);
  });

  it('withFields changes flat fields and validates again; turning secagg off drops its settings', () => {
    const secure = loadRunConfig(undefined, { secagg: true, secaggThreshold: 3, clients: 4 });
    const plain = withFields(secure, { secagg: false });
    expect(plain.secagg).toBeUndefined();
    expect(withFields(plain, { dp: 'central:z=1,clip=1' }).privacy.dp).toEqual({ mode: 'central', noiseMultiplier: 1, clip: 1 });
    expect(withFields(withFields(plain, { dp: 'central:z=1,clip=1' }), { dp: undefined }).privacy.dp).toBeUndefined();
  });
});
