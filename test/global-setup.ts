import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test cleans up what it makes; this keeps it so. Suite runs used to leave dozens of
 * `starling-keys-*` and other folders in the system temp directory.
 *
 * The run gets a private temp directory: TMPDIR, which `os.tmpdir()` reads on every call and
 * which the test workers (forked after this setup) and the CLI processes the tests spawn
 * inherit. Whatever is still in it at the end was left by this run, not by another run on the
 * same machine, so the teardown can fail naming each entry without guessing by name or time.
 * The directory is removed either way, so a failing run does not leave it behind either.
 */

/** Caches tools keep in the temp directory on purpose (tsx's compile cache, `tsx-<uid>`): not leaks. */
const TOOL_CACHES = /^tsx-\d+$/;

/** Where runs write history by default, relative to the working directory: a test must pass `out` or `writeHistory: false`. */
const REPO_RUNS = new URL('../runs', import.meta.url).pathname;

let previousTmpdir: string | undefined;
let privateTmp: string | undefined;
let runsBefore: Set<string>;

export function setup(): void {
  previousTmpdir = process.env.TMPDIR;
  privateTmp = mkdtempSync(join(tmpdir(), 'starling-test-run-'));
  process.env.TMPDIR = privateTmp;
  runsBefore = new Set(entries(REPO_RUNS));
}

export function teardown(): void {
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  const dir = privateTmp!;
  const leftInTmp = entries(dir).filter((name) => !TOOL_CACHES.test(name));
  rmSync(dir, { recursive: true, force: true });
  const leftInRuns = entries(REPO_RUNS).filter((name) => !runsBefore.has(name));
  const problems = [
    ...(leftInTmp.length ? [`tests left ${leftInTmp.length} entries in the temp directory (removed now): ${leftInTmp.join(', ')}`] : []),
    ...(leftInRuns.length ? [`tests wrote ${leftInRuns.length} entries into ${REPO_RUNS}: ${leftInRuns.join(', ')}`] : []),
  ];
  if (!problems.length) return;
  // vitest prints a teardown error but still exits 0: fail the run's exit status too
  process.exitCode = 1;
  throw new Error(`${problems.join('\n')}\nevery test must remove what it makes (rmSync in afterAll / onTestFinished, or writeHistory: false)`);
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
