import type { ParamShape } from '../weights.ts';
import { fillParams, type InitShape } from './init.ts';
import type { TransformerSpec } from './spec.ts';

function dense(name: string, inputs: number, units: number): InitShape[] {
  return [
    { name: `${name}/kernel`, shape: [inputs, units], init: 'glorot' },
    { name: `${name}/bias`, shape: [units], init: 'zeros' },
  ];
}

function norm(name: string, width: number): InitShape[] {
  return [
    { name: `${name}/gamma`, shape: [width], init: 'ones' },
    { name: `${name}/beta`, shape: [width], init: 'zeros' },
  ];
}

/**
 * Parameters in flat order: the input projection (or token embedding), the
 * positional embedding [seqLen, dModel], then per block: norm1, attention
 * query/key/value/output projections, norm2, ffn1 [dModel, ff], ffn2 [ff, dModel];
 * then the final norm and the output layer. Names nest (`block0/attention/query/kernel`)
 * so a whole block or sub-layer can be frozen by its prefix.
 */
export function transformerInitShapes(spec: TransformerSpec): InitShape[] {
  const d = spec.dModel;
  const shapes: InitShape[] =
    spec.vocab !== undefined ? [{ name: 'embedding/embeddings', shape: [spec.vocab, d], init: 'embedding' }] : dense('input', spec.inputDim!, d);
  shapes.push({ name: 'position/embeddings', shape: [spec.seqLen, d], init: 'embedding' });
  for (let b = 0; b < spec.layers; b++) {
    const block = `block${b}`;
    shapes.push(...norm(`${block}/norm1`, d));
    for (const proj of ['query', 'key', 'value', 'output']) shapes.push(...dense(`${block}/attention/${proj}`, d, d));
    shapes.push(...norm(`${block}/norm2`, d), ...dense(`${block}/ffn1`, d, spec.ff), ...dense(`${block}/ffn2`, spec.ff, d));
  }
  shapes.push(...norm('norm', d), ...dense('output', d, spec.outputs));
  return shapes;
}

export function transformerShapes(spec: TransformerSpec): ParamShape[] {
  return transformerInitShapes(spec).map(({ name, shape }) => ({ name, shape }));
}

/** Glorot-uniform projections, uniform ±0.05 embeddings, layer norms at γ = 1, β = 0. */
export function transformerInit(spec: TransformerSpec, seed: number, out: Float32Array): void {
  fillParams(transformerInitShapes(spec), seed, out);
}
