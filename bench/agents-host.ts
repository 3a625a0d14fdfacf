/**
 * One client process of bench/ws-scale-bench.ts: hosts a range of real ClientAgent instances
 * (clients `--from` … `--to − 1` of `--clients`), each with its own WebSocket to the coordinator,
 * their training on one small worker pool. The agents are what a deployment's clients are — the
 * secure handshake, hello, fit and evaluate tasks — only many to a process, so a thousand
 * clients fit on a small machine and the coordinator's process holds nothing of theirs.
 *
 *   npx tsx bench/agents-host.ts --url ws://127.0.0.1:PORT --clients 1000 --from 0 --to 250 \
 *     --keys DIR --coordinator-key BASE64          # or --insecure
 *
 * Protocol with the parent, one JSON object a line on stdout: `{"ready":true}` once the data
 * and the pool are loaded; the agents connect when a line arrives on stdin (so the parent times
 * the connections, not the start-up); `{"done":true,"ok":N,"failed":M,"firstError":…}` at the end.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClientAgent } from '../client/agent.ts';
import { PoolTrainer } from '../simulations/pool-trainer.ts';
import { virtualClientName } from '../simulations/virtual-clients.ts';
import { WorkerPool } from '../simulations/worker-pool.ts';
import { fromBase64, readIdentityFile } from '../shared/crypto/identity-file.ts';
import { KEY_BYTES } from '../shared/crypto/primitives.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import { partitionIid } from '../shared/data/partition.ts';
import { isEngineChoice } from '../shared/engine/factory.ts';
import { errorMessage } from '../shared/errors.ts';
import { silentLogger } from '../shared/log.ts';

/** The seed the bench's IID shards are dealt with (the round bench's). */
const SHARD_SEED = 42;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    clients: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    keys: { type: 'string' },
    'coordinator-key': { type: 'string' },
    insecure: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    engine: { type: 'string', default: 'simd' },
    'connect-timeout-ms': { type: 'string', default: '120000' },
  },
});

const clients = Number(values.clients);
const from = Number(values.from);
const to = Number(values.to);
const workers = Number(values.workers);
const connectTimeoutMs = Number(values['connect-timeout-ms']);
const secure = !values.insecure;
if (
  !values.url ||
  !Number.isInteger(clients) ||
  !Number.isInteger(from) ||
  !Number.isInteger(to) ||
  !(from >= 0 && from < to && to <= clients) ||
  !(workers >= 1) ||
  !isEngineChoice(values.engine) ||
  (secure && (!values.keys || !values['coordinator-key']))
) {
  throw new Error(
    'usage: --url WS --clients N --from A --to B (0 ≤ A < B ≤ N) [--workers W] [--engine simd|tfjs|auto] (--keys DIR --coordinator-key BASE64 | --insecure)',
  );
}

const say = (obj: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const { train } = loadMnist();
const shards = partitionIid(train.size, clients, SHARD_SEED);
const pool = await WorkerPool.create({ size: workers, dataset: train, engine: values.engine, log: silentLogger });
const coordinatorKey = secure ? fromBase64(values['coordinator-key']!, KEY_BYTES, '--coordinator-key') : undefined;
// the identities are read before `ready`: key files are start-up, not connection time
const indices = Array.from({ length: to - from }, (_, k) => from + k);
const identities = indices.map((i) => (secure ? readIdentityFile(join(values.keys!, `${virtualClientName(i, clients)}.key`)) : undefined));
say({ ready: true });

// wait for the parent's word: every host then connects its agents at the same moment
const lines = createInterface({ input: process.stdin });
// a parent gone before its word (stdin closed) leaves nothing to connect for: exit rather than linger with the pool's workers
const orphaned = () => process.exit(1);
lines.once('close', orphaned);
await new Promise<void>((resolve) =>
  lines.once('line', () => {
    lines.off('close', orphaned);
    resolve();
  }),
);
lines.close();

const outcomes = await Promise.allSettled(
  indices.map((i, k) =>
    new ClientAgent({
      url: values.url!,
      name: virtualClientName(i, clients),
      trainer: new PoolTrainer(pool, shards[i]!),
      log: silentLogger,
      // a thousand handshakes at once on a small machine queue behind each other: the limit is generous, the bench reports the time
      connectTimeoutMs,
      security: identities[k] && coordinatorKey ? { identity: identities[k], coordinatorKey } : undefined,
      // a failed connection is a finding, not something to ride out
      reconnect: false,
    }).run(),
  ),
);
await pool.close();
const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
say({ done: true, ok: outcomes.length - failed.length, failed: failed.length, firstError: failed[0] ? errorMessage(failed[0].reason) : null });
process.exit(0);
