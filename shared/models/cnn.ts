import { denseRule, fillParams } from './init.ts';
import type { ParamShape } from '../weights.ts';
import type { Activation, CnnSpec } from './spec.ts';

/**
 * A CNN's layers with their shapes resolved. Every layer maps an input of
 * [h, w, c] (or [n] once flattened) to an output; conv and dense layers carry
 * parameters, stored as Keras does: conv kernel [k, k, cIn, filters] then bias
 * [filters]; dense kernel [in, out] then bias [out].
 */
export type ResolvedLayer =
  | { kind: 'conv'; inH: number; inW: number; inC: number; outH: number; outW: number; filters: number; kernel: number; pad: number; activation: Activation }
  | { kind: 'maxpool'; inH: number; inW: number; inC: number; outH: number; outW: number }
  | { kind: 'dense'; inputs: number; units: number; activation: Activation | 'identity'; dropout: number };

/** The layers in order, the output layer last (dense, identity: softmax lives in the loss). */
export function resolveCnn(spec: CnnSpec): ResolvedLayer[] {
  let [h, w, c] = spec.input;
  let flat: number | undefined;
  const out: ResolvedLayer[] = [];
  for (const layer of spec.layers) {
    if (layer.type === 'conv') {
      const pad = layer.padding === 'same' ? (layer.kernel - 1) / 2 : 0;
      const outH = h + 2 * pad - layer.kernel + 1;
      const outW = w + 2 * pad - layer.kernel + 1;
      out.push({ kind: 'conv', inH: h, inW: w, inC: c, outH, outW, filters: layer.filters, kernel: layer.kernel, pad, activation: layer.activation });
      [h, w, c] = [outH, outW, layer.filters];
    } else if (layer.type === 'maxpool') {
      out.push({ kind: 'maxpool', inH: h, inW: w, inC: c, outH: h / 2, outW: w / 2 });
      [h, w] = [h / 2, w / 2];
    } else {
      const inputs = flat ?? h * w * c;
      out.push({ kind: 'dense', inputs, units: layer.units, activation: layer.activation, dropout: layer.dropout ?? 0 });
      flat = layer.units;
    }
  }
  out.push({ kind: 'dense', inputs: flat ?? h * w * c, units: spec.outputs, activation: 'identity', dropout: 0 });
  return out;
}

/** Elements of a layer's output per example. */
export function outputSize(l: ResolvedLayer): number {
  return l.kind === 'dense' ? l.units : l.kind === 'conv' ? l.outH * l.outW * l.filters : l.outH * l.outW * l.inC;
}

export function cnnShapes(spec: CnnSpec): ParamShape[] {
  const shapes: ParamShape[] = [];
  for (const [i, l] of resolveCnn(spec).entries()) {
    if (l.kind === 'conv') {
      shapes.push({ name: `conv${i}/kernel`, shape: [l.kernel, l.kernel, l.inC, l.filters] });
      shapes.push({ name: `conv${i}/bias`, shape: [l.filters] });
    } else if (l.kind === 'dense') {
      shapes.push({ name: `dense${i}/kernel`, shape: [l.inputs, l.units] });
      shapes.push({ name: `dense${i}/bias`, shape: [l.units] });
    }
  }
  return shapes;
}

/** Glorot-uniform kernels (fans as Keras computes them for conv: receptive field × channels), zero biases. */
export function cnnInit(spec: CnnSpec, seed: number, out: Float32Array): void {
  fillParams(cnnShapes(spec).map((p) => ({ ...p, init: denseRule(p.shape) })), seed, out);
}
