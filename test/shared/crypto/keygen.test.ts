import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readIdentityFile, toBase64, writeIdentityFile } from '../../../shared/crypto/identity-file.ts';

describe('keygen: the seed never lands where others can read it', () => {
  let kdir: string;
  beforeEach(() => {
    kdir = mkdtempSync(join(tmpdir(), 'starling-keygen-'));
  });
  afterEach(() => rmSync(kdir, { recursive: true, force: true }));

  /** The directory holds exactly `names`: no temporary file was left behind. */
  const onlyFiles = (...names: string[]) => expect(readdirSync(kdir).sort()).toEqual([...names].sort());

  it('refuses a dangling symlink without --force, and creates nothing where it points', () => {
    const key = join(kdir, 'client.key');
    const target = join(kdir, 'elsewhere.key');
    symlinkSync(target, key);
    expect(() => writeIdentityFile(key)).toThrow(`${key} already exists (pass --force to replace it)`);
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(key).isSymbolicLink()).toBe(true);
    onlyFiles('client.key');
  });

  it('--force replaces a dangling symlink itself with a regular 0600 file; the pointed-to path is not created', () => {
    const key = join(kdir, 'client.key');
    const target = join(kdir, 'elsewhere.key');
    symlinkSync(target, key);
    const id = writeIdentityFile(key, { force: true });
    const st = lstatSync(key);
    expect(st.isSymbolicLink()).toBe(false);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(existsSync(target)).toBe(false);
    expect(toBase64(readIdentityFile(key).publicKey)).toBe(toBase64(id.publicKey));
    onlyFiles('client.key');
  });

  it('--force never writes through a symlink to an existing file', () => {
    const key = join(kdir, 'client.key');
    const victim = join(kdir, 'victim.txt');
    writeFileSync(victim, 'not a key\n', { mode: 0o644 });
    symlinkSync(victim, key);
    writeIdentityFile(key, { force: true });
    expect(readFileSync(victim, 'utf8')).toBe('not a key\n');
    expect(lstatSync(key).isFile()).toBe(true);
    onlyFiles('client.key', 'victim.txt');
  });

  it('--force replaces an existing 0644 file by a new 0600 one: the old inode is never written to', () => {
    const key = join(kdir, 'client.key');
    const witness = join(kdir, 'witness');
    writeFileSync(key, 'old content\n');
    chmodSync(key, 0o644);
    // a second name for the old file: whatever is written into that inode shows here
    linkSync(key, witness);
    const id = writeIdentityFile(key, { force: true });
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(key).ino).not.toBe(statSync(witness).ino);
    expect(readFileSync(witness, 'utf8')).toBe('old content\n');
    expect(readFileSync(witness, 'utf8')).not.toContain(toBase64(id.seed));
    expect(toBase64(readIdentityFile(key).seed)).toBe(toBase64(id.seed));
    onlyFiles('client.key', 'witness');
  });

  it('a failed write leaves no temporary file and says which key file', () => {
    const key = join(kdir, 'client.key');
    mkdirSync(key);
    writeFileSync(join(key, 'inside'), 'x');
    expect(() => writeIdentityFile(key, { force: true })).toThrow(`cannot write key file ${key}`);
    onlyFiles('client.key');
    const missingDir = join(kdir, 'no-such-dir', 'client.key');
    expect(() => writeIdentityFile(missingDir)).toThrow(`cannot write key file ${missingDir}`);
    onlyFiles('client.key');
  });
});
