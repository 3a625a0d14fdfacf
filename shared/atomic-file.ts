import { renameSync, writeFileSync } from 'node:fs';

/** Writes `file` through a temporary name and a rename, so a reader never sees half a file. */
export function atomicWrite(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
