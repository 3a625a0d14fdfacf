import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildableTopology } from '../../../shared/engine/tfjs-nets/layers-model-build.ts';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import type { StarlingError } from '../../../shared/errors.ts';
import { outputClasses } from '../../../shared/models/registry.ts';
import { type TfjsLayersSpec, tfjsLayersSpecSchema, tfjsSpecProblem } from '../../../shared/models/tfjs-layers.ts';
import { tfjsModelSpec } from '../../../shared/models/tfjs-layers-api.ts';
import { separable } from '../../fixtures/tfjs-model/models.ts';

/**
 * A tfjs spec travels from the coordinator to every client, so a client reads it as a
 * peer's input: before tfjs builds anything, the topology's layers must be of classes
 * whose weights and shapes Starling derives, those weights must be the spec's list, and
 * every layer's output and the model's work per example are capped. Whatever the spec
 * does not declare, tfjs never allocates or computes.
 */
const engine = await TfjsEngine.create();
const data = { dataset: separable(20, 2, 2) };

type Layer = { class_name: string; config: Record<string, unknown>; name?: string; inbound_nodes?: unknown };
type Topology = { class_name: string; config: { layers: Layer[]; [key: string]: unknown } };

/** Dense 2 → 3 → 2 softmax: 17 parameters. */
async function small() {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 3, name: 'd1' }), tf.layers.dense({ units: 2, activation: 'softmax', name: 'd2' })],
  });
  const { spec, weights } = await tfjsModelSpec(model);
  return { spec, weights, topology: spec.topology as Topology };
}

/** The spec with its topology's layers changed by `edit` (a deep copy), the weight list as it was unless given. */
function edited(spec: TfjsLayersSpec, edit: (t: Topology) => void, weights = spec.weights): TfjsLayersSpec {
  const topology = structuredClone(spec.topology) as Topology;
  edit(topology);
  return { ...spec, topology, weights };
}

const issues = (spec: unknown) => {
  const r = tfjsLayersSpecSchema.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

/** The error `promise` rejects with, as [class name, code, message], and how long it took. */
async function refusal(promise: Promise<unknown>): Promise<[string, string, string, number]> {
  const start = performance.now();
  try {
    await promise;
  } catch (e) {
    return [(e as Error).constructor.name, (e as StarlingError).code, (e as Error).message, performance.now() - start];
  }
  throw new Error('expected a refusal');
}

describe('a tfjs spec from a peer, read before tfjs builds it', () => {
  it('refuses a topology whose layers hold more than its weight list declares, before allocating them', async () => {
    const { spec } = await small();
    expect(spec.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0)).toBe(17);
    const wide = edited(spec, (t) => {
      t.config.layers[0]!.config.units = 2 ** 20;
    });
    const message = 'weight d1/kernel has shape [2, 1048576] in the topology, [2, 3] in the spec';
    expect(issues(wide)).toEqual([`weights: ${message}`]);
    const [cls, code, text, ms] = await refusal(engine.evaluate(wide, new Float32Array(17), data));
    expect([cls, code, text]).toEqual(['DataError', 'E_DATA', `the tfjs model cannot be built: ${message}`]);
    expect(ms).toBeLessThan(1000);
    // ten layers of 2^24 units: refused as fast
    const deep = edited(spec, (t) => {
      const hidden = t.config.layers[0]!;
      t.config.layers.splice(1, 0, ...Array.from({ length: 10 }, (_, i) => ({ ...hidden, config: { ...hidden.config, name: `h${i}`, units: 2 ** 24 } })));
    });
    const [, , deepText, deepMs] = await refusal(engine.evaluate(deep, new Float32Array(17), data));
    expect(deepText).toMatch(/^the tfjs model topology: layer "h0" \(Dense\) outputs \[16777216\] per example/);
    expect(deepMs).toBeLessThan(1000);
  });

  it("caps every layer's output per example and the model's work, even when the weight list declares the layers honestly", async () => {
    const { spec } = await small();
    const units = 2 ** 23;
    const wide = edited(
      spec,
      (t) => {
        t.config.layers[0]!.config.units = units;
      },
      [
        { name: 'd1/kernel', shape: [2, units] },
        { name: 'd1/bias', shape: [units] },
        { name: 'd2/kernel', shape: [units, 2] },
        { name: 'd2/bias', shape: [2] },
      ],
    );
    expect(issues(wide)).toEqual(['topology: the model topology: layer "d1" (Dense) outputs [8388608] per example, 8388608 values; at most 4194304']);
    const conv = {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Conv2D', config: { name: 'c', batch_input_shape: [null, 1024, 1024, 4], filters: 4, kernel_size: [64, 64], padding: 'same' } },
          { class_name: 'GlobalAveragePooling2D', config: { name: 'g' } },
          { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax' } },
        ],
      },
    };
    const convWeights = [
      { name: 'c/kernel', shape: [64, 64, 4, 4] },
      { name: 'c/bias', shape: [4] },
      { name: 'out/kernel', shape: [4, 2] },
      { name: 'out/bias', shape: [2] },
    ];
    expect(issues({ ...spec, topology: conv, weights: convWeights })).toEqual([
      'topology: the model topology: the layers up to layer "c" (Conv2D) cost more than 17179869184 multiply-adds per example',
    ]);
  });

  it('builds only the layer classes whose shapes it derives, naming the layer and its class', async () => {
    const up = tf.sequential({
      layers: [
        tf.layers.upSampling2d({ inputShape: [2, 2, 1], size: [2, 2], name: 'up' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }),
      ],
    });
    await expect(tfjsModelSpec(up)).rejects.toThrow(
      /layer "up" \(UpSampling2D\): Starling does not build UpSampling2D layers from a peer's topology \(it builds InputLayer, Dense/,
    );
    const { spec } = await small();
    const repeated = edited(spec, (t) => {
      t.config.layers.splice(1, 0, { class_name: 'RepeatVector', config: { name: 'again', n: 2 ** 30 } });
    });
    const [cls, , text] = await refusal(engine.evaluate(repeated, new Float32Array(17), data));
    expect(cls).toBe('DataError');
    expect(text).toMatch(/^the tfjs model topology: layer "again" \(RepeatVector\): Starling does not build RepeatVector layers/);
    // a class named like an object's own property is no rule either
    const proto = edited(spec, (t) => {
      t.config.layers.splice(1, 0, { class_name: 'toString', config: { name: 'odd' } });
    });
    expect(issues(proto)).toEqual([expect.stringMatching(/^topology: the model topology: layer "odd" \(toString\): Starling does not build toString layers/)]);
  });

  it('caps the layers at 1,000 and reads a topology of 60,000 quickly', async () => {
    const { spec } = await small();
    const many = edited(spec, (t) => {
      t.config.layers.splice(1, 0, ...Array.from({ length: 59_998 }, () => ({ class_name: 'Dropout', config: {} })));
    });
    const start = performance.now();
    expect(issues(many)).toEqual(['topology: the model topology: has 60000 layers; at most 1000']);
    expect(performance.now() - start).toBeLessThan(500);
  });

  it('caps the classes at 256: a label is one byte', async () => {
    const head = (units: number) =>
      tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units, activation: 'softmax', name: 'out', kernelInitializer: 'zeros' })] });
    expect(outputClasses((await tfjsModelSpec(head(256))).spec)).toBe(256);
    await expect(tfjsModelSpec(head(257))).rejects.toThrow(/the output layer out has 257 units; Starling's labels are one byte: at most 256 classes/);
  });

  it('runs no initializer: tfjs builds the topology with Zeros for every one, under either spelling of the key', async () => {
    const { spec, weights } = await small();
    // an Identity initializer cannot fill d1's [2, 3] kernel: tfjs throws if it runs
    const identity = { class_name: 'Identity', config: { gain: 1 } };
    const odd = edited(spec, (t) => {
      t.config.layers[0]!.config.kernel_initializer = identity;
      delete t.config.layers[1]!.config.kernel_initializer;
      t.config.layers[1]!.config.kernelInitializer = identity;
    });
    const initializers: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k.endsWith('Initializer') ? initializers.push(x) : walk(x);
    };
    walk(buildableTopology(odd));
    expect(initializers.length).toBe(4);
    expect(initializers.every((i) => JSON.stringify(i) === '{"className":"Zeros","config":{}}')).toBe(true);
    expect((await engine.evaluate(odd, weights, data)).loss).toBe((await engine.evaluate(spec, weights, data)).loss);
  });

  it('reads keys as tfjs does, refusing two that tfjs would read as one', async () => {
    const { spec } = await small();
    const twice = edited(spec, (t) => {
      t.config.layers[0]!.config.useBias = false;
    });
    expect(issues(twice)).toEqual(['topology: the model topology: topology.config.layers.0.config: two keys read as useBias (tfjs would take the last)']);
    // camelCase alone is what tfjs reads: no bias, so the spec lists none
    const camel = edited(
      spec,
      (t) => {
        delete t.config.layers[0]!.config.use_bias;
        t.config.layers[0]!.config.useBias = false;
      },
      spec.weights.filter((w) => w.name !== 'd1/bias'),
    );
    expect(issues(camel)).toEqual([]);
    expect((await engine.evaluate(camel, new Float32Array(14), data)).loss).toBeCloseTo(Math.log(2), 5);
  });

  it('refuses a functional graph tfjs would loop on or build beyond the spec: unknown or later inputs, shared layers, dead branches', async () => {
    const input = tf.input({ shape: [2], name: 'x' });
    const hidden = tf.layers.dense({ units: 3, name: 'h' }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(hidden) as tf.SymbolicTensor;
    const { spec } = await tfjsModelSpec(tf.model({ inputs: input, outputs: out }));
    const problem = (edit: (t: Topology) => void) => tfjsSpecProblem(edited(spec, edit));
    const layer = (t: Topology, name: string) => t.config.layers.find((l) => l.name === name)!;
    expect(
      problem((t) => {
        layer(t, 'h').inbound_nodes = [[['ghost', 0, 0, {}]]];
      }),
    ).toBe('the model topology: "h" (Dense) takes the output of "ghost", which is not one of the layers');
    expect(
      problem((t) => {
        layer(t, 'h').inbound_nodes = [[['out', 0, 0, {}]]];
      }),
    ).toBe('the model topology: "h" (Dense) takes the output of "out", which comes after it in config.layers');
    expect(
      problem((t) => {
        layer(t, 'h').inbound_nodes = [[['x', 0, 0, {}]], [['x', 0, 0, {}]]];
      }),
    ).toBe('the model topology: "h" (Dense) is called 2 times: Starling builds models whose layers but the input are each called once');
    expect(
      problem((t) => {
        delete layer(t, 'h').name;
      }),
    ).toBe('the model topology: "h" (Dense) must carry its name beside its config, as tfjs reads it');
    expect(
      problem((t) => {
        t.config.input_layers = ['x', 0, 0];
      }),
    ).toMatch(/^the model topology: config.input_layers must name exactly one layer \(tfjs reads one as \[\[name, 0, 0\]\], not \["x",0,0\]\)/);
    const dead = { class_name: 'Dense', name: 'dead', config: { name: 'dead', units: 2 ** 20 }, inbound_nodes: [[['x', 0, 0, {}]]] };
    expect(
      problem((t) => {
        t.config.layers.splice(1, 0, dead);
      }),
    ).toBe('the model topology: "dead" (Dense) does not lead to the model\'s output');
  });
});
