import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TfjsEngine } from '../../../shared/engine/tfjs-engine.ts';
import { tfjsModelSpec } from '../../../shared/models/tfjs-layers-api.ts';
import { separable } from '../../fixtures/tfjs-model/models.ts';

const engine = await TfjsEngine.create();
const data = { dataset: separable(30, 4, 3) };

/** Dense 4 → `hidden` relu → 3 softmax: a different spec for each width. */
async function specOf(hidden: number) {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: hidden, activation: 'relu', name: 'd1' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'd2' }),
    ],
  });
  return tfjsModelSpec(model);
}

describe("the tfjs engine's cache of built models", () => {
  it('rebuilds the model of a spec whose model was evicted by other specs, and gives the same result', async () => {
    const first = await specOf(5);
    const before = await engine.evaluate(first.spec, first.weights, data);
    for (let hidden = 6; hidden < 11; hidden++) {
      const other = await specOf(hidden);
      await engine.evaluate(other.spec, other.weights, data);
    }
    // the disposal of evicted models waits a turn of the event loop
    await new Promise((resolve) => setImmediate(resolve));
    expect(await engine.evaluate(first.spec, first.weights, data)).toEqual(before);
  });

  it('keeps the refusal of a spec tfjs does not build, so the next task does not build it again', async () => {
    const { spec, weights } = await specOf(5);
    const layers = (spec.topology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers;
    const bogus = {
      ...spec,
      topology: { ...spec.topology, config: { layers: [{ ...layers[0]!, config: { ...layers[0]!.config, activation: 'bogus' } }, layers[1]!] } },
    };
    const first = await engine.evaluate(bogus, weights, data).catch((e: unknown) => e);
    expect(String(first)).toMatch(/the tfjs model does not build from its topology: .*bogus/);
    const again = await engine.evaluate({ ...bogus }, weights, data).catch((e: unknown) => e);
    expect(again).toBe(first);
  });
});
