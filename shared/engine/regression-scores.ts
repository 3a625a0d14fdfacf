import { viewSize, type DatasetView } from '../data/dataset.ts';
import { DataError } from '../errors.ts';
import { regressionReport } from '../metrics/report.ts';
import type { EvalMetrics } from './engine.ts';

/** The targets of a view's rows, in its row order (row-major n × width). */
export function viewTargets(view: DatasetView): Float32Array {
  const { targets, classes: w } = view.dataset;
  if (!targets) throw new DataError('the data has class labels, not regression targets');
  const n = viewSize(view);
  const out = new Float32Array(n * w);
  for (let i = 0; i < n; i++) {
    const r = view.indices ? view.indices[i]! : i;
    out.set(targets.subarray(r * w, (r + 1) * w), i * w);
  }
  return out;
}

/**
 * A regression model's scores on a view from its predictions: MSE (the loss), MAE and R²
 * over every target value. R² is left out when the targets are constant (it is undefined
 * there), never sent as NaN.
 */
export function regressionScores(view: DatasetView, predictions: Float32Array): EvalMetrics {
  const report = regressionReport(viewTargets(view), predictions);
  return { loss: report.mse, mae: report.mae, ...(report.r2 !== undefined ? { r2: report.r2 } : {}), numExamples: viewSize(view) };
}
