import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOIN_TOKEN_ENV, readJoinTokenFile, resolveJoinToken } from '../../../shared/crypto/join-token.ts';

const TOKEN = 'correct horse battery staple';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'starling-join-token-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

/** A token file with `content`, created with `mode` (chmod too, so the umask does not decide). */
function tokenFile(content: string, mode = 0o600, name = 'join.token'): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

describe('the join token', () => {
  it('is read from a file, trimmed of surrounding whitespace and the newline', () => {
    const file = tokenFile(`  ${TOKEN}\n\n`);
    expect(readJoinTokenFile(file)).toBe(TOKEN);
    expect(resolveJoinToken({ file, env: {} })).toBe(TOKEN);
  });

  it('is read from STARLING_JOIN_TOKEN when neither a token nor a file is given', () => {
    expect(resolveJoinToken({ env: { [JOIN_TOKEN_ENV]: `${TOKEN}\n` } })).toBe(TOKEN);
    // process.env is the default source
    vi.stubEnv(JOIN_TOKEN_ENV, TOKEN);
    expect(resolveJoinToken({})).toBe(TOKEN);
  });

  it('is absent when given nowhere (an empty variable counts as unset)', () => {
    expect(resolveJoinToken({ env: {} })).toBeUndefined();
    expect(resolveJoinToken({ env: { [JOIN_TOKEN_ENV]: '  ' } })).toBeUndefined();
  });

  it('prefers the flag or the file to the environment, and refuses both a token and a file', () => {
    const env = { [JOIN_TOKEN_ENV]: 'the environment token, long' };
    expect(resolveJoinToken({ token: TOKEN, env })).toBe(TOKEN);
    expect(resolveJoinToken({ file: tokenFile(TOKEN), env })).toBe(TOKEN);
    expect(() => resolveJoinToken({ token: TOKEN, file: tokenFile(TOKEN), env })).toThrow(/both a join token .* and a join token file .* are given; keep one/);
  });

  it('refuses a token file others can read, naming the file and the fix', () => {
    const file = tokenFile(TOKEN, 0o644);
    expect(() => resolveJoinToken({ file, env: {} })).toThrow(
      `join token file ${file} has mode 0644; it must be readable by its owner only (chmod 600 ${file})`,
    );
    chmodSync(file, 0o640);
    expect(() => readJoinTokenFile(file)).toThrow(/has mode 0640; it must be readable by its owner only/);
  });

  it('refuses an empty, a missing or a non-regular token file, naming it', () => {
    const empty = tokenFile(' \n', 0o600, 'empty.token');
    expect(() => readJoinTokenFile(empty)).toThrow(`join token file ${empty} is empty`);
    const missing = join(dir, 'missing.token');
    expect(() => readJoinTokenFile(missing)).toThrow(`join token file ${missing} does not exist`);
    expect(() => readJoinTokenFile(dir)).toThrow(`join token file ${dir} is not a regular file`);
  });

  it('refuses a token shorter than 16 characters from any source, without echoing it', () => {
    const file = tokenFile('short secret\n');
    expect(() => readJoinTokenFile(file)).toThrow(`the join token from join token file ${file} has 12 characters; a join token needs at least 16`);
    expect(() => resolveJoinToken({ env: { [JOIN_TOKEN_ENV]: 'short secret' } })).toThrow(/from STARLING_JOIN_TOKEN has 12 characters/);
    expect(() => resolveJoinToken({ token: 'short secret' })).toThrow(/from --join-token has 12 characters/);
    try {
      readJoinTokenFile(file);
    } catch (e) {
      expect((e as Error).message).not.toContain('short secret');
    }
  });
});
