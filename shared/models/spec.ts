import { z } from 'zod';
import { cnnSpecSchema } from './cnn.ts';
import { ganSpecSchema } from './gan.ts';
import { mlpSpecSchema } from './mlp.ts';
import { rnnSpecSchema } from './rnn.ts';
import { tfjsLayersSpecSchema } from './tfjs-layers.ts';
import { transformerSpecSchema } from './transformer.ts';

/**
 * Model specs: plain JSON that travels in the run config, so every client builds
 * the identical architecture (a `tfjs` spec carries a user's own tfjs model, its
 * topology included). Each architecture's file defines its spec's schema and its
 * registry entry (registry.ts); this union is what a config or a task holds.
 */
export const modelSpecSchema = z.discriminatedUnion('type', [
  mlpSpecSchema,
  cnnSpecSchema,
  rnnSpecSchema,
  transformerSpecSchema,
  ganSpecSchema,
  tfjsLayersSpecSchema,
]);
export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type ModelType = ModelSpec['type'];

/** The core-round workload: MLP 784-128-10 with ReLU. */
export const DEFAULT_MODEL: ModelSpec = { type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' };
