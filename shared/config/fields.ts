import { formatPartition } from '../data/partition.ts';
import { formatDataSpec } from '../data/source.ts';
import { formatDpSpec } from '../privacy/dp-spec.ts';
import { formatStrategySpec } from '../strategy-spec.ts';
import { type RunConfig, runConfigInputSchema } from './schema.ts';

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
    model: c.modelFromData ? undefined : c.model,
    init: c.init,
    freeze: c.freeze,
    train: c.train,
    strategy: formatStrategySpec(st.spec),
    maxUpdateNorm: st.maxUpdateNorm,
    maxUpdateNormAction: st.maxUpdateNormAction,
    schedule: c.schedule,
    data: formatDataSpec(data.source),
    task: data.task,
    label: data.label,
    classes: data.classes,
    clean: data.clean !== undefined,
    cleanRange: data.clean?.range,
    normalize: data.normalize,
    testData: data.testData && formatDataSpec(data.testData),
    testFraction: data.testFraction,
    evaluate: data.evaluate,
    partition: formatPartition(data.partition),
    engine: c.engine,
    backend: c.backend,
    stragglers: data.stragglers,
    transport: c.transport,
    ...output,
  };
  // in the order a config file lists them (the input schema's), fields without a value left out
  return Object.fromEntries(
    Object.keys(runConfigInputSchema.shape)
      .filter((k) => fields[k] !== undefined)
      .map((k) => [k, fields[k]]),
  );
}
