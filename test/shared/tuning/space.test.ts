import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { activeParams, assignmentKey, loadSearchSpace, parseSearchSpace } from '../../../shared/tuning/space.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-space-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** The issue lines of the ConfigError `f` throws. */
function issues(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  throw new Error('expected a ConfigError');
}

const EXAMPLE = `params:
  - {name: lr, path: train.lr, type: float, low: 0.001, high: 0.5, log: true}
  - {name: batchSize, path: train.batchSize, type: int, low: 8, high: 128, log: true}
  - {name: epochs, path: train.epochs, type: int, low: 1, high: 5}
  - {name: optimizer, path: train.optimizer, type: choice, values: [sgd, adam]}
  - {name: strategy, type: choice, values: [fedavg, fedprox, fedavgm]}
  - {name: mu, path: strategy.mu, type: float, low: 0.001, high: 1, log: true, when: {strategy: [fedprox]}}
  - {name: model, type: choice, values: [{type: mlp, inputs: 784, hidden: [128], outputs: 10}, {type: mlp, inputs: 784, hidden: [64, 64], outputs: 10}]}
`;

describe('search space file', () => {
  it('reads the documented example, filling path from name and log with false', () => {
    const space = loadSearchSpace(file('ok.yaml', EXAMPLE));
    expect(space.params.map((p) => p.name)).toEqual(['lr', 'batchSize', 'epochs', 'optimizer', 'strategy', 'mu', 'model']);
    expect(space.params[0]).toEqual({ name: 'lr', path: 'train.lr', type: 'float', low: 0.001, high: 0.5, log: true });
    expect(space.params[2]).toEqual({ name: 'epochs', path: 'train.epochs', type: 'int', low: 1, high: 5, log: false });
    expect(space.params[4]!.path).toBe('strategy');
    expect(space.params[5]!.when).toEqual({ strategy: ['fedprox'] });
    expect(space.params[6]).toMatchObject({
      type: 'choice',
      values: [
        { type: 'mlp', hidden: [128] },
        { type: 'mlp', hidden: [64, 64] },
      ],
    });
    expect('when' in space.params[0]!).toBe(false);
  });

  it('names the file when it is missing or not YAML', () => {
    expect(issues(() => loadSearchSpace(join(dir, 'nope.yaml')))).toEqual([]);
    expect(() => loadSearchSpace(join(dir, 'nope.yaml'))).toThrow(/search space file .*nope\.yaml does not exist/);
    const bad = file('bad.yaml', 'params: [ {name: lr\n');
    expect(() => loadSearchSpace(bad)).toThrow(ConfigError);
    expect(() => loadSearchSpace(bad)).toThrow(/search space file .*bad\.yaml is not valid YAML/);
  });

  it('lists every bad entry with its path, param by param, in one error naming the source', () => {
    const doc = {
      extra: 1,
      params: [
        { name: 'lr', type: 'float', low: 0.1, high: 0.01 },
        { name: 'n', type: 'int', low: 1.5, high: 3 },
        { name: 'x', type: 'floatt' },
        { name: 'opt', type: 'choice', values: ['a', 'a', { b: 1, c: 2 }, { c: 2, b: 1 }] },
        { name: 'w', type: 'float', low: 0, high: 1, log: true, bogus: true },
        { name: 'lr', type: 'choice', values: [] },
        { name: 'k', type: 'int', low: 0, high: 9, log: true, path: 'a..b' },
      ],
    };
    let message = '';
    try {
      parseSearchSpace(doc, 'space.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')[0]).toBe('invalid search space (space.yaml):');
    expect(issues(() => parseSearchSpace(doc, 'space.yaml'))).toEqual([
      'extra: unknown field (the space holds only params)',
      'params[0].low: must be below high (got 0.1 ≥ 0.01)',
      'params[1].low: must be a whole number',
      'params[2].type: must be float, int, choice (got floatt)',
      'params[3].values[1]: duplicates values[0] (a)',
      'params[3].values[3]: duplicates values[2] ({"b":1,"c":2})',
      'params[4]: Unrecognized key: "bogus"',
      'params[5].values: must list at least one value',
      'params[5].name: duplicates params[0].name (lr)',
      'params[6].path: must be a dotted path like train.lr',
    ]);
  });

  it('checks bounds on log scales', () => {
    expect(
      issues(() =>
        parseSearchSpace(
          {
            params: [
              { name: 'a', type: 'float', low: 0, high: 1, log: true },
              { name: 'b', type: 'int', low: 0, high: 4, log: true },
              { name: 'c', type: 'int', low: 5, high: 4 },
            ],
          },
          's',
        ),
      ),
    ).toEqual([
      'params[0].low: must be above 0 on a log scale (got 0)',
      'params[1].low: must be at least 1 on a log scale (got 0)',
      'params[2].low: must not be above high (got 5 > 4)',
    ]);
    // a single int and a single choice are allowed (constants)
    expect(
      parseSearchSpace(
        {
          params: [
            { name: 'a', type: 'int', low: 3, high: 3 },
            { name: 'b', type: 'choice', values: [1] },
          ],
        },
        's',
      ).params,
    ).toHaveLength(2);
  });

  it('checks conditions: known, earlier, allowed values, no floats, and colliding paths', () => {
    const doc = {
      params: [
        { name: 'lr', type: 'float', low: 0.1, high: 1 },
        { name: 'opt', type: 'choice', values: ['a', 'b'] },
        { name: 'n', type: 'int', low: 1, high: 3 },
        { name: 'mu', type: 'float', low: 0, high: 1, when: { opt: ['z', 'a'], later: ['q'], mu: [1], nope: [1], lr: [0.5], n: [0, 2, 2.5] } },
        { name: 'later', type: 'choice', values: ['q'] },
        { name: 'e', type: 'int', low: 1, high: 3, when: { opt: [] } },
        { name: 'j', type: 'int', low: 1, high: 3, path: 'shared', when: { opt: ['a'] } },
        { name: 'i', type: 'int', low: 1, high: 3, path: 'shared', when: { opt: ['b'] } },
        { name: 'h', type: 'int', low: 1, high: 3, path: 'shared', when: { n: [1] } },
      ],
    };
    expect(issues(() => parseSearchSpace(doc, 's'))).toEqual([
      "params[3].when.opt[0]: z is not one of opt's values (a, b)",
      'params[3].when.later: later is params[4], declared later; conditions may only name earlier params',
      'params[3].when.mu: a param cannot depend on itself',
      'params[3].when.nope: no param is named nope',
      'params[3].when.lr: lr is a float; a condition on a continuous value can almost never hold (make it a choice)',
      "params[3].when.n[0]: 0 is not an integer in n's range [1, 3]",
      "params[3].when.n[2]: 2.5 is not an integer in n's range [1, 3]",
      'params[5].when.opt: must list at least one allowed value',
      // j and i are exclusive (opt a / opt b); h can be active with either
      'params[8].path: shared is also params[6].path, and both can be active together',
    ]);
  });

  it('rejects documents without a params list', () => {
    expect(issues(() => parseSearchSpace(null, 's'))).toEqual(['(top level): must be a mapping with a params list']);
    expect(issues(() => parseSearchSpace({}, 's'))).toEqual(['params: required: a list of params']);
    expect(issues(() => parseSearchSpace({ params: [] }, 's'))).toEqual(['params: must be a non-empty list of params']);
    expect(issues(() => parseSearchSpace({ params: [3] }, 's'))).toEqual(['params[0]: must be a mapping (name, type, ...)']);
  });
});

describe('active params and keys', () => {
  const space = parseSearchSpace(
    {
      params: [
        { name: 'strategy', type: 'choice', values: ['fedavg', 'fedprox'] },
        { name: 'mu', type: 'float', low: 0.01, high: 1, when: { strategy: ['fedprox'] } },
        { name: 'arch', type: 'choice', values: [{ hidden: [64] }, { hidden: [128] }] },
        { name: 'dropout', type: 'choice', values: [0, 0.5], when: { arch: [{ hidden: [128] }] } },
        // active only when mu is active (a chain through an inactive param fails)
        { name: 'nested', type: 'int', low: 1, high: 2, when: { strategy: ['fedprox'], dropout: [0.5] } },
      ],
    },
    's',
  );
  const names = (a: Record<string, unknown>) => activeParams(space, a).map((p) => p.name);

  it('follows conditions, comparing object values by JSON equality and ignoring values of inactive params', () => {
    expect(names({ strategy: 'fedavg', arch: { hidden: [64] } })).toEqual(['strategy', 'arch']);
    expect(names({ strategy: 'fedprox', mu: 0.1, arch: { hidden: [128] }, dropout: 0.5 })).toEqual(['strategy', 'mu', 'arch', 'dropout', 'nested']);
    expect(names({ strategy: 'fedavg', arch: { hidden: [128] }, dropout: 0.5 })).toEqual(['strategy', 'arch', 'dropout']);
    // dropout is inactive under hidden [64], so a stray dropout value does not activate nested
    expect(names({ strategy: 'fedprox', mu: 0.1, arch: { hidden: [64] }, dropout: 0.5 })).toEqual(['strategy', 'mu', 'arch']);
  });

  it('gives equal assignments the same key whatever their key order, and different ones different keys', () => {
    expect(assignmentKey({ b: 1, a: { y: [1, 2], x: 'q' } })).toBe(assignmentKey({ a: { x: 'q', y: [1, 2] }, b: 1 }));
    expect(assignmentKey({ a: 1 })).not.toBe(assignmentKey({ a: 2 }));
    expect(assignmentKey({ a: [1, 2] })).not.toBe(assignmentKey({ a: [2, 1] }));
    expect(assignmentKey({ a: 1 })).toBe('{"a":1}');
  });
});
