import * as tf from '@tensorflow/tfjs-core';
import { resolveCnn, type CnnSpec } from '../../models/cnn.ts';
import { activate, maybeDropout } from './layers.ts';
import { autodiffClassifier, type Forward } from './net.ts';

/** The CNN's forward pass (NHWC); dense layers apply their dropout while training. */
export function cnnForward(spec: CnnSpec): Forward {
  const layers = resolveCnn(spec);
  const [h0, w0, c0] = spec.input;
  return (params, x, dropoutSeed) => {
    let h: tf.Tensor = tf.reshape(x, [x.shape[0], h0, w0, c0]);
    let p = 0;
    for (const l of layers) {
      if (l.kind === 'maxpool') {
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        continue;
      }
      const w = params[p++]!;
      const b = params[p++]!;
      if (l.kind === 'conv') h = tf.add(tf.conv2d(h as tf.Tensor4D, w as tf.Tensor4D, 1, l.pad > 0 ? 'same' : 'valid'), b);
      else h = tf.add(tf.matMul(h.rank === 2 ? (h as tf.Tensor2D) : tf.reshape(h, [h.shape[0]!, -1]), w as tf.Tensor2D), b);
      h = activate(h, l.activation);
      if (l.kind === 'dense') h = maybeDropout(h, l.dropout, dropoutSeed === undefined ? undefined : dropoutSeed + p);
    }
    return h as tf.Tensor2D;
  };
}

export const cnnNet = autodiffClassifier(cnnForward, 250);
