import { viewSize, type DatasetView } from '../data/dataset.ts';
import { evaluationReport, regressionReport, type EvaluationReport, type RegressionReport } from '../metrics/report.ts';
import { isRegression, outputClasses } from '../models/registry.ts';
import type { ModelSpec } from '../models/spec.ts';
import type { Engine } from './engine.ts';
import { viewTargets } from './regression-scores.ts';

/** A model's scores on some rows, as a client reports them from federated evaluation. */
export interface Scores {
  readonly numExamples: number;
  /**
   * A classifier's full report; a regression model's MAE, MSE, RMSE and R²; a generative
   * model (gan) reports its discriminator's `loss` and `accuracy` only.
   */
  readonly metrics: EvaluationReport | RegressionReport | { readonly loss: number; readonly accuracy: number };
}

/**
 * Predicts the rows of `view` with `engine` and scores the probabilities
 * (shared/metrics), or a regression model's predictions against the targets; a gan,
 * which predicts no classes, is scored by its engine's evaluate.
 */
export async function scoreView(engine: Engine, spec: ModelSpec, weights: Float32Array, view: DatasetView): Promise<Scores> {
  if (isRegression(spec)) {
    const predictions = await engine.predict(spec, weights, view);
    return { numExamples: viewSize(view), metrics: regressionReport(viewTargets(view), predictions) };
  }
  const classes = outputClasses(spec);
  if (classes === undefined) {
    const { loss, accuracy, numExamples } = await engine.evaluate(spec, weights, view);
    return { numExamples, metrics: { loss, accuracy: accuracy ?? 0 } };
  }
  const probabilities = await engine.predict(spec, weights, view);
  const n = viewSize(view);
  const { y } = view.dataset;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = y[view.indices ? view.indices[i]! : i]!;
  return { numExamples: n, metrics: evaluationReport(labels, probabilities, classes) };
}
