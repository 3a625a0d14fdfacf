import type * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../models/spec.ts';
import { cnnForward } from './cnn.ts';
import { rnnForward } from './rnn.ts';
import { transformerForward } from './transformer.ts';

/**
 * A classifier's forward pass: the parameters (in the flat layout's order) and a
 * batch x [b, features] in, logits [b, outputs] out. With `dropoutSeed` (training)
 * dropout layers are active.
 */
export type Forward = (params: readonly tf.Tensor[], x: tf.Tensor2D, dropoutSeed?: number) => tf.Tensor2D;

/** The forward pass of every classifier that trains through tfjs autodiff. */
export function classifierForward(spec: ModelSpec): Forward {
  switch (spec.type) {
    case 'cnn':
      return cnnForward(spec);
    case 'rnn':
      return rnnForward(spec);
    case 'transformer':
      return transformerForward(spec);
    default:
      throw new Error(`no autodiff classifier for model type "${spec.type}"`);
  }
}
