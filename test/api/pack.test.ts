import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFromRepoLock } from './install-lock.ts';

/**
 * The package as a user gets it: packed (prepack builds dist/), installed from the tarball into a
 * project of its own, every examples/api/*.ts compiled there by tsc (strict, NodeNext) against
 * the installed declarations and run by node from the compiled JavaScript, and the installed
 * `starling` bin run from outside the project. Offline: everything comes from the npm cache
 * that installing this repo filled (install-lock.ts says how).
 */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(REPO, 'examples', 'api');
const { name, version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

const root = mkdtempSync(join(tmpdir(), 'starling-pack-'));
const project = join(root, 'consumer');
const installed = join(project, 'node_modules', name);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs a command to its end; a failure throws with everything it printed. */
function run(command: string, args: readonly string[], cwd: string, timeout = 240_000): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0)
    throw new Error(`${[command, ...args].join(' ')} (in ${cwd}) failed: ${r.error?.message ?? `exit ${r.status}`}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** npm: the one running this test when there is one (`npm test`, `npx vitest`), whatever the PATH holds. */
function npm(args: readonly string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  return cli?.endsWith('npm-cli.js') ? run(process.execPath, [cli, ...args], cwd) : run('npm', args, cwd);
}

/** The patterns an example promises its output matches: its `// expect-output: <regex>` lines (multiline mode). */
function promised(source: string): RegExp[] {
  return [...source.matchAll(/^\/\/ expect-output: (.+)$/gm)].map((m) => new RegExp(m[1]!, 'm'));
}

beforeAll(() => {
  npm(['pack', '--pack-destination', root], REPO);
  const tarball = join(root, readdirSync(root).find((f) => f.endsWith('.tgz'))!);
  mkdirSync(project);
  const { packageJson, lock } = installFromRepoLock(REPO, tarball);
  writeFileSync(join(project, 'package.json'), JSON.stringify(packageJson, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
  // scripts skipped: better-sqlite3's would compile its native addon for minutes, so the repo's,
  // built from the same version on this machine, is copied to where its loader looks
  npm(['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
  const addon = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  mkdirSync(dirname(join(project, addon)), { recursive: true });
  copyFileSync(join(REPO, addon), join(project, addon));
}, 400_000);

describe(`the packed ${name}`, () => {
  it('holds the compiled library with its kernels and worker, and the sources the bin runs, but no tests', () => {
    const files = [
      'dist/api/index.js',
      'dist/api/index.d.ts',
      'dist/simulations/train-worker.js',
      'dist/shared/engine/simd/build/kernels.wasm',
      'dist/shared/engine/simd/build/kernels-shared.wasm',
      'shared/engine/simd/build/kernels.wasm',
      'bin/starling.mjs',
      'cli.ts',
      'simulations/train-worker.mjs',
    ];
    expect(files.filter((f) => !existsSync(join(installed, f)))).toEqual([]);
    expect(['test', 'bench', 'shared/engine/simd/assembly'].filter((f) => existsSync(join(installed, f)))).toEqual([]);
  });

  it('runs its compiled library without tsx: no file under dist/ loads it', () => {
    const js = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? js(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
    expect(js(join(installed, 'dist')).filter((f) => /['"]tsx[/'"]/.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('its postinstall finds the kernels built and compiles nothing', () => {
    const r = spawnSync(process.execPath, ['scripts/kernels.mjs'], { cwd: installed, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('installs a `starling` command that runs from any folder', () => {
    const bin = join(project, 'node_modules', '.bin', 'starling');
    expect(run(bin, ['--version'], root).trim()).toBe(version);
    expect(run(bin, ['doctor'], root)).toMatch(/^ok {3}simd/m);
  });
});

describe('examples/api, compiled against the installed package', () => {
  const examples = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.ts'))
    .sort();

  it('all compile with tsc (strict, NodeNext) against the installed declarations', () => {
    mkdirSync(join(project, 'examples'));
    for (const f of examples) copyFileSync(join(EXAMPLES, f), join(project, 'examples', f));
    // the data files the examples read (iris.csv), where a user would keep them: beside their program's project
    for (const f of readdirSync(join(REPO, 'examples', 'data'))) copyFileSync(join(REPO, 'examples', 'data', f), join(project, f));
    const tsconfig = {
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        outDir: 'out',
        types: ['node'],
        // a user installs @types/node beside the package; the repo's stands in for it
        typeRoots: [join(REPO, 'node_modules', '@types')],
        // as every program importing @tensorflow/tfjs must: its own declarations fail a strict check (DOM types, Long).
        // The package's declarations are emitted by tsc from sources the repository's strict compile checks.
        skipLibCheck: true,
        noEmitOnError: true,
      },
      include: ['examples'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project);
  }, 180_000);

  for (const file of examples) {
    it(`${file} runs and prints what its expect-output lines promise`, () => {
      const patterns = promised(readFileSync(join(EXAMPLES, file), 'utf8'));
      expect(patterns.length, `${file} must say what it prints in // expect-output: <regex> lines`).toBeGreaterThan(0);
      const output = run(process.execPath, [join(project, 'out', file.replace(/\.ts$/, '.js'))], project, 90_000);
      for (const pattern of patterns) expect(output).toMatch(pattern);
    }, 120_000);
  }
});
