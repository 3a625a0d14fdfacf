import { parseSearchSpace, type SearchSpace } from '../../shared/tuning/space.ts';
import { InvalidArgumentError } from '../../shared/errors.ts';

/**
 * The AutoML preset (`starling tune --auto`): the choices that matter most in a
 * federated MNIST run — optimizer, learning rate, batch size, local epochs, the
 * strategy (with FedProx's μ when it is chosen) and MLP against a small CNN.
 */
export const AUTO_SPACE_DOC = {
  params: [
    { name: 'optimizer', path: 'train.optimizer', type: 'choice', values: ['sgd', 'adam'] },
    { name: 'lr', path: 'train.lr', type: 'float', low: 0.0005, high: 0.3, log: true },
    { name: 'batchSize', path: 'train.batchSize', type: 'choice', values: [16, 32, 64] },
    { name: 'epochs', path: 'train.epochs', type: 'int', low: 1, high: 3 },
    { name: 'strategy', path: 'strategy', type: 'choice', values: ['fedavg', 'fedprox', 'fedavgm'] },
    { name: 'mu', path: 'strategy.mu', type: 'float', low: 0.001, high: 1, log: true, when: { strategy: ['fedprox'] } },
    {
      name: 'model',
      path: 'model',
      type: 'choice',
      values: [
        { type: 'mlp', inputs: 784, hidden: [128], outputs: 10, activation: 'relu' },
        {
          type: 'cnn',
          input: [28, 28, 1],
          layers: [
            { type: 'conv', filters: 8, kernel: 5 },
            { type: 'maxpool' },
            { type: 'conv', filters: 16, kernel: 5 },
            { type: 'maxpool' },
            { type: 'dense', units: 64 },
          ],
          outputs: 10,
        },
      ],
    },
  ],
};

export function autoSpace(): SearchSpace {
  return parseSearchSpace(AUTO_SPACE_DOC, 'the --auto preset');
}

/** ASHA rungs for a run of `rounds`: about rounds/9, rounds/3 and rounds (η = 3), distinct and increasing. */
export function autoRungs(rounds: number): number[] {
  const rungs = [Math.ceil(rounds / 9), Math.ceil(rounds / 3), rounds];
  return rungs.filter((r, i) => i === 0 || r > rungs[i - 1]!);
}

/** `90s`, `10m`, `1.5h` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`a duration is a number with s, m or h (e.g. 90s, 10m), got "${text}"`);
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  if (!(ms > 0)) throw new InvalidArgumentError(`a duration must be positive, got "${text}"`);
  return ms;
}
