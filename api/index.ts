/**
 * Starling as a library: the one entry point of the `starling-fl` package.
 *
 * - Run a coordinator: `startCoordinator(runConfig({...}), { log })`.
 * - Run a client agent next to private data: `new ClientAgent({ url, name, trainer, log }).run()`,
 *   with an `EngineTrainer` over `openClientData(...)` or `datasetFromRows(rows, labels)`.
 * - Run a whole federation on one machine: `simulate(runConfig({...}), { log })`.
 * - Bring a strategy: pass `strategy` (a Strategy, or a factory of one) to either of the
 *   above; `builtinStrategy('fedavg')` gives Starling's own to wrap.
 *
 * Everything else in the package is internal and may change between versions; what is
 * exported here is typed and documented where it is defined.
 */

// running a coordinator, and the run config it takes
export {
  startCoordinator,
  type CoordinatorOptions,
  type CoordinatorResult,
  type RunningCoordinator,
  type StrategyChoice,
} from '../coordinator/coordinator.ts';
export type { RoundRecord } from '../coordinator/round-loop.ts';
export type { FederatedRecord } from '../coordinator/federated-evaluation.ts';
export type { RunHistory } from '../coordinator/history.ts';
export { loadRunConfig, resolveRunConfig, type RunConfig, type RunConfigInput } from '../shared/config.ts';
export { runConfig } from './run-config.ts';

// running a simulation
export { simulate, type SimulateOptions, type SimulationResult } from '../simulations/simulate.ts';

// running a client agent, and what it trains on
export { ClientAgent, type AgentOptions, type AgentOutcome } from '../client/agent.ts';
export type { ReconnectOptions } from '../client/reconnect.ts';
export { EngineTrainer, type EngineSource, type LocalEvaluation, type Trainer } from '../client/trainer.ts';
export { openClientData, parseClientData, type ClientData, type DataSourceOptions } from '../client/data-source.ts';
export { EngineFactory, type EngineChoice } from '../shared/engine/factory.ts';
export type { Engine, TrainResult } from '../shared/engine/engine.ts';
export type { Dataset, DatasetView } from '../shared/data/dataset.ts';
export type { DataSpec } from '../shared/data/source.ts';
export { datasetFromRows, type RowsOptions } from './rows.ts';
export type { ModelSpec } from '../shared/models/spec.ts';
// bringing your own tfjs model: its spec for the run config, its weights as the initial model
export { tfjsModelSpec, type TfjsModelSpec } from '../shared/models/tfjs-layers-api.ts';
export type { TfjsLayersSpec } from '../shared/models/tfjs-layers.ts';
// the run's data as a run reads it (CSV cleaning, class names, splits)
export { loadData, type LoadedData, type RunDataOptions } from '../shared/data/run-data.ts';
export type { CleanReport } from '../shared/data/clean.ts';
export type { FitConfig } from '../shared/protocol/fit-config.ts';

// defining a strategy: the interface and its parts, Starling's strategies, and the pieces they are made of
export type {
  ClientInfo,
  EvaluateAggregate,
  EvaluateOutcome,
  FitFailure,
  FitInstruction,
  FitOutcome,
  Strategy,
  StrategyContext,
  StrategyState,
} from '../coordinator/strategies/strategy.ts';
export {
  plainCombiner,
  standsFor,
  type Combination,
  type CombinedUpdate,
  type CombineRule,
  type Combiner,
  type RoundResults,
} from '../coordinator/strategies/combine/combiner.ts';
export type { ServerStep, StepProposal, StepState } from '../coordinator/strategies/step/server-step.ts';
export { createStrategy } from '../coordinator/strategies/index.ts';
export { builtinStrategy, type StrategyFactory } from './builtin-strategy.ts';
export { STRATEGY_NAMES, parseStrategySpec, type StrategyName, type StrategySpec } from '../shared/strategy-spec.ts';
export { weightedMean } from '../coordinator/strategies/combine/weighted-mean.ts';
export { medianOf } from '../coordinator/strategies/combine/median.ts';
export { trimmedMeanOf } from '../coordinator/strategies/combine/trimmed-mean.ts';
export { fedAvgStep } from '../coordinator/strategies/step/fedavg.ts';
export { sampleClients } from '../coordinator/strategies/sampling.ts';

// identities for the secure channel
export { generateIdentity, type Identity } from '../shared/crypto/primitives.ts';
export { fromBase64, readIdentityFile, toBase64, writeIdentityFile } from '../shared/crypto/identity-file.ts';
export type { Admission } from '../shared/crypto/handshake.ts';

// logging: every options object takes a Logger
export { createLogger, silentLogger, type Logger, type LogLevel } from '../shared/log.ts';

// errors: every error Starling throws is a StarlingError with a stable `code` (docs/errors.md)
export {
  AggregationError,
  BackendError,
  CheckpointError,
  CloseCode,
  ConfigError,
  ConnectionClosedError,
  DataError,
  ERROR_CODES,
  InvalidArgumentError,
  ProtocolError,
  RemoteError,
  SecAggError,
  StarlingError,
  TaskError,
  type ErrorCode,
  type TaskFailureKind,
} from '../shared/errors.ts';
