import type { ParamShape } from '../weights.ts';
import { fillParams, type InitShape } from './init.ts';
import type { RnnSpec, SequenceSpec } from './spec.ts';

/** Gate blocks per cell: the kernels hold them side by side (Keras order: i f c o for lstm, z r h for gru). */
export const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/** Embedding width of a token-input sequence model (16 unless the spec says). */
export function embedWidth(spec: SequenceSpec): number {
  return spec.type === 'transformer' ? spec.dModel : (spec.embed ?? 16);
}

/** Features each time step carries into the first layer: the embedding width for tokens, inputDim otherwise. */
export function stepWidth(spec: SequenceSpec): number {
  return spec.vocab !== undefined ? embedWidth(spec) : spec.inputDim!;
}

/**
 * Parameters in flat order: the token embedding (when `vocab`), then for each
 * layer its input kernel [in, gates·units], recurrent kernel [units, gates·units]
 * and bias [gates·units], then the dense output kernel and bias.
 */
export function rnnInitShapes(spec: RnnSpec): InitShape[] {
  const g = GATES[spec.cell] * spec.units;
  const shapes: InitShape[] = [];
  if (spec.vocab !== undefined) shapes.push({ name: 'embedding/embeddings', shape: [spec.vocab, embedWidth(spec)], init: 'embedding' });
  for (let l = 0; l < spec.layers; l++) {
    const inputs = l === 0 ? stepWidth(spec) : spec.units;
    const name = `${spec.cell}${l}`;
    shapes.push({ name: `${name}/kernel`, shape: [inputs, g], init: 'glorot' });
    shapes.push({ name: `${name}/recurrent`, shape: [spec.units, g], init: 'glorot' });
    shapes.push({ name: `${name}/bias`, shape: [g], init: spec.cell === 'lstm' ? 'lstmBias' : 'zeros' });
  }
  shapes.push({ name: 'output/kernel', shape: [spec.units, spec.outputs], init: 'glorot' });
  shapes.push({ name: 'output/bias', shape: [spec.outputs], init: 'zeros' });
  return shapes;
}

export function rnnShapes(spec: RnnSpec): ParamShape[] {
  return rnnInitShapes(spec).map(({ name, shape }) => ({ name, shape }));
}

/** Glorot-uniform input and recurrent kernels (Keras uses orthogonal recurrent kernels; glorot trains as well at these sizes), forget-gate bias 1. */
export function rnnInit(spec: RnnSpec, seed: number, out: Float32Array): void {
  fillParams(rnnInitShapes(spec), seed, out);
}
