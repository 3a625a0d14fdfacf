import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitForHealth } from '../../simulations/loopback.ts';
import { runDirectories } from '../../coordinator/history.ts';

const BIN = new URL('../../bin/starling.mjs', import.meta.url).pathname;
const TOKEN = 'a long shared secret for the cli test';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The starling command in a child process, with `env` added to this one's (STARLING_JOIN_TOKEN removed unless given). */
function starling(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const base = { ...process.env };
  delete base.STARLING_JOIN_TOKEN;
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-join-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(name: string, content: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

async function keygen(name: string): Promise<string> {
  const r = await starling(['keygen', '--out', join(dir, name)]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

const WARNING =
  /warning: --join-token is visible to other users in the process list and stays in your shell history; .*--join-token-file FILE, or set STARLING_JOIN_TOKEN/;

describe('the join token on the command line', () => {
  it('--join-token still works with a warning; a readable --join-token-file and a short STARLING_JOIN_TOKEN are refused by name', async () => {
    const coordinatorKey = await keygen('coordinator.key');
    const client = ['client', '--coordinator', 'ws://127.0.0.1:1', '--shard', '1/10', '--coordinator-key', coordinatorKey];
    // the flag is still read (here it clashes with a file given too), and warned about first
    const flag = await starling([...client, '--join-token', TOKEN, '--join-token-file', tokenFile('join.token', TOKEN, 0o600)]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(WARNING);
    expect(flag.stderr).toMatch(/both a join token .* and a join token file .* are given; keep one/);
    expect(flag.stderr).not.toContain(TOKEN);
    const open = tokenFile('open.token', TOKEN, 0o644);
    const readable = await starling([...client, '--join-token-file', open]);
    expect(readable.code).toBe(1);
    expect(readable.stderr).toContain(`join token file ${open} has mode 0644; it must be readable by its owner only (chmod 600 ${open})`);
    expect(readable.stderr).not.toMatch(WARNING);
    const short = await starling(client, { STARLING_JOIN_TOKEN: 'too short' });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/the join token from STARLING_JOIN_TOKEN has 9 characters; a join token needs at least 16/);
    const coordinator = await starling(['coordinator', '--key', join(dir, 'coordinator.key'), '--join-token-file', open]);
    expect(coordinator.code).toBe(1);
    expect(coordinator.stderr).toContain(`join token file ${open} has mode 0644`);
    const warned = await starling(['coordinator', '--join-token', TOKEN]);
    expect(warned.code).toBe(1);
    expect(warned.stderr).toMatch(WARNING);
    expect(warned.stderr).toMatch(/needs an identity/);
  });

  it('a coordinator with --join-token-file and a key-less client with STARLING_JOIN_TOKEN run a round; the run holds no token', async () => {
    const coordinatorKey = await keygen('coordinator.key');
    const file = tokenFile('join.token', `${TOKEN}\n`, 0o600);
    const port = await freePort();
    const out = join(dir, 'runs');
    const coordinator = starling([
      'coordinator',
      '--port',
      String(port),
      '--clients',
      '1',
      '--rounds',
      '1',
      '--json',
      '--out',
      out,
      '--log-level',
      'warn',
      '--key',
      join(dir, 'coordinator.key'),
      '--join-token-file',
      file,
    ]);
    await waitForHealth(port);
    const client = await starling(
      ['client', '--coordinator', `ws://127.0.0.1:${port}`, '--shard', '1/10', '--log-level', 'warn', '--coordinator-key', coordinatorKey],
      { STARLING_JOIN_TOKEN: TOKEN },
    );
    const c = await coordinator;
    expect(client.code, client.stderr).toBe(0);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr + client.stderr).not.toContain(TOKEN);
    const [runId] = runDirectories(out);
    const run = join(out, runId!);
    expect(statSync(run).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(run)) {
      expect(statSync(join(run, name)).mode & 0o777, name).toBe(0o600);
      expect(readFileSync(join(run, name)).includes(TOKEN), name).toBe(false);
    }
  });
});
