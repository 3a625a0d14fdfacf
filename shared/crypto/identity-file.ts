import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeAll } from '../atomic-file.ts';
import { ConfigError, StarlingError } from '../errors.ts';
import { KEY_BYTES, ed25519PublicKeyOf, generateIdentity, type Identity } from './primitives.ts';

/**
 * Identity key files: JSON with a format version, the Ed25519 public key and
 * seed in base64, mode 0600. Loading checks the permissions, the version, the
 * lengths and that the public key belongs to the seed.
 */
export const KEY_FILE_VERSION = 1;

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Decodes base64 of exactly `length` bytes, or throws a ConfigError naming `what`. */
export function fromBase64(text: string, length: number, what: string): Uint8Array {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new ConfigError(`${what} is not base64: "${trimmed.slice(0, 60)}"`);
  const bytes = new Uint8Array(Buffer.from(trimmed, 'base64'));
  if (bytes.length !== length) throw new ConfigError(`${what} decodes to ${bytes.length} bytes, expected ${length}`);
  return bytes;
}

/**
 * Writes a new identity to `path` (mode 0600); refuses an existing path unless `force`.
 * The seed never lands in a file others can read: it goes into a fresh temporary file in the
 * same directory, created with mode 0600 at open (O_EXCL | O_NOFOLLOW: never an existing file
 * or a planted link), fsynced, then moved into place. With `force` a rename replaces the
 * directory entry, so an existing file's inode is never written to (a hard link to it keeps
 * its old content) and a symlink at `path` is replaced itself, never written through.
 */
export function writeIdentityFile(path: string, opts: { force?: boolean; identity?: Identity } = {}): Identity {
  if (!opts.force && occupied(path)) throw alreadyExists(path);
  const id = opts.identity ?? generateIdentity();
  const doc = { version: KEY_FILE_VERSION, type: 'ed25519', publicKey: toBase64(id.publicKey), seed: toBase64(id.seed) };
  writePrivateFile(path, `${JSON.stringify(doc, null, 2)}\n`, opts.force === true);
  return id;
}

const alreadyExists = (path: string) => new ConfigError(`${path} already exists (pass --force to replace it)`);

/** Whether anything is at `path`, a dangling symlink included (existsSync follows links and would say no). */
function occupied(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if (['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw e;
  }
}

/** Writes `text` to `path` mode 0600 through a private temporary file (writeIdentityFile says why); the temporary file never outlives the call. */
function writePrivateFile(path: string, text: string, replace: boolean): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let moved = false;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeAll(fd, Buffer.from(text, 'utf8'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (replace) {
      renameSync(tmp, path);
      moved = true;
    } else {
      linkNew(tmp, path);
    }
  } catch (cause) {
    if (cause instanceof StarlingError) throw cause;
    throw new ConfigError(`cannot write key file ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    // after a link the key has two names: drop the temporary one
    if (!moved) rmSync(tmp, { force: true });
  }
}

/**
 * Puts `tmp` at `path` only if nothing is there: link(2) fails on any existing entry, a
 * dangling symlink included, with no window between the check and the write. Filesystems
 * without hard links get a check and a rename instead.
 */
function linkNew(tmp: string, path: string): void {
  try {
    linkSync(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(path);
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'].includes(code ?? '')) throw e;
    if (occupied(path)) throw alreadyExists(path);
    renameSync(tmp, path);
  }
}

/**
 * Refuses a secret file (a key, a join token) that group or others may read, naming the
 * file and the fix: a secret others can read is no longer one. Not checked on Windows,
 * whose permission bits do not say this.
 */
export function assertOwnerOnly(path: string, what: string): void {
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError(`${what} ${path} has mode ${mode.toString(8).padStart(4, '0')}; it must be readable by its owner only (chmod 600 ${path})`);
  }
}

export function readIdentityFile(path: string): Identity {
  if (!existsSync(path)) throw new ConfigError(`key file ${path} does not exist (make one with \`npx starling keygen --out ${path}\`)`);
  assertOwnerOnly(path, 'key file');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`key file ${path} is not a Starling key file (not JSON)`, { cause });
  }
  const d = doc as { version?: unknown; type?: unknown; publicKey?: unknown; seed?: unknown };
  if (typeof doc !== 'object' || doc === null) throw new ConfigError(`key file ${path} is not a Starling key file`);
  if (d.version !== KEY_FILE_VERSION)
    throw new ConfigError(`key file ${path} has version ${String(d.version)}; this Starling reads version ${KEY_FILE_VERSION}`);
  if (d.type !== 'ed25519') throw new ConfigError(`key file ${path} holds a ${String(d.type)} key, expected ed25519`);
  if (typeof d.publicKey !== 'string' || typeof d.seed !== 'string') throw new ConfigError(`key file ${path} lacks publicKey or seed`);
  const publicKey = fromBase64(d.publicKey, KEY_BYTES, `publicKey in ${path}`);
  const seed = fromBase64(d.seed, KEY_BYTES, `seed in ${path}`);
  const derived = ed25519PublicKeyOf(seed);
  if (!Buffer.from(derived).equals(Buffer.from(publicKey))) throw new ConfigError(`key file ${path}: the public key does not belong to the seed`);
  return { publicKey, seed };
}

/**
 * An allowlist: one base64 public key per line, optionally followed by a name;
 * blank lines and `#` comments ignored. A bad line is an error naming its line number.
 */
export function parseAllowlist(text: string, source: string): Map<string, string> {
  const allowed = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [key, ...name] = line.split(/\s+/);
    // stored in canonical form: a key written without its '=' padding still matches
    allowed.set(toBase64(fromBase64(key!, KEY_BYTES, `${source}:${i + 1}: the key`)), name.join(' ') || `line ${i + 1}`);
  });
  return allowed;
}

export function readAllowlist(path: string): Map<string, string> {
  if (!existsSync(path)) throw new ConfigError(`allowlist ${path} does not exist`);
  return parseAllowlist(readFileSync(path, 'utf8'), path);
}
