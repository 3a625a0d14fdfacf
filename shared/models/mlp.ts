import type { MlpSpec } from './spec.ts';
import type { ParamShape } from '../weights.ts';
import { mulberry32, deriveSeed } from '../rng.ts';

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
  let offset = 0;
  for (const [i, p] of mlpShapes(spec).entries()) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (p.shape.length === 2) {
      const limit = Math.sqrt(6 / (p.shape[0]! + p.shape[1]!));
      const rng = mulberry32(deriveSeed(seed, i));
      for (let k = 0; k < size; k++) out[offset + k] = (rng() * 2 - 1) * limit;
    } else out.fill(0, offset, offset + size);
    offset += size;
  }
}
