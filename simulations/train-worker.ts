import { parentPort, workerData } from 'node:worker_threads';
import { EngineFactory } from '../shared/engine/factory.ts';
import { errorMessage } from '../shared/errors.ts';
import type { Dataset } from '../shared/data/dataset.ts';
import { scoreView } from '../shared/engine/score.ts';
import type { WorkerInit, WorkerJob, WorkerReply } from './worker-protocol.ts';

/**
 * One training worker: holds its engines (one model instance each) and a
 * read-only view of the shared dataset (SharedArrayBuffer, no copy), and runs
 * jobs one at a time: training, or scoring a model on some rows.
 */
const port = parentPort;
if (!port) throw new Error('train-worker must run in a worker thread');
const init = workerData as WorkerInit;
const dataset: Dataset = {
  x: init.x,
  y: init.y,
  size: init.size,
  features: init.features,
  classes: init.classes,
  ...(init.targets ? { targets: init.targets } : {}),
};
const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const engines = new EngineFactory({ engine: init.engine, backend: init.backend });
/** The last model this worker was sent: a round's jobs all train the same global weights, sent once per worker. */
let held: { readonly id: number; readonly weights: Float32Array } | undefined;
port.on('message', (job: WorkerJob) => {
  if (job.weights) held = { id: job.weightsId, weights: job.weights };
  engines
    .forSpec(job.spec)
    .then(async (engine) => {
      if (held?.id !== job.weightsId) throw new Error(`job ${job.id} came without its weights, and this worker holds others`);
      const weights = held.weights;
      if (job.kind === 'evaluate') {
        const scores = await scoreView(engine, job.spec, weights, { dataset, indices: job.indices });
        return reply({ kind: 'scores', id: job.id, scores, engine: engine.backend });
      }
      const result = await engine.train(job.spec, weights, { dataset, indices: job.indices }, job.config, job.seed);
      reply({ kind: 'result', id: job.id, result, engine: engine.backend }, [result.delta.buffer as ArrayBuffer]);
    })
    .catch((err) => reply({ kind: 'error', id: job.id, message: errorMessage(err) }));
});
reply({ kind: 'ready' });
