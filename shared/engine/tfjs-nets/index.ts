import { isRegression, type SpecOf } from '../../models/registry.ts';
import type { ModelSpec, ModelType } from '../../models/spec.ts';
import { cnnNet } from './cnn.ts';
import { ganNet } from './gan.ts';
import { mlpNet, mlpRegressionNet } from './mlp.ts';
import { layersModelNet } from './layers-model.ts';
import type { TfjsNet } from './net.ts';
import { rnnNet } from './rnn.ts';
import { transformerNet } from './transformer.ts';

/** How the tfjs engine runs each architecture, by spec type. */
const TFJS_NETS: { readonly [T in ModelType]: TfjsNet<SpecOf<T>> } = {
  mlp: mlpNet,
  cnn: cnnNet,
  rnn: rnnNet,
  transformer: transformerNet,
  gan: ganNet,
  tfjs: layersModelNet,
};

export function tfjsNet<S extends ModelSpec>(spec: S): TfjsNet<S> {
  // a regression MLP scores and reports squared error instead of cross-entropy and accuracy
  if (isRegression(spec)) return mlpRegressionNet as unknown as TfjsNet<S>;
  // the table is keyed by type, so the net found is the one for S
  return TFJS_NETS[spec.type] as unknown as TfjsNet<S>;
}
