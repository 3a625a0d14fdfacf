import type { MlpSpec } from './spec.ts';
import type { ParamShape } from '../weights.ts';
import { denseRule, fillParams } from './init.ts';

/**
 * The MLP's parameters in flat order: for each dense layer its kernel
 * [in, out] then its bias [out] — the order of Keras' `model.getWeights()`.
 */
export function mlpShapes(spec: MlpSpec): ParamShape[] {
  const sizes = [spec.inputs, ...spec.hidden, spec.outputs];
  const shapes: ParamShape[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    shapes.push({ name: `dense${l}/kernel`, shape: [sizes[l]!, sizes[l + 1]!] });
    shapes.push({ name: `dense${l}/bias`, shape: [sizes[l + 1]!] });
  }
  return shapes;
}

/** Glorot-uniform kernels and zero biases (Keras' defaults), drawn from a seeded generator. */
export function mlpInit(spec: MlpSpec, seed: number, out: Float32Array): void {
  fillParams(mlpShapes(spec).map((p) => ({ ...p, init: denseRule(p.shape) })), seed, out);
}
