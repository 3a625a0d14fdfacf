import { z } from 'zod';

/** The activations a dense or conv layer of a spec may name. */
export const activationSchema = z.enum(['relu', 'tanh', 'sigmoid']);
export type Activation = z.infer<typeof activationSchema>;
