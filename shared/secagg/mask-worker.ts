import { parentPort } from 'node:worker_threads';
import { applyMasks } from './mask-kernel.ts';
import { agree, KEY_BYTES } from '../crypto/primitives.ts';
import { type MaskReply, unpackTerms, type WorkerJob } from './mask-job.ts';

/**
 * A secure-aggregation worker (mask-workers.ts): applies a job's masks to its range of the
 * shared vector, or computes a batch of X25519 agreements, and answers. It imports only the
 * kernel, the primitives and the job format, so it starts in a fraction of the time a training
 * worker takes.
 */
const port = parentPort;
if (!port) throw new Error('mask-worker.ts runs as a worker thread (mask-workers.ts starts it)');

function run(job: WorkerJob): MaskReply {
  if (job.kind === 'mask') {
    applyMasks(new Uint32Array(job.buffer), unpackTerms(job.keys, job.signs), job.start, job.end);
    return { id: job.id };
  }
  const count = job.which.length;
  const secrets = new Uint8Array(KEY_BYTES * count);
  const ok = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const secret = agree(job.ours[job.which[i]!]!, job.theirs.subarray(KEY_BYTES * i, KEY_BYTES * (i + 1)));
    if (!secret) continue;
    secrets.set(secret, KEY_BYTES * i);
    ok[i] = 1;
  }
  return { id: job.id, secrets, ok };
}

port.on('message', (job: WorkerJob) => {
  let reply: MaskReply;
  try {
    reply = run(job);
  } catch (e) {
    reply = { id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
