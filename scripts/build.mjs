#!/usr/bin/env node
// `npm run build` (and `npm pack`, through prepack): the library as JavaScript and type
// declarations in dist/, from a clean folder so no file of a removed source is shipped. The
// kernels' WebAssembly is copied beside the compiled kernels.js, which finds it relative to
// itself, as the sources do.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_FILES, ensureKernels } from './kernels.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = new URL('../dist/', import.meta.url);

rmSync(dist, { recursive: true, force: true });
const kernels = ensureKernels(true);
if (kernels !== 0) process.exit(kernels);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compile = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compile.status !== 0) process.exit(compile.status ?? 1);
const target = new URL('shared/engine/simd/build/', dist);
mkdirSync(target, { recursive: true });
for (const file of KERNEL_FILES) copyFileSync(file, new URL(basename(fileURLToPath(file)), target));
