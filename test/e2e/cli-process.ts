import { type ChildProcess, spawn } from 'node:child_process';

const BIN = new URL('../../bin/starling.mjs', import.meta.url).pathname;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `starling <args>` as a child process (killed after `timeoutMs`; `env` added to this
 * process's environment): its exit, output, and the process itself.
 */
export function starling(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
): { done: Promise<Run>; stdout: () => string; child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, stdout: () => stdout, child };
}

/** The round objects a finished `--json` run printed (without the summary it ends with). */
export function jsonRounds<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{"round"'))
    .map((l) => JSON.parse(l) as T);
}

/** The rounds a `--json` run has printed so far. */
export function printedRounds(run: { stdout: () => string }): { round: number; accuracy: number | null }[] {
  return run
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{"round"'))
    .map((l) => JSON.parse(l) as { round: number; accuracy: number | null });
}

/** Resolves once a `--json` run has printed round `round` (or the process ends). */
export async function untilRound(run: ReturnType<typeof starling>, round: number): Promise<void> {
  let ended = false;
  void run.done.then(() => {
    ended = true;
  });
  while (!ended && !printedRounds(run).some((r) => r.round >= round)) await new Promise((r) => setTimeout(r, 10));
}
