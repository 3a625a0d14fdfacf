import { formatPartition } from '../data/partition.ts';
import { formatDataSpec } from '../data/source.ts';
import { formatDpSpec } from '../privacy/dp-spec.ts';
import { formatStrategySpec } from '../strategy-spec.ts';
import type { RunConfig, RunConfigFields } from './schema.ts';

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
    model: f.model,
    init: f.init,
    freeze: f.freeze,
    engine: f.engine,
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
      maxPayloadBytes: f.maxPayloadBytes,
      receiveBudgetBytes: f.receiveBudgetBytes,
      maxUnauthenticated: f.maxUnauthenticated,
      maxUnauthenticatedPerAddress: f.maxUnauthenticatedPerAddress,
      statusEndpoint: f.statusEndpoint,
    },
    output: { out: f.out, json: f.json, logLevel: f.logLevel },
  };
}

/**
 * The config back in the flat form a config file is written in, spec fields as their short
 * strings: what a run's history records, and what `--config` reads back to the same run.
 * Fields without a value are left out.
 */
export function runConfigFields(c: RunConfig): Record<string, unknown> {
  const { strategy: st, privacy, secagg, data, server, output } = c;
  const fields: Record<string, unknown> = {
    ...server,
    clients: c.clients,
    rounds: c.rounds,
    targetAccuracy: c.targetAccuracy,
    validation: data.validation,
    patience: c.patience,
    minFitClients: st.minFitClients,
    fractionFit: st.fractionFit,
    localValidation: data.localValidation,
    fractionEvaluate: st.fractionEvaluate,
    dp: privacy.dp && formatDpSpec(privacy.dp),
    dpDelta: privacy.delta,
    secagg: secagg !== undefined,
    secaggThreshold: secagg?.threshold,
    secaggClip: secagg?.clip,
    secaggMaxExamples: secagg?.maxExamples,
    secaggNeighbours: secagg?.neighbours,
    seed: c.seed,
    model: c.model,
    init: c.init,
    freeze: c.freeze,
    train: c.train,
    strategy: formatStrategySpec(st.spec),
    maxUpdateNorm: st.maxUpdateNorm,
    maxUpdateNormAction: st.maxUpdateNormAction,
    schedule: c.schedule,
    data: formatDataSpec(data.source),
    evaluate: data.evaluate,
    partition: formatPartition(data.partition),
    engine: c.engine,
    backend: c.backend,
    stragglers: data.stragglers,
    ...output,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
