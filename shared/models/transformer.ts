import { z } from 'zod';
import type { InitShape } from './init.ts';
import type { ModelEntry } from './model.ts';
import { sequenceClassifier, sequenceInputFields, sequenceInputProblem } from './sequence.ts';

/**
 * A transformer encoder for sequence classification: input projection (or token
 * embedding) plus a learned positional embedding, `layers` pre-norm blocks of
 * multi-head self-attention and a ReLU feed-forward of width `ff`, each with a
 * residual connection and layer norm, a final layer norm, mean pooling over the
 * sequence, and a dense output.
 */
export const transformerSpecSchema = z
  .strictObject({
    type: z.literal('transformer'),
    ...sequenceInputFields,
    dModel: z.number().int().positive().max(4096),
    heads: z.number().int().positive().max(64),
    layers: z.number().int().min(1).max(24).default(1),
    ff: z.number().int().positive().max(16384),
    /** Inverted dropout on the attention and feed-forward outputs while training. */
    dropout: z.number().min(0).lt(1).optional(),
    outputs: z.number().int().min(2),
  })
  .superRefine((spec, ctx) => {
    const problem = sequenceInputProblem(spec);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    if (spec.embed !== undefined) ctx.addIssue({ code: 'custom', message: 'a transformer embeds tokens into dModel dimensions; drop embed', path: ['embed'] });
    if (spec.dModel % spec.heads !== 0)
      ctx.addIssue({ code: 'custom', message: `dModel (${spec.dModel}) must be a multiple of heads (${spec.heads})`, path: ['heads'] });
  });
export type TransformerSpec = z.infer<typeof transformerSpecSchema>;

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
 * so a whole block or sub-layer can be frozen by its prefix. Glorot-uniform
 * projections, uniform ±0.05 embeddings, layer norms at γ = 1, β = 0.
 */
export function transformerShapes(spec: TransformerSpec): InitShape[] {
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

export const transformer: ModelEntry<TransformerSpec> = {
  type: 'transformer',
  schema: transformerSpecSchema,
  shapes: transformerShapes,
  ...sequenceClassifier,
};
