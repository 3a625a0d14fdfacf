import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllowlist, readIdentityFile, toBase64, writeIdentityFile } from '../../../shared/crypto/identity-file.ts';
import { signDetached, verifyDetached } from '../../../shared/crypto/primitives.ts';
import nacl from 'tweetnacl';

const dir = mkdtempSync(join(tmpdir(), 'starling-keys-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('identity key files', () => {
  it('round-trip with mode 0600; the key signs as tweetnacl verifies', () => {
    const path = join(dir, 'a.key');
    const written = writeIdentityFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const read = readIdentityFile(path);
    expect(toBase64(read.publicKey)).toBe(toBase64(written.publicKey));
    const msg = new TextEncoder().encode('round 3');
    const sig = signDetached(msg, read.seed);
    expect(nacl.sign.detached.verify(msg, sig, read.publicKey)).toBe(true);
    expect(verifyDetached(msg, sig, read.publicKey)).toBe(true);
    sig[0]! ^= 1;
    expect(verifyDetached(msg, sig, read.publicKey)).toBe(false);
    expect(() => writeIdentityFile(path)).toThrow(/already exists \(pass --force/);
  });

  it('refuses wrong permissions, a wrong version, bad lengths and a mismatched key, each with a clear message', () => {
    const path = join(dir, 'b.key');
    writeIdentityFile(path);
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    chmodSync(path, 0o644);
    expect(() => readIdentityFile(path)).toThrow(/has mode 0644; it must be readable by its owner only \(chmod 600/);
    const variant = (name: string, change: Record<string, unknown>) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify({ ...doc, ...change }), { mode: 0o600 });
      return p;
    };
    expect(() => readIdentityFile(variant('v2.key', { version: 2 }))).toThrow(/has version 2; this Starling reads version 1/);
    expect(() => readIdentityFile(variant('short.key', { seed: Buffer.alloc(16).toString('base64') }))).toThrow(/seed in .* decodes to 16 bytes, expected 32/);
    expect(() => readIdentityFile(variant('mismatch.key', { publicKey: Buffer.alloc(32, 7).toString('base64') }))).toThrow(
      /public key does not belong to the seed/,
    );
    expect(() => readIdentityFile(variant('junk.key', { seed: '!!!' }))).toThrow(/is not base64/);
    expect(() => readIdentityFile(join(dir, 'none.key'))).toThrow(/does not exist \(make one with `npx starling keygen/);
  });

  it('parses allowlists with comments and names; a bad line is named', () => {
    const k1 = toBase64(Buffer.alloc(32, 1));
    const k2 = toBase64(Buffer.alloc(32, 2));
    const list = parseAllowlist(`# hospital sites\n${k1} st-mary\n\n${k2}   # no name\n`, 'allow.txt');
    expect([...list.entries()]).toEqual([
      [k1, 'st-mary'],
      [k2, 'line 4'],
    ]);
    expect(() => parseAllowlist(`${k1}\nAAAA\n`, 'allow.txt')).toThrow(/allow.txt:2: the key decodes to 3 bytes, expected 32/);
    // a key written without its '=' padding is stored canonically, so it still matches
    expect(parseAllowlist(`${k1.replace(/=+$/, '')} site\n`, 'allow.txt').has(k1)).toBe(true);
  });
});
