import { describe, expect, it } from 'vitest';
import * as api from '../../api/index.ts';
import * as errors from '../../shared/errors.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';

/** The entry point's runtime exports (types leave no trace at run time): a change here is a change of the public API. */
const EXPORTED = [
  'loadData',
  'tfjsModelSpec',
  'AggregationError',
  'BackendError',
  'CheckpointError',
  'ClientAgent',
  'CloseCode',
  'ConfigError',
  'ConnectionClosedError',
  'DataError',
  'ERROR_CODES',
  'EngineFactory',
  'EngineTrainer',
  'InvalidArgumentError',
  'ProtocolError',
  'RemoteError',
  'STRATEGY_NAMES',
  'SecAggError',
  'StarlingError',
  'TaskError',
  'builtinStrategy',
  'createLogger',
  'createStrategy',
  'datasetFromRows',
  'fedAvgStep',
  'fromBase64',
  'generateIdentity',
  'loadRunConfig',
  'medianOf',
  'openClientData',
  'parseClientData',
  'parseStrategySpec',
  'plainCombiner',
  'readIdentityFile',
  'resolveRunConfig',
  'runConfig',
  'sampleClients',
  'silentLogger',
  'simulate',
  'standsFor',
  'startCoordinator',
  'toBase64',
  'trimmedMeanOf',
  'weightedMean',
  'writeIdentityFile',
];

/** What a thrown error was, for asserting on its class and code. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('the library entry point', () => {
  it('exports exactly the public API, nothing internal by accident', () => {
    expect(Object.keys(api).sort()).toEqual([...EXPORTED].sort());
  });

  it('exports the error classes themselves: what Starling throws is an instance of them', () => {
    const pairs = [
      [api.StarlingError, errors.StarlingError],
      [api.ConfigError, errors.ConfigError],
      [api.DataError, errors.DataError],
      [api.CheckpointError, errors.CheckpointError],
      [api.AggregationError, errors.AggregationError],
      [api.ProtocolError, errors.ProtocolError],
    ];
    for (const [exported, thrownClass] of pairs) expect(exported).toBe(thrownClass);
    const config = thrown(() => api.runConfig({ clients: 0, rounds: 2 }));
    expect(config).toBeInstanceOf(api.ConfigError);
    expect(config).toBeInstanceOf(api.StarlingError);
    expect((config as api.ConfigError).code).toBe('E_CONFIG');
    expect((config as Error).message).toMatch(/clients: Too small/);
    const data = thrown(() => api.datasetFromRows([[1, 2]], [3, 4]));
    expect(data).toBeInstanceOf(api.DataError);
    expect((data as api.StarlingError).code).toBe('E_DATA');
  });

  it('runConfig fills every default, like a config file that sets only what it names', () => {
    const config = api.runConfig({ clients: 2, rounds: 3, strategy: 'fedprox:mu=0.1' });
    expect(config).toEqual(api.resolveRunConfig('flags', { clients: 2, rounds: 3, strategy: { name: 'fedprox', mu: 0.1 } }));
    expect(config.strategy.spec).toEqual({ name: 'fedprox', mu: 0.1 });
    expect(config.train.batchSize).toBe(32);
  });
});

describe('datasetFromRows', () => {
  it('turns rows and labels into a Dataset on shared memory, classes from the labels unless given', () => {
    const ds = api.datasetFromRows(
      [
        [0.5, 1],
        [2, -3],
        [4, 5],
      ],
      [0, 2, 1],
    );
    expect(ds).toMatchObject({ size: 3, features: 2, classes: 3 });
    expect([...ds.x]).toEqual([0.5, 1, 2, -3, 4, 5]);
    expect([...ds.y]).toEqual([0, 2, 1]);
    expect(ds.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ds.y.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(api.datasetFromRows([new Float32Array([1])], new Uint8Array([0]), { classes: 10 }).classes).toBe(10);
  });

  it('names the first bad row in a DataError', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => api.datasetFromRows([], []), /no rows/],
      [() => api.datasetFromRows([[1], [2]], [0]), /2 rows but 1 labels/],
      [() => api.datasetFromRows([[]], [0]), /row 0 has no values/],
      [() => api.datasetFromRows([[1, 2], [3]], [0, 1]), /row 1 has 1 values, row 0 has 2/],
      [() => api.datasetFromRows([[1], [Number.NaN]], [0, 1]), /row 1, feature 0 is NaN/],
      [() => api.datasetFromRows([[1], [2]], [0, 1.5]), /row 1 has label 1\.5/],
      [() => api.datasetFromRows([[1], [2]], [0, -1]), /row 1 has label -1/],
      [() => api.datasetFromRows([[1], [2]], [0, 3], { classes: 2 }), /row 1 has label 3, not a class index from 0 to 1/],
      [() => api.datasetFromRows([[1]], [0], { classes: 300 }), /classes must be an integer from 1 to 256/],
    ];
    for (const [fn, message] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(api.DataError);
      expect((e as Error).message).toMatch(message);
    }
  });
});

describe('builtinStrategy', () => {
  const ctx = { clients: 4, sampling: { fraction: 0.5, min: 1, seed: 1 } };

  it("builds Starling's strategy from the short form or the mapping, ready to wrap", () => {
    const fedprox = api.builtinStrategy('fedprox:mu=0.2')(ctx);
    expect(fedprox.name).toBe('fedprox');
    expect(fedprox.toConfig()).toEqual({ name: 'fedprox', mu: 0.2 });
    expect(api.builtinStrategy({ name: 'fedavgm', lr: 1, momentum: 0.5 })(ctx).toConfig()).toEqual({ name: 'fedavgm', lr: 1, momentum: 0.5 });
    const clients = ['a', 'b', 'c', 'd'].map((name) => ({ id: name, name }));
    const instructions = fedprox.configureFit(1, clients, fitConfig(api.runConfig().train));
    // half of the four clients, each told FedProx's μ
    expect(instructions).toHaveLength(2);
    expect(instructions[0]!.config.mu).toBe(0.2);
  });

  it('refuses a bad spec with a ConfigError when called, not when the run starts', () => {
    expect(() => api.builtinStrategy('nope')).toThrow(api.ConfigError);
    expect(() => api.builtinStrategy({ name: 'fedprox', mu: -1 })).toThrow(/mu/);
  });
});
