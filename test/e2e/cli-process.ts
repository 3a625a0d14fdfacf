import { type ChildProcess, spawn } from 'node:child_process';

const BIN = new URL('../../bin/starling.mjs', import.meta.url).pathname;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `starling <args>` as a child process (killed after `timeoutMs`): its exit, output, and the process itself. */
export function starling(args: string[], timeoutMs = 60_000): { done: Promise<Run>; stdout: () => string; child: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
