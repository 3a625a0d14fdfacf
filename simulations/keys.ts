import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admission } from '../shared/crypto/handshake.ts';
import { readAllowlist, readIdentityFile, toBase64, writeIdentityFile } from '../shared/crypto/identity-file.ts';
import type { Identity } from '../shared/crypto/primitives.ts';

export interface SimulationKeys {
  /** The folder holding coordinator.key, one key per client and allow.txt. */
  readonly dir: string;
  readonly coordinator: { readonly identity: Identity; readonly admission: Admission };
  readonly clients: readonly Identity[];
  /** Removes the key folder. */
  dispose(): void;
}

/**
 * Keys for a simulated run, made as a deployment makes them: key files (mode 0600)
 * in a temporary folder, an allowlist of the clients' public keys, all read back
 * through the same loaders the CLI uses. The caller disposes of the folder in a
 * `finally`; one it never reaches (process.exit, an uncaught error) is removed when
 * the process exits, so private keys do not pile up in the temp directory.
 */
export function makeSimulationKeys(clients: number, names: (i: number) => string): SimulationKeys {
  const dir = mkdtempSync(join(tmpdir(), 'starling-keys-'));
  const dispose = trackUntilExit(dir);
  try {
    writeIdentityFile(join(dir, 'coordinator.key'));
    const lines: string[] = ['# clients of this simulation'];
    for (let i = 0; i < clients; i++) {
      const id = writeIdentityFile(join(dir, `${names(i)}.key`));
      lines.push(`${toBase64(id.publicKey)} ${names(i)}`);
    }
    writeFileSync(join(dir, 'allow.txt'), `${lines.join('\n')}\n`);
    return {
      dir,
      coordinator: { identity: readIdentityFile(join(dir, 'coordinator.key')), admission: { allowlist: readAllowlist(join(dir, 'allow.txt')) } },
      clients: Array.from({ length: clients }, (_, i) => readIdentityFile(join(dir, `${names(i)}.key`))),
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** Key folders made and not yet disposed of, in this process. */
const undisposed = new Set<string>();

/** Registers `dir` for removal at process exit; returns the (idempotent) function that removes it now. */
function trackUntilExit(dir: string): () => void {
  if (undisposed.size === 0) process.once('exit', removeUndisposed);
  undisposed.add(dir);
  return () => {
    undisposed.delete(dir);
    if (undisposed.size === 0) process.off('exit', removeUndisposed);
    rmSync(dir, { recursive: true, force: true });
  };
}

function removeUndisposed(): void {
  for (const dir of undisposed) rmSync(dir, { recursive: true, force: true });
  undisposed.clear();
}
