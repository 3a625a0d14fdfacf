import { adagrad } from './adagrad.ts';
import { adam } from './adam.ts';
import type { Hyperparameters, SettingsOf } from './hyperparameters.ts';
import { rmsprop } from './rmsprop.ts';
import { sgd } from './sgd.ts';

/** Every optimizer by name; each engine keys its update rules by the same names. */
export const OPTIMIZERS = { sgd, adam, adagrad, rmsprop } as const;
export type OptimizerName = keyof typeof OPTIMIZERS;
export const OPTIMIZER_NAMES = Object.keys(OPTIMIZERS) as [OptimizerName, ...OptimizerName[]];

/** The settings optimizer N's rule reads. */
export type SettingsFor<N extends OptimizerName> = SettingsOf<(typeof OPTIMIZERS)[N]>;

/** An optimizer choice with its hyperparameters: what an engine's update reads. */
export type OptimizerConfig = { readonly optimizer: OptimizerName } & Hyperparameters;

/** State arrays per parameter the configured optimizer keeps. */
export function stateSlots(c: OptimizerConfig): number {
  return OPTIMIZERS[c.optimizer].slots(c);
}
