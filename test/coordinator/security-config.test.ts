import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { coordinatorSecurity, isLoopback } from '../../coordinator/coordinator.ts';
import { toBase64, writeIdentityFile } from '../../shared/crypto/identity-file.ts';
import { generateIdentity } from '../../shared/crypto/primitives.ts';
import { loadRunConfig } from '../../shared/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'coordinator.key');
writeIdentityFile(key);
const allow = join(dir, 'clients.txt');
writeFileSync(allow, `${toBase64(generateIdentity().publicKey)} site\n`);

describe('coordinator security settings', () => {
  it('refuses --insecure off loopback, and allows it on loopback', () => {
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { insecure: true, host: '0.0.0.0' }))).toThrow(
      /refused when listening on 0.0.0.0 \(loopback only\)/,
    );
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { insecure: true, host: '192.168.1.5' }))).toThrow(/loopback only/);
    expect(coordinatorSecurity(loadRunConfig(undefined, { insecure: true }))).toBeUndefined();
    expect(['127.0.0.1', '127.9.9.9', '::1', 'localhost'].every(isLoopback)).toBe(true);
  });

  it('needs an identity and a way in, each with a message that says what to do', () => {
    expect(() => coordinatorSecurity(loadRunConfig(undefined, {}))).toThrow(/needs an identity: pass --key FILE \(make one with `npx starling keygen/);
    expect(() => coordinatorSecurity(loadRunConfig(undefined, { key }))).toThrow(/no client could join: pass --allow FILE/);
    expect(() => loadRunConfig(undefined, { key, joinToken: 'short' })).toThrow(/joinToken: a join token needs at least 16 characters/);
    const sec = coordinatorSecurity(loadRunConfig(undefined, { key, allow, joinToken: 'sixteen chars ok!' }))!;
    expect(sec.admission.allowlist!.size).toBe(1);
    expect(sec.admission.joinToken).toBe('sixteen chars ok!');
  });
});
