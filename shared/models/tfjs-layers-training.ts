import { isPlainObject } from './tfjs-topology.ts';
import type { TfjsLoss } from './tfjs-layers.ts';

/**
 * A saved tfjs model's `trainingConfig` (what `model.compile` was given: written by
 * `model.save(…, { includeOptimizer: true })` or by the Keras converter) read into
 * Starling's terms: its loss becomes the spec's, its optimizer the run's `train:`
 * defaults (tfjs and Keras spell both in camelCase or snake_case). Anything Starling
 * would train differently is an error that names it, never a silent substitute.
 */

/** Where a training config came from, for messages (a file, or "the model"). */
type Source = string;

/** Losses by name with case and underscores dropped; a one-hot label makes sparse cross-entropy the same loss. */
const LOSSES: Record<string, TfjsLoss> = {
  categoricalcrossentropy: 'categoricalCrossentropy',
  sparsecategoricalcrossentropy: 'categoricalCrossentropy',
  meansquarederror: 'meanSquaredError',
  mse: 'meanSquaredError',
};

function normalised(name: string): string {
  return name.toLowerCase().replace(/_/g, '');
}

/** The spec's loss from a training config's `loss` (absent: cross-entropy); an error message when Starling has no such loss. */
export function compiledLoss(trainingConfig: Record<string, unknown>, source: Source): TfjsLoss | { problem: string } {
  let loss = trainingConfig.loss;
  if (Array.isArray(loss) && loss.length === 1) loss = loss[0];
  if (loss === undefined || loss === null) return 'categoricalCrossentropy';
  const known = typeof loss === 'string' ? LOSSES[normalised(loss)] : undefined;
  if (known) return known;
  return {
    problem:
      `${source}: the compiled loss ${JSON.stringify(loss)} is not one Starling trains with ` +
      '(categorical_crossentropy, sparse_categorical_crossentropy, mean_squared_error); compile the model with one of them, ' +
      'or remove trainingConfig from model.json to train with cross-entropy',
  };
}

/** The `train:` fields Starling's optimizers take, from a compiled optimizer. */
export type CompiledTrainFields = { optimizer: 'sgd' | 'adam' | 'adagrad' | 'rmsprop' } & Record<string, number | boolean | string>;

/**
 * The run's `train:` defaults from a training config's `optimizer_config`: the optimizer
 * and its settings (learning rate, momentum, β₁, β₂, ε, ρ); undefined when it names none.
 * An optimizer, or a setting, that Starling's optimizers lack is an error message.
 */
export function compiledOptimizer(trainingConfig: Record<string, unknown>, source: Source): { fields: CompiledTrainFields } | { problem: string } | undefined {
  const oc = trainingConfig.optimizer_config;
  if (!isPlainObject(oc) || typeof oc.class_name !== 'string') return undefined;
  const name = oc.class_name;
  const c: Record<string, unknown> = {};
  if (isPlainObject(oc.config)) for (const [k, v] of Object.entries(oc.config)) c[normalised(k)] = v;
  const refuse = (why: string) => ({
    problem:
      `${source}: Starling cannot train with the compiled optimizer ${name} (it ${why}); its optimizers are sgd (with momentum), adam, adagrad and rmsprop: ` +
      'name one under train: (e.g. train: {optimizer: adam, lr: 0.001}) to train with it instead',
  });
  const lr = c.learningrate ?? c.lr;
  if (lr !== undefined && typeof lr !== 'number') return refuse('has a learning-rate schedule');
  if (typeof c.weightdecay === 'number' && c.weightdecay > 0) return refuse('uses decoupled weight decay');
  const fields: Record<string, number | boolean> = {};
  const set = (key: string, value: unknown) => {
    if (typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  };
  set('lr', lr);
  switch (normalised(name)) {
    case 'sgd':
    case 'momentum':
      set('momentum', c.momentum);
      set('nesterov', c.usenesterov ?? c.nesterov);
      return { fields: { optimizer: 'sgd', ...fields } };
    case 'adam':
      if (c.amsgrad === true) return refuse('uses AMSGrad');
      set('beta1', c.beta1);
      set('beta2', c.beta2);
      set('epsilon', c.epsilon);
      return { fields: { optimizer: 'adam', ...fields } };
    case 'adagrad':
      set('epsilon', c.epsilon);
      return { fields: { optimizer: 'adagrad', ...fields } };
    case 'rmsprop':
      if (typeof c.momentum === 'number' && c.momentum > 0) return refuse('uses momentum');
      if (c.centered === true) return refuse('is centered');
      // tfjs calls the squared-gradient decay `decay`, Keras `rho`
      set('rho', c.rho ?? c.decay);
      set('epsilon', c.epsilon);
      return { fields: { optimizer: 'rmsprop', ...fields } };
    default:
      return refuse("is not one of Starling's");
  }
}
