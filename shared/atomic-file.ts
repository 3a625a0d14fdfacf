import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `file` through a temporary name and a rename, so a reader never sees half a file.
 * The temporary file is created fresh ('wx': never an existing file or a planted link) with
 * `mode` at open time, so a file that must be private (0600) is never readable by others,
 * not even for the moment between writing and a chmod; it is fsynced before the rename so a
 * crash leaves the old file or the new one, whole. The mode applies under the process umask.
 */
export function atomicWrite(file: string, data: string | Uint8Array, mode = 0o666): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let renamed = false;
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) rmSync(tmp, { force: true });
  }
}

/** atomicWrite without blocking the event loop: the write and the fsync run on libuv's threads. */
export async function atomicWriteAsync(file: string, data: Uint8Array, mode = 0o666): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let renamed = false;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) await rm(tmp, { force: true });
  }
}

/** writeSync may write less than asked: loop until every byte is down. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off, bytes.byteLength - off);
}
