import type { TrainResult } from '../shared/engine/engine.ts';
import type { Scores } from '../shared/engine/score.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';
import type { EngineChoice } from '../shared/engine/factory.ts';

/** Messages between the worker pool and its worker threads (structured clone, not the wire). */
export interface WorkerInit {
  readonly engine: EngineChoice;
  readonly backend?: string;
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly size: number;
  readonly features: number;
  readonly classes: number;
  /** Regression: the shared targets (size × classes floats). */
  readonly targets?: Float32Array;
}

export interface TrainJob {
  readonly kind: 'train';
  readonly id: number;
  readonly spec: ModelSpec;
  /** The model; left out when this worker's previous job had the same array (`weightsId`): it keeps the last one it was sent. */
  readonly weights?: Float32Array;
  /** Which weights array the job is about (the pool numbers each array it sees once). */
  readonly weightsId: number;
  readonly indices: Uint32Array;
  readonly config: FitConfig;
  readonly seed: number;
}

/** Score a model on some rows (a virtual client's held-out rows): predict, then the metrics. */
export interface EvaluateJob {
  readonly kind: 'evaluate';
  readonly id: number;
  readonly spec: ModelSpec;
  readonly weights?: Float32Array;
  readonly weightsId: number;
  readonly indices: Uint32Array;
}

export type WorkerJob = TrainJob | EvaluateJob;

/** A finished job: a training result or scores. */
export type JobReply =
  | { readonly kind: 'result'; readonly id: number; readonly result: TrainResult; readonly engine: string }
  | { readonly kind: 'scores'; readonly id: number; readonly scores: Scores; readonly engine: string };

export type WorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'initError'; readonly message: string }
  | JobReply
  | { readonly kind: 'error'; readonly id: number; readonly message: string };
