import { z } from 'zod';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';
import { sequenceClassifier, sequenceInputFields, sequenceInputProblem } from './sequence.ts';

/**
 * A recurrent sequence classifier (Keras conventions): a simple RNN, LSTM or GRU
 * cell, `layers` stacked, the last layer's final hidden state → dense `outputs`.
 * A character-level next-character model is this with `vocab` = `outputs`.
 */
export const rnnSpecSchema = z
  .strictObject({
    type: z.literal('rnn'),
    cell: z.enum(['rnn', 'lstm', 'gru']).default('lstm'),
    ...sequenceInputFields,
    units: z.number().int().positive().max(4096),
    layers: z.number().int().min(1).max(8).default(1),
    /** Inverted dropout on the final hidden state while training. */
    dropout: z.number().min(0).lt(1).optional(),
    outputs: z.number().int().min(2),
  })
  .superRefine((spec, ctx) => {
    const problem = sequenceInputProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export type RnnSpec = z.infer<typeof rnnSpecSchema>;

/** Gate blocks per cell: the kernels hold them side by side (Keras order: i f c o for lstm, z r h for gru). */
export const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/**
 * Parameters in flat order: the token embedding [vocab, embed (16 unless set)] when
 * `vocab`, then for each layer its input kernel [in, gates·units], recurrent kernel
 * [units, gates·units] and bias [gates·units], then the dense output kernel and bias.
 * Glorot-uniform input and recurrent kernels (Keras uses orthogonal recurrent kernels;
 * glorot trains as well at these sizes), forget-gate bias 1.
 */
export function rnnShapes(spec: RnnSpec): InitShape[] {
  const g = GATES[spec.cell] * spec.units;
  const embed = spec.embed ?? 16;
  const shapes: InitShape[] = [];
  if (spec.vocab !== undefined) shapes.push({ name: 'embedding/embeddings', shape: [spec.vocab, embed], init: 'embedding' });
  for (let l = 0; l < spec.layers; l++) {
    const inputs = l > 0 ? spec.units : spec.vocab !== undefined ? embed : spec.inputDim!;
    const name = `${spec.cell}${l}`;
    shapes.push({ name: `${name}/kernel`, shape: [inputs, g], init: 'glorot' });
    shapes.push({ name: `${name}/recurrent`, shape: [spec.units, g], init: 'glorot' });
    shapes.push({ name: `${name}/bias`, shape: [g], init: spec.cell === 'lstm' ? 'lstmBias' : 'zeros' });
  }
  shapes.push({ name: 'output/kernel', shape: [spec.units, spec.outputs], init: 'glorot' });
  shapes.push({ name: 'output/bias', shape: [spec.outputs], init: 'zeros' });
  return shapes;
}

export const rnn: ModelEntry<RnnSpec> = {
  type: 'rnn',
  schema: rnnSpecSchema,
  shapes: rnnShapes,
  ...sequenceClassifier,
};
