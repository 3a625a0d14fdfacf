import { join } from 'node:path';
import { DEFAULT_MODEL } from '../models/spec.ts';
import type { RunConfigFields } from './schema.ts';

/**
 * The validated flat fields grouped by concern: what a run is (top level), how clients
 * train (train, schedule), how their updates are combined (strategy), privacy, secure
 * aggregation, the data, the server's network and limits, and where output goes.
 * `secagg` is absent when secure aggregation is off.
 */
export function sections(f: RunConfigFields) {
  return {
    clients: f.clients,
    rounds: f.rounds,
    seed: f.seed,
    targetAccuracy: f.targetAccuracy,
    patience: f.patience,
    model: f.model ?? DEFAULT_MODEL,
    /** No model was given: the default MLP is sized to the data when it is loaded (config/model-from-data.ts). */
    modelFromData: f.model === undefined,
    init: f.init,
    freeze: f.freeze,
    engine: f.engine,
    /** simulate only: the virtual clients' transport (simulations/simulate.ts simulationTransport). */
    transport: f.transport,
    backend: f.backend,
    train: f.train,
    schedule: f.schedule,
    strategy: {
      spec: f.strategy,
      minFitClients: f.minFitClients,
      fractionFit: f.fractionFit,
      fractionEvaluate: f.fractionEvaluate,
      maxUpdateNorm: f.maxUpdateNorm,
      maxUpdateNormAction: f.maxUpdateNormAction,
    },
    privacy: { dp: f.dp, delta: f.dpDelta },
    secagg: f.secagg ? { clip: f.secaggClip, threshold: f.secaggThreshold, maxExamples: f.secaggMaxExamples, neighbours: f.secaggNeighbours } : undefined,
    data: {
      source: f.data,
      task: f.task,
      label: f.label,
      classes: f.classes,
      clean: f.clean || f.cleanRange ? { range: f.cleanRange } : undefined,
      normalize: f.normalize,
      testData: f.testData,
      testFraction: f.testFraction,
      partition: f.partition,
      validation: f.validation,
      localValidation: f.localValidation,
      evaluate: f.evaluate,
      stragglers: f.stragglers,
    },
    server: {
      host: f.host,
      port: f.port,
      insecure: f.insecure,
      key: f.key,
      allow: f.allow,
      joinToken: f.joinToken,
      joinTokenFile: f.joinTokenFile,
      handshakeTimeoutMs: f.handshakeTimeoutMs,
      waitForClientsTimeoutMs: f.waitForClientsTimeoutMs,
      roundTimeoutMs: f.roundTimeoutMs,
      frameTimeoutMs: f.frameTimeoutMs,
      heartbeatIntervalMs: f.heartbeatIntervalMs,
      maxPayloadBytes: f.maxPayloadBytes,
      receiveBudgetBytes: f.receiveBudgetBytes,
      maxUnauthenticated: f.maxUnauthenticated,
      maxUnauthenticatedPerAddress: f.maxUnauthenticatedPerAddress,
      statusEndpoint: f.statusEndpoint,
      metricsEndpoint: f.metricsEndpoint,
      dashboard: f.dashboard,
    },
    output: { out: f.out, store: f.store === undefined ? join(f.out, 'starling.db') : f.store, json: f.json, logLevel: f.logLevel },
  };
}
