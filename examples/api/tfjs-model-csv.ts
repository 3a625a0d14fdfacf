// Your own tfjs model, federated on a CSV file whose labels are names (iris.csv, from the
// repository's examples/data), with a strategy of your own: FedAvg whose clients' learning
// rate the coordinator decays each round.
// expect-output: ^round 15/15 {2}lr 0\.0\d+ {2}accuracy (0\.9\d+|1\.0+)$
// expect-output: ^done: decaying-fedavg, classes setosa, versicolor, virginica$
import * as tf from '@tensorflow/tfjs';
import { builtinStrategy, createLogger, loadData, runConfig, simulate, tfjsModelSpec, type Strategy, type StrategyContext } from 'starling-fl';

const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });
const model = tf.sequential();
model.add(tf.layers.dense({ inputShape: [4], units: 16, activation: 'relu', ...init(1) }));
model.add(tf.layers.dense({ units: 3, activation: 'softmax', ...init(2) }));
model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
const { spec, weights, train } = await tfjsModelSpec(model);

/** FedAvg, each round asking the clients for a learning rate 0.9 times the last round's. */
function decayingFedAvg(ctx: StrategyContext): Strategy {
  const fedavg = builtinStrategy('fedavg')(ctx);
  const configureFit: Strategy['configureFit'] = (round, clients, base) => fedavg.configureFit(round, clients, { ...base, lr: base.lr * 0.9 ** (round - 1) });
  return { ...fedavg, name: 'decaying-fedavg', configureFit, toConfig: () => ({ name: 'decaying-fedavg', decay: 0.9 }) };
}

const config = runConfig({
  data: process.argv[2] ?? 'iris.csv',
  label: 'species',
  normalize: 'zscore',
  partition: 'dirichlet:0.5',
  clients: 3,
  rounds: 15,
  model: spec,
  train: { ...train, batchSize: 8 },
  store: false,
});
const data = await loadData(config.data, config.clients, config.seed);
const lr = (round: number) => (config.train.lr * 0.9 ** (round - 1)).toFixed(4);
const result = await simulate(config, {
  log: createLogger('warn'),
  data,
  strategy: decayingFedAvg,
  initialWeights: weights,
  writeHistory: false,
  onRound: (r) => console.log(`round ${r.round}/${config.rounds}  lr ${lr(r.round)}  accuracy ${r.accuracy?.toFixed(4)}`),
});
console.log(`done: ${result.history.strategy.name}, classes ${data.classNames?.join(', ')}`);
