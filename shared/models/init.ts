import { deriveSeed, mulberry32 } from '../rng.ts';
import { sizeOf } from '../weights.ts';
import { InvalidArgumentError } from '../errors.ts';

/**
 * Seeded parameter initialisation from a list of shapes, each with its rule —
 * the one place every architecture's init goes through. Parameter i draws from
 * its own generator (seed, i), so adding a layer never shifts another's values.
 *
 *  glorot     uniform ±√(6 / (fanIn + fanOut)), fans as Keras computes them
 *             (receptive field × channels for conv kernels)
 *  embedding  uniform ±0.05 (Keras' embedding and positional tables)
 *  zeros, ones
 *  lstmBias   zeros, except the forget gate's quarter, which is 1 (Keras' unit_forget_bias)
 */
export type InitRule = 'glorot' | 'embedding' | 'zeros' | 'ones' | 'lstmBias';

export interface InitShape {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: InitRule;
}

export function fillParams(shapes: readonly InitShape[], seed: number, out: Float32Array): void {
  let offset = 0;
  for (const [i, p] of shapes.entries()) {
    const size = sizeOf(p.shape);
    fillParam(out.subarray(offset, offset + size), p, () => mulberry32(deriveSeed(seed, i)));
    offset += size;
  }
  if (offset !== out.length) throw new InvalidArgumentError(`fillParams: the shapes hold ${offset} values, the array ${out.length}`);
}

function fillParam(view: Float32Array, p: InitShape, rng: () => () => number): void {
  switch (p.init) {
    case 'zeros':
      view.fill(0);
      return;
    case 'ones':
      view.fill(1);
      return;
    case 'lstmBias': {
      const units = view.length / 4;
      view.fill(0);
      view.fill(1, units, 2 * units);
      return;
    }
    case 'embedding':
      uniform(view, 0.05, rng());
      return;
    case 'glorot': {
      const receptive = p.shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * p.shape[p.shape.length - 2]!;
      const fanOut = receptive * p.shape[p.shape.length - 1]!;
      uniform(view, Math.sqrt(6 / (fanIn + fanOut)), rng());
      return;
    }
  }
}

function uniform(view: Float32Array, limit: number, rng: () => number): void {
  for (let k = 0; k < view.length; k++) view[k] = (rng() * 2 - 1) * limit;
}
