import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientAgent } from '../../client/agent.ts';
import { openDataSource } from '../../client/data-source.ts';
import { EngineTrainer } from '../../client/trainer.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { readIdentityFile, writeIdentityFile } from '../../shared/crypto/identity-file.ts';
import { JOIN_TOKEN_ENV, resolveJoinToken } from '../../shared/crypto/join-token.ts';
import { generateIdentity } from '../../shared/crypto/primitives.ts';
import type { RunConfigInput } from '../../shared/config.ts';
import { SimdEngine } from '../../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig } from './helpers.ts';

const engine = SimdEngine.create();
const TOKEN = 'a join token that must stay secret';
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-join-e2e-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A coordinator started from config files only (no identity handed in), one round with one
 * client that joins by token with a fresh identity; returns the run directory.
 */
async function runByToken(over: Partial<RunConfigInput>, clientToken: string | undefined): Promise<string> {
  const key = join(dir, 'coordinator.key');
  writeIdentityFile(key);
  const config = testConfig({ clients: 1, rounds: 1, evaluate: 'none', key, out: join(dir, 'runs'), ...over });
  const coordinator = await startCoordinator(config, { log: silentLogger, engine });
  try {
    const data = await openDataSource({ data: { kind: 'mnist' }, shard: '1/10', partition: { kind: 'iid' }, seed: 42 });
    const security = { identity: generateIdentity(), coordinatorKey: readIdentityFile(key).publicKey, joinToken: clientToken };
    const outcome = await new ClientAgent({
      url: coordinator.url,
      name: 'by-token',
      trainer: new EngineTrainer(engine, data),
      log: silentLogger,
      security,
    }).run();
    expect(outcome.rounds).toBe(1);
    const result = await coordinator.done;
    return result.dir!;
  } finally {
    await coordinator.close();
  }
}

/** Every file of a run, and that none holds the token. */
function expectPrivateAndClean(run: string): void {
  expect(statSync(run).mode & 0o777).toBe(0o700);
  const files = readdirSync(run).sort();
  expect(files).toEqual(['final-weights.f32', 'history.json', 'model.json']);
  for (const name of files) {
    expect(statSync(join(run, name)).mode & 0o777, name).toBe(0o600);
    expect(readFileSync(join(run, name)).includes(TOKEN), `${name} holds the join token`).toBe(false);
  }
}

describe('a run admitted by join token', () => {
  it('with joinToken in the config: history.json never holds the token; the run is 0700 with 0600 files', async () => {
    const run = await runByToken({ joinToken: TOKEN }, TOKEN);
    expectPrivateAndClean(run);
    const history = JSON.parse(readFileSync(join(run, 'history.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(history.config).not.toHaveProperty('joinToken');
    expect(history.config.key).toBe(join(dir, 'coordinator.key'));
  });

  it('with joinTokenFile on the coordinator and STARLING_JOIN_TOKEN on the client', async () => {
    const file = join(dir, 'join.token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const clientToken = resolveJoinToken({ env: { [JOIN_TOKEN_ENV]: TOKEN } });
    const run = await runByToken({ joinTokenFile: file }, clientToken);
    expectPrivateAndClean(run);
    const history = JSON.parse(readFileSync(join(run, 'history.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(history.config.joinTokenFile).toBe(file);
  });
});
