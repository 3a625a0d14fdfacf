import { sameWeights } from '../shared/weights.ts';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../shared/data/dataset.ts';
import type { TrainResult } from '../shared/engine/engine.ts';
import { BackendError, StarlingError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ModelSpec } from '../shared/models/spec.ts';
import type { FitConfig } from '../shared/protocol/fit-config.ts';
import type { EngineChoice } from '../shared/engine/factory.ts';
import type { Scores } from '../shared/engine/score.ts';
import type { JobReply, WorkerInit, WorkerJob, WorkerReply } from './worker-protocol.ts';

/**
 * From the sources (tsx, vitest) a worker starts at the .mjs shim that registers tsx before the
 * TypeScript worker loads; the compiled library (dist/) starts the compiled worker, without tsx.
 */
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './train-worker.mjs' : './train-worker.js', import.meta.url);

export interface PoolOptions {
  /** Worker threads; default: the number of cores. */
  readonly size?: number;
  /** The training data every job's indices point into; SharedArrayBuffer-backed to avoid copies. */
  readonly dataset: Dataset;
  readonly engine?: EngineChoice;
  readonly backend?: string;
  readonly log: Logger;
}

/** A queued or running job and how to settle its promise. */
interface Task {
  readonly job: WorkerJob;
  settle(reply: JobReply): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy?: Task;
  /** The weights the worker holds (WorkerJob.weightsId), and the array they were sent from: a job about the same weights goes without them. */
  holds?: number;
  held?: Float32Array;
}

/**
 * A fixed pool of training workers, one per core (wasm threads do not work in
 * Node, so this is where parallelism comes from). Virtual clients are cheap
 * records; their jobs queue here, so memory is workers × model + dataset,
 * whatever the number of clients.
 */
export class WorkerPool {
  readonly size: number;
  /** The engine (and backend) the workers last trained with, e.g. "simd" or "wasm". */
  engine = '';
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly init: WorkerInit;
  private readonly log: Logger;
  private nextId = 1;
  private closed = false;

  private constructor(options: PoolOptions) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.log = options.log;
    const ds = options.dataset;
    const shared = (a: { buffer: ArrayBufferLike } | undefined) => a === undefined || a.buffer instanceof SharedArrayBuffer;
    if (!shared(ds.x) || !shared(ds.y) || !shared(ds.targets)) {
      throw new StarlingError('E_POOL', 'the worker pool needs a dataset backed by SharedArrayBuffer (see subset())');
    }
    const { x, y, size, features, classes, targets } = ds;
    this.init = { engine: options.engine ?? 'auto', backend: options.backend, x, y, size, features, classes, ...(targets ? { targets } : {}) };
  }

  /** Starts the workers and waits until each has loaded its engine. */
  static async create(options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(Array.from({ length: pool.size }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /**
   * Trains `weights` on the rows `indices`. The array must never change once handed to the pool
   * (the round loop never changes a model once made): a worker is sent it once, and later jobs
   * about the same array or another with the same bytes — a round's other clients — reuse the
   * worker's copy, found by comparing against the array it was sent from.
   */
  train(spec: ModelSpec, weights: Float32Array, indices: Uint32Array, config: FitConfig, seed: number): Promise<TrainResult> {
    const job = { kind: 'train', id: this.nextId++, spec, weights, weightsId: this.idOf(weights), indices, config, seed } as const;
    return this.run(job, (r) => (r.kind === 'result' ? r.result : undefined));
  }

  /** Scores a model on the rows `indices` of the pool's dataset (predict + metrics, on a worker); `weights` as for train. */
  evaluate(spec: ModelSpec, weights: Float32Array, indices: Uint32Array): Promise<Scores> {
    const job = { kind: 'evaluate', id: this.nextId++, spec, weights, weightsId: this.idOf(weights), indices } as const;
    return this.run(job, (r) => (r.kind === 'scores' ? r.scores : undefined));
  }

  /** A number for each weights array the pool is given (by identity). */
  private idOf(weights: Float32Array): number {
    let id = this.weightIds.get(weights);
    if (id === undefined) {
      id = this.nextWeightsId++;
      this.weightIds.set(weights, id);
    }
    return id;
  }

  private readonly weightIds = new WeakMap<Float32Array, number>();
  private nextWeightsId = 1;

  /** Queues a job; `pick` takes its answer from the worker's reply (undefined: a reply of the wrong kind). */
  private run<T>(job: WorkerJob, pick: (r: JobReply) => T | undefined): Promise<T> {
    if (this.closed) return Promise.reject(new StarlingError('E_POOL', 'the worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const settle = (r: JobReply) => {
        const value = pick(r);
        if (value === undefined) reject(new StarlingError('E_POOL', `a ${job.kind} job was answered with ${r.kind}`));
        else resolve(value);
      };
      this.queue.push({ job, settle, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new StarlingError('E_POOL', 'the worker pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(WORKER_ENTRY, { workerData: this.init });
      const slot: Slot = { worker };
      let ready = false;
      worker.on('message', (m: WorkerReply) => {
        switch (m.kind) {
          case 'ready':
            ready = true;
            this.slots.push(slot);
            resolve();
            this.pump();
            return;
          case 'initError':
            reject(new BackendError(`a training worker could not start: ${m.message}`));
            return;
          case 'result':
          case 'scores':
          case 'error': {
            const busy = slot.busy;
            slot.busy = undefined;
            if (busy && busy.job.id === m.id) {
              if (m.kind === 'error') busy.reject(new StarlingError(busy.job.kind === 'train' ? 'E_TRAIN' : 'E_EVALUATE', m.message));
              else {
                this.engine = m.engine;
                busy.settle(m);
              }
            }
            this.pump();
            return;
          }
        }
      });
      // a worker that throws outside a job, or exits (killed, out of memory), is replaced;
      // the job it held fails with the reason, the others go on
      let gone = false;
      const lost = (reason: string, cause?: Error) => {
        if (gone) return;
        gone = true;
        if (!ready) return reject(new BackendError(`a training worker died while starting: ${reason}`, { cause }));
        if (this.closed) return;
        this.log.error({ reason }, `training worker died: ${reason}; replacing it`);
        const busy = slot.busy;
        slot.busy = undefined;
        busy?.reject(new StarlingError(busy.job.kind === 'train' ? 'E_TRAIN' : 'E_EVALUATE', `the training worker died: ${reason}`));
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        this.spawn().catch((e: Error) => this.log.error({ err: e.message }, 'could not replace a training worker'));
      };
      worker.on('error', (err) => lost(err.message, err));
      worker.on('exit', (code) => lost(`it exited with code ${code}`));
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = next;
      const { job } = next;
      // the worker keeps the last weights it was sent: a job about the same array, or another with the same
      // bytes (each WebSocket agent of a simulation decodes its own copy of the round's model), goes without them
      const holds = slot.holds === job.weightsId || (slot.held !== undefined && job.weights !== undefined && sameWeights(slot.held, job.weights));
      slot.worker.postMessage(holds ? { ...job, weights: undefined, weightsId: slot.holds } : job);
      if (!holds) {
        slot.holds = job.weightsId;
        slot.held = job.weights;
      }
    }
  }
}
