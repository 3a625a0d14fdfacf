// A simulation on MNIST whose coordinator runs a strategy written here: FedAvg's client
// sampling, server step and checkpoint state, with the coordinate-wise median of the clients'
// updates in place of their weighted mean (one wild update cannot drag the model far).
// expect-output: ^round 3/3 {2}accuracy 0\.[5-9]\d{3}$
// expect-output: ^done: median-fedavg
import {
  builtinStrategy,
  createLogger,
  plainCombiner,
  runConfig,
  simulate,
  standsFor,
  type FitOutcome,
  type Strategy,
  type StrategyContext,
} from 'starling-fl';

/** The coordinate-wise median of the clients' deltas. */
function median(results: readonly FitOutcome[]) {
  const delta = new Float32Array(results[0]!.delta.length);
  const column = new Float64Array(results.length);
  for (let i = 0; i < delta.length; i++) {
    for (let k = 0; k < results.length; k++) column[k] = results[k]!.delta[i]!;
    column.sort();
    const mid = column.length >> 1;
    delta[i] = column.length % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
  }
  return { delta, ...standsFor(results) };
}

function medianFedAvg(ctx: StrategyContext): Strategy {
  const fedavg = builtinStrategy('fedavg')(ctx);
  const combiner = plainCombiner(median, { needsEveryUpdate: true, acceptsPartialWork: false });
  return { ...fedavg, name: 'median-fedavg', combiner, toConfig: () => ({ name: 'median-fedavg' }) };
}

const config = runConfig({ clients: 3, rounds: 3, store: false });
const result = await simulate(config, {
  log: createLogger('warn'),
  strategy: medianFedAvg,
  writeHistory: false,
  onRound: (r) => console.log(`round ${r.round}/${config.rounds}  accuracy ${r.accuracy?.toFixed(4)}`),
});
console.log(`done: ${result.history.strategy.name} on ${result.workers} workers (${result.engine} engine)`);
