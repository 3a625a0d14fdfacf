import { parentPort, workerData } from 'node:worker_threads';
import { TfjsEngine } from '../shared/engine/tfjs-engine.ts';
import { errorMessage } from '../shared/errors.ts';
import type { Dataset } from '../shared/data/dataset.ts';
import type { TrainJob, WorkerInit, WorkerReply } from './worker-protocol.ts';

/**
 * One training worker: holds one engine and a read-only view of the shared
 * dataset (SharedArrayBuffer, no copy), and trains jobs one at a time.
 */
const port = parentPort;
if (!port) throw new Error('train-worker must run in a worker thread');
const init = workerData as WorkerInit;
const dataset: Dataset = { x: init.x, y: init.y, size: init.size, features: init.features, classes: init.classes };
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const engine = await TfjsEngine.create(init.backend);
  port.on('message', (job: TrainJob) => {
    engine
      .train(job.spec, job.weights, { dataset, indices: job.indices }, job.config, job.seed)
      .then((result) => reply({ kind: 'result', id: job.id, result }, [result.delta.buffer as ArrayBuffer]))
      .catch((err) => reply({ kind: 'error', id: job.id, message: errorMessage(err) }));
  });
  reply({ kind: 'ready', backend: engine.backend });
} catch (err) {
  reply({ kind: 'initError', message: errorMessage(err) });
}
