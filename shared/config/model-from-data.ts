import type { Dataset } from '../data/dataset.ts';
import { DEFAULT_MODEL } from '../models/spec.ts';
import type { RunConfig } from './schema.ts';

/**
 * A run that names no model trains the default MLP sized to its data: as many inputs as
 * the data has features and as many outputs as it has classes (iris: 4-128-3); a regression
 * run's has one linear output per target, trained on squared error (loss mse), with the
 * targets' mean and standard deviation (of the training rows) as its output scale. Text data
 * is token ids, which an MLP cannot read: it keeps the default and the usual check says
 * which model it needs. The config that comes back names its model, as history records it.
 */
export function fitModelToData(config: RunConfig, data: Pick<Dataset, 'features' | 'classes' | 'targets'>, tokens: boolean): RunConfig {
  if (!config.modelFromData) return config;
  if (tokens || DEFAULT_MODEL.type !== 'mlp') return { ...config, modelFromData: false };
  if (config.data.task === 'regression') {
    const target = data.targets ? targetScale(data.targets, data.classes) : undefined;
    const model = { ...DEFAULT_MODEL, inputs: data.features, outputs: data.classes, loss: 'mse' as const, ...(target ? { target } : {}) };
    return { ...config, model, modelFromData: false };
  }
  return { ...config, model: { ...DEFAULT_MODEL, inputs: data.features, outputs: data.classes }, modelFromData: false };
}

/** Each output's mean and standard deviation over the rows (in float64); a constant target gets std 1. */
export function targetScale(targets: Float32Array, width: number): { mean: number[]; std: number[] } {
  const n = targets.length / width;
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (let i = 0; i < targets.length; i++) mean[i % width]! += targets[i]! / n;
  for (let i = 0; i < targets.length; i++) std[i % width]! += (targets[i]! - mean[i % width]!) ** 2 / n;
  return { mean, std: std.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}
