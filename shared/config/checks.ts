import { fixedPoint } from '../secagg/fixed-point.ts';
import { encodingRange } from '../secagg/weighting.ts';
import { aggregationProblems, clientsPerRound, perRoundProblem } from '../strategy-spec.ts';
import { trainableLayout } from '../trainable.ts';
import { DEFAULT_MODEL } from '../models/spec.ts';
import type { RunConfigFields } from './schema.ts';

export interface ConfigProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Every contradiction between fields of a run config, checked in this one place (each field
 * on its own was already validated): the run refuses to start with any of them.
 */
export function configProblems(f: RunConfigFields): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  if (f.minFitClients > f.clients) problem('minFitClients', `${f.minFitClients} is more than clients (${f.clients})`);
  const model = f.model ?? DEFAULT_MODEL;
  if (model.type === 'gan' && (f.patience !== undefined || f.targetAccuracy !== undefined)) {
    // a gan's round accuracy is its discriminator's: neither higher nor lower means a better model
    problem(
      f.patience !== undefined ? 'patience' : 'targetAccuracy',
      "early stopping watches a classifier's accuracy; a gan's is its discriminator's, which says no model is better",
    );
  }
  const perRound = perRoundProblem(f.strategy, clientsPerRound({ clients: f.clients, fraction: f.fractionFit, min: f.minFitClients }));
  if (perRound) problem('strategy', perRound);
  for (const p of aggregationProblems(f.strategy, { dp: f.dp !== undefined, secagg: f.secagg })) problem(p.field, p.message);
  secaggProblems(f, problem);
  dataProblems(f, problem);
  regressionProblems(f, problem);
  try {
    trainableLayout(model, f.freeze);
  } catch (e) {
    problem('freeze', (e as Error).message.replace(/^freeze: /, ''));
  }
  return problems;
}

function secaggProblems(f: RunConfigFields, problem: (field: string, message: string) => void): void {
  const secaggOnly = (['secaggThreshold', 'secaggNeighbours', 'secaggMaxExamples'] as const).find((k) => f[k] !== undefined);
  if (!f.secagg) {
    if (secaggOnly) problem(secaggOnly, 'needs secagg: true');
    return;
  }
  if (f.secaggThreshold !== undefined && f.secaggThreshold > f.clients) problem('secaggThreshold', `${f.secaggThreshold} is more than clients (${f.clients})`);
  if (f.secaggNeighbours !== undefined && f.secaggThreshold !== undefined && f.secaggNeighbours + 1 < f.secaggThreshold) {
    problem(
      'secaggNeighbours',
      `${f.secaggNeighbours} neighbours give neighbourhoods of ${f.secaggNeighbours + 1} clients, fewer than secaggThreshold ${f.secaggThreshold}: no secret could be reconstructed`,
    );
  }
  try {
    fixedPoint({ clip: encodingRange(f.secaggClip, f.secaggMaxExamples !== undefined), maxClients: f.clients });
  } catch (e) {
    problem('secaggClip', (e as Error).message);
  }
}

/**
 * Regression reads a real-valued target from a CSV file into an MLP trained on squared error:
 * what needs classes (a class list, label-skewed partitions, an accuracy to reach) or other
 * data or models is refused.
 */
function regressionProblems(f: RunConfigFields, problem: (field: string, message: string) => void): void {
  if (f.task !== 'regression') {
    if (f.model?.type === 'mlp' && f.model.loss === 'mse') problem('model', 'loss: mse trains a regression model: set task: regression');
    return;
  }
  if (f.data.kind !== 'csv') problem('task', `regression reads its targets from a CSV file's label column, not ${f.data.kind} data`);
  if (f.testData !== undefined && f.testData.kind !== 'csv')
    problem('testData', `with task regression the test data must be a CSV file, got ${f.testData.kind}`);
  if (f.classes !== undefined) problem('classes', 'a regression target is a number, not one of a list of classes');
  if (f.partition.kind === 'dirichlet' || f.partition.kind === 'shards') {
    problem('partition', `${f.partition.kind} deals rows out by class; a regression run has none (use iid or quantity:<sigma>)`);
  }
  if (f.targetAccuracy !== undefined) problem('targetAccuracy', 'a regression run reports no accuracy (its rounds report loss, MAE and R²)');
  if (f.patience !== undefined) problem('patience', 'early stopping watches the evaluated accuracy, which a regression run does not report');
  if (f.model !== undefined && !(f.model.type === 'mlp' && f.model.loss === 'mse')) {
    problem('model', 'regression trains an MLP with loss: mse (a linear output); leave model out for one sized to the data');
  }
}

/** The data settings that apply only to some sources: each given where it means nothing is refused, not ignored. */
function dataProblems(f: RunConfigFields, problem: (field: string, message: string) => void): void {
  const kind = f.data.kind;
  const csv = kind === 'csv' || f.testData?.kind === 'csv';
  const file = kind === 'csv' || kind === 'idx';
  if (csv && f.label === undefined) problem('label', 'a CSV file needs the name of its label column (--label COLUMN)');
  for (const key of ['label', 'classes'] as const) if (f[key] !== undefined && !csv) problem(key, `applies to CSV data, not ${kind}`);
  if (f.clean && !csv) problem('clean', `applies to CSV data, not ${kind}`);
  if (f.cleanRange !== undefined && !csv) problem('cleanRange', `applies to CSV data, not ${kind}`);
  for (const key of ['normalize', 'testData', 'testFraction'] as const) {
    if (f[key] !== undefined && !file) problem(key, `applies to CSV and IDX data, not ${kind}`);
  }
  if (f.testData !== undefined && f.testFraction !== undefined) problem('testFraction', 'the test split is testData; a hold-out fraction would take no rows');
  if (f.testData && f.testData.kind !== 'csv' && f.testData.kind !== 'idx') problem('testData', `must be a CSV or IDX file, got ${f.testData.kind}`);
}
