#!/usr/bin/env node
// The SIMD kernels' WebAssembly: compiled from the AssemblyScript sources when missing or older
// than them, left alone otherwise. `npm install` runs this (postinstall): a git checkout compiles
// its kernels the first time and after the sources change. The published package ships the
// kernels built and not their sources, so installing it never needs the compiler (assemblyscript
// is a dev dependency).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SIMD = new URL('../shared/engine/simd/', import.meta.url);
/** The compiled kernels, as build:kernels writes them and shared/engine/simd/kernels.ts reads them. */
export const KERNEL_FILES = ['kernels.wasm', 'kernels-shared.wasm'].map((name) => new URL(`build/${name}`, SIMD));

/** Why the kernels need compiling, or undefined when every one exists and is no older than any source. */
export function kernelsStale() {
  const missing = KERNEL_FILES.find((url) => !existsSync(url));
  if (missing) return `${fileURLToPath(missing)} is missing`;
  const assembly = new URL('assembly/', SIMD);
  const sources = existsSync(assembly) ? readdirSync(assembly).map((name) => new URL(name, assembly)) : [];
  const newest = Math.max(0, ...sources.map((url) => statSync(url).mtimeMs));
  const stale = KERNEL_FILES.find((url) => statSync(url).mtimeMs < newest);
  return stale ? `${fileURLToPath(stale)} is older than its AssemblyScript sources` : undefined;
}

/** Whether the AssemblyScript compiler is installed (a dev dependency: absent after `npm ci --omit=dev`). */
function compilerInstalled() {
  try {
    createRequire(import.meta.url).resolve('assemblyscript/package.json');
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles the kernels (npm run build:kernels) if they are stale; the exit status, 0 when nothing
 * had to be done. Without the compiler an install goes on without them (the engine says so and
 * tfjs runs every model) unless `required` (a build that ships them).
 */
export function ensureKernels(required = false) {
  const reason = kernelsStale();
  if (!reason) return 0;
  if (!compilerInstalled()) {
    process.stderr.write(
      `${reason} and the AssemblyScript compiler (a dev dependency) is not installed: ` +
        `${required ? 'cannot build them' : 'the SIMD engine stays unavailable (tfjs runs every model) until `npm install` with dev dependencies'}\n`,
    );
    return required ? 1 : 0;
  }
  process.stderr.write(`${reason}: compiling the SIMD kernels\n`);
  // inside an npm script npm_execpath names npm's own entry: run it with this node, whatever the PATH holds
  const npm = process.env.npm_execpath;
  const [command, args] = npm ? [process.execPath, [npm, 'run', 'build:kernels']] : ['npm', ['run', 'build:kernels']];
  const run = spawnSync(command, args, { cwd: new URL('..', import.meta.url), stdio: 'inherit', shell: !npm && process.platform === 'win32' });
  return run.status ?? 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = ensureKernels();
