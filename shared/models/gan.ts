import type { ParamShape } from '../weights.ts';
import { denseRule, fillParams } from './init.ts';
import type { GanSpec } from './spec.ts';

/** Layer widths of the two networks: generator latent → … → features; discriminator features → … → 1 logit. */
export function ganSizes(spec: GanSpec): { generator: number[]; discriminator: number[] } {
  return {
    generator: [spec.latent, ...spec.generator.hidden, spec.features],
    discriminator: [spec.features, ...spec.discriminator.hidden, 1],
  };
}

/** The generator's dense layers then the discriminator's, each kernel [in, out] then bias [out]. */
export function ganShapes(spec: GanSpec): ParamShape[] {
  const shapes: ParamShape[] = [];
  for (const [net, sizes] of Object.entries(ganSizes(spec))) {
    for (let l = 0; l + 1 < sizes.length; l++) {
      shapes.push({ name: `${net}/dense${l}/kernel`, shape: [sizes[l]!, sizes[l + 1]!] });
      shapes.push({ name: `${net}/dense${l}/bias`, shape: [sizes[l + 1]!] });
    }
  }
  return shapes;
}

/** How many of the flat parameters (in ganShapes order) belong to the generator. */
export function generatorParamCount(spec: GanSpec): number {
  return 2 * (spec.generator.hidden.length + 1);
}

export function ganInit(spec: GanSpec, seed: number, out: Float32Array): void {
  fillParams(ganShapes(spec).map((p) => ({ ...p, init: denseRule(p.shape) })), seed, out);
}
