import type { Dataset } from '../data/dataset.ts';
import { DEFAULT_MODEL } from '../models/spec.ts';
import type { RunConfig } from './schema.ts';

/**
 * A run that names no model trains the default MLP sized to its data: as many inputs as
 * the data has features and as many outputs as it has classes (iris: 4-128-3). Text data
 * is token ids, which an MLP cannot read: it keeps the default and the usual check says
 * which model it needs. The config that comes back names its model, as history records it.
 */
export function fitModelToData(config: RunConfig, data: Pick<Dataset, 'features' | 'classes'>, tokens: boolean): RunConfig {
  if (!config.modelFromData) return config;
  if (tokens || DEFAULT_MODEL.type !== 'mlp') return { ...config, modelFromData: false };
  return { ...config, model: { ...DEFAULT_MODEL, inputs: data.features, outputs: data.classes }, modelFromData: false };
}
