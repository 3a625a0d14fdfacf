import * as tf from '@tensorflow/tfjs-core';
import type { RnnSpec } from '../../models/rnn.ts';
import { dense, denseSteps, maybeDropout, sequenceInput } from './layers.ts';
import { autodiffClassifier, type Forward } from './net.ts';

type Step = (xt: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, u: tf.Tensor2D) => [tf.Tensor2D, tf.Tensor2D];

/**
 * One time step of each cell, given xt = x_t·W + b (all gates at once) and the
 * previous state (Keras' formulation; GRU as in Cho et al. 2014, reset before the product):
 *   rnn:  h = tanh(xt + h·U)
 *   lstm: [i f g o] = xt + h·U;  c = σ(f)·c + σ(i)·tanh(g);  h = σ(o)·tanh(c)
 *   gru:  z = σ(xz + h·Uz);  r = σ(xr + h·Ur);  n = tanh(xn + (r·h)·Un);  h = z·h + (1 − z)·n
 */
const STEPS: Record<RnnSpec['cell'], Step> = {
  rnn: (xt, h, c, u) => [tf.tanh(tf.add(xt, tf.matMul(h, u))) as tf.Tensor2D, c],
  lstm: (xt, h, c, u) => {
    const [i, f, g, o] = tf.split(tf.add(xt, tf.matMul(h, u)), 4, 1) as tf.Tensor2D[];
    const cNext: tf.Tensor2D = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!)));
    return [tf.mul(tf.sigmoid(o!), tf.tanh(cNext)) as tf.Tensor2D, cNext];
  },
  gru: (xt, h, c, u) => {
    const [xz, xr, xn] = tf.split(xt, 3, 1) as tf.Tensor2D[];
    const [uz, ur, un] = tf.split(u, 3, 1) as tf.Tensor2D[];
    const z = tf.sigmoid(tf.add(xz!, tf.matMul(h, uz!)));
    const r = tf.sigmoid(tf.add(xr!, tf.matMul(h, ur!)));
    const n = tf.tanh(tf.add(xn!, tf.matMul(tf.mul(r, h), un!)));
    return [tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), n)) as tf.Tensor2D, c];
  },
};

/** Stacked recurrent layers over the sequence; the last layer's final state → dropout → dense logits. */
export function rnnForward(spec: RnnSpec): Forward {
  const step = STEPS[spec.cell];
  return (params, x, dropoutSeed) => {
    const p = { i: 0 };
    let seq = sequenceInput(spec, x, params, p);
    const batch = x.shape[0];
    let h = tf.zeros([batch, spec.units]) as tf.Tensor2D;
    for (let l = 0; l < spec.layers; l++) {
      const w = params[p.i++]!;
      const u = params[p.i++]! as tf.Tensor2D;
      const b = params[p.i++]!;
      // the input products of every step in one matrix multiply
      const inputs = tf.unstack(denseSteps(seq, w, b), 1) as tf.Tensor2D[];
      h = tf.zeros([batch, spec.units]);
      let c = tf.zeros([batch, spec.units]) as tf.Tensor2D;
      const states: tf.Tensor2D[] = [];
      for (const xt of inputs) {
        [h, c] = step(xt, h, c, u);
        states.push(h);
      }
      if (l + 1 < spec.layers) seq = tf.stack(states, 1) as tf.Tensor3D;
    }
    const last = maybeDropout(h, spec.dropout, dropoutSeed);
    return dense(last, params[p.i++]!, params[p.i++]!);
  };
}

export const rnnNet = autodiffClassifier(rnnForward, 250);
