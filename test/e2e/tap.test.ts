import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { sha256 } from '../../coordinator/history.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { initWeights } from '../../shared/models/registry.ts';
import { testConfig, testKeys } from './helpers.ts';

/** A loopback TCP relay that records every byte in both directions. */
async function tap(targetPort: number): Promise<{ port: number; bytes: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((inbound) => {
    const outbound = createConnection(targetPort, '127.0.0.1');
    inbound.on('data', (d) => {
      chunks.push(Buffer.from(d));
      outbound.write(d);
    });
    outbound.on('data', (d) => {
      chunks.push(Buffer.from(d));
      inbound.write(d);
    });
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => {});
    outbound.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => Buffer.concat(chunks),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const engine = SimdEngine.create();

/** One round, two clients, through the tap; returns the captured bytes and the final weights' hash. */
async function tappedRun(insecure: boolean) {
  const config = testConfig({ clients: 2, rounds: 1, insecure });
  const keys = testKeys(2);
  const coordinator = await startCoordinator(config, { log: silentLogger, engine, writeHistory: false, security: insecure ? undefined : keys.coordinator });
  const relay = await tap(coordinator.port);
  try {
    await Promise.all(
      [0, 1].map(async (i) => {
        const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${i + 1}/10`, partition: { kind: 'iid' }, seed: 42 });
        return new ClientAgent({
          url: `ws://127.0.0.1:${relay.port}`,
          name: `c${i}`,
          trainer: new EngineTrainer(engine, data),
          log: silentLogger,
          security: insecure ? undefined : keys.client(i),
        }).run();
      }),
    );
    const result = await coordinator.done;
    return { captured: relay.bytes(), hash: sha256(result.weights), weights: config };
  } finally {
    await relay.close();
    await coordinator.close();
  }
}

/** How many of `probes` 16-byte runs of the model's initial float bytes occur in `captured`. */
function runsFound(captured: Buffer, model: Float32Array): number {
  const bytes = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  let found = 0;
  for (let i = 0; i < 64; i++) {
    const at = Math.floor(((i + 0.5) / 64) * (bytes.length - 16)) & ~3;
    if (captured.includes(bytes.subarray(at, at + 16))) found++;
  }
  return found;
}

describe('nothing in the clear', () => {
  it("the sealed channel carries no run of the model's float bytes, and the round's aggregate is the same as in the clear", async () => {
    const secure = await tappedRun(false);
    const clear = await tappedRun(true);
    const model = initWeights(testConfig().model, testConfig().seed); // the round-1 global model both runs broadcast
    expect(clear.captured.length).toBeGreaterThan(2 * 101_770 * 4 * 2);
    expect(runsFound(clear.captured, model)).toBe(64); // the check sees plaintext when it is there
    expect(runsFound(secure.captured, model)).toBe(0);
    expect(secure.hash).toBe(clear.hash);
  });
});
