import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { coordinatorSecurity } from '../../coordinator/coordinator.ts';
import { writeIdentityFile } from '../../shared/crypto/identity-file.ts';
import { JOIN_TOKEN_ENV } from '../../shared/crypto/join-token.ts';
import { loadRunConfig } from '../../shared/config.ts';

const TOKEN = 'correct horse battery staple';
const dir = mkdtempSync(join(tmpdir(), 'starling-join-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());
const key = join(dir, 'coordinator.key');
writeIdentityFile(key);

function tokenFile(name: string, content: string, mode: number): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

describe("the coordinator's join token", () => {
  it('comes from joinTokenFile (a config key and --join-token-file), trimmed', () => {
    const file = tokenFile('join.token', `${TOKEN}\n`, 0o600);
    expect(coordinatorSecurity(loadRunConfig(undefined, { key, joinTokenFile: file }))!.admission.joinToken).toBe(TOKEN);
    const yaml = join(dir, 'run.yaml');
    writeFileSync(yaml, `key: ${key}\njoinTokenFile: ${file}\n`);
    expect(coordinatorSecurity(loadRunConfig(yaml))!.admission.joinToken).toBe(TOKEN);
  });

  it('comes from STARLING_JOIN_TOKEN when the config names none; the config wins over it', () => {
    vi.stubEnv(JOIN_TOKEN_ENV, TOKEN);
    expect(coordinatorSecurity(loadRunConfig(undefined, { key }))!.admission.joinToken).toBe(TOKEN);
    expect(coordinatorSecurity(loadRunConfig(undefined, { key, joinToken: 'the flag token, long enough' }))!.admission.joinToken).toBe(
      'the flag token, long enough',
    );
    vi.stubEnv(JOIN_TOKEN_ENV, 'too short');
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key }))).toThrow(
      /the join token from STARLING_JOIN_TOKEN has 9 characters; a join token needs at least 16/,
    );
  });

  it('refuses a token file others can read, an empty one, and a token given twice', () => {
    const open = tokenFile('open.token', TOKEN, 0o644);
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key, joinTokenFile: open }))).toThrow(
      `join token file ${open} has mode 0644; it must be readable by its owner only (chmod 600 ${open})`,
    );
    const empty = tokenFile('empty.token', '\n', 0o600);
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key, joinTokenFile: empty }))).toThrow(`join token file ${empty} is empty`);
    const file = tokenFile('both.token', TOKEN, 0o600);
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key, joinToken: TOKEN, joinTokenFile: file }))).toThrow(/keep one/);
  });

  it('says every way in when there is none', () => {
    vi.stubEnv(JOIN_TOKEN_ENV, ''); // whatever the shell running the tests has set
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key }))).toThrow(
      `no client could join: pass --allow FILE (client public keys) and/or a join token (--join-token-file FILE, or ${JOIN_TOKEN_ENV})`,
    );
  });
});
