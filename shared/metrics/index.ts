export { accuracy, confusionMatrix, logLoss, precisionRecallF1, topKAccuracy, type PrecisionRecallF1 } from './classification.ts';
export { mae, mse, r2, rmse } from './regression.ts';
export { argmaxRows, evaluationReport, EVALUATION_METRICS, type EvaluationReport } from './report.ts';
