/**
 * The connection-scale benchmark: what a coordinator costs per connected client. The
 * coordinator is its own process (`starling coordinator`, secure channel with an allowlist,
 * MNIST MLP, C = 0.1, 2 rounds); the clients are real ClientAgent instances, many to a process
 * (bench/agents-host.ts, e.g. 4 processes × 250 agents), each with its own WebSocket over
 * loopback. For 10 and for 1,000 clients: the coordinator's peak RSS (its own node process's
 * high-water mark, which history.json records), its RSS once every client is connected, the
 * time from "connect" to all of them welcomed (handshakes included), and seconds per round.
 *
 *   npx tsx bench/ws-scale-bench.ts                    # 10 and 1,000 clients, 3 runs each
 *   npx tsx bench/ws-scale-bench.ts --quick            # one run each
 *   npx tsx bench/ws-scale-bench.ts --clients 1000 --insecure   # what the handshakes cost
 *   npx tsx bench/ws-scale-bench.ts --quick --clients 1000 --cpu-prof /tmp/prof   # where the coordinator's time goes
 *
 * Prints a JSON array on stdout (one object per client count, then the ratio); progress on
 * stderr. Linux only (reads /proc/<pid>/status).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { runDirectories, type RunHistory } from '../coordinator/history.ts';
import { toBase64 } from '../shared/crypto/identity-file.ts';
import { makeSimulationKeys } from '../simulations/keys.ts';
import { freePort, waitForHealth } from '../simulations/loopback.ts';
import { virtualClientName } from '../simulations/virtual-clients.ts';
import { median, spread } from './stats.ts';

const BIN = new URL('../bin/starling.mjs', import.meta.url).pathname;
const HOST = new URL('./agents-host.ts', import.meta.url).pathname;
const MiB = 2 ** 20;

export interface WsScaleOptions {
  readonly clients: readonly number[];
  readonly runs: number;
  /** Agents per client process at most (the processes share the clients evenly). */
  readonly perHost: number;
  readonly rounds: number;
  /** Plaintext frames, no handshake: the difference in connect time is the handshakes' cost. */
  readonly insecure?: boolean;
  /** Write a CPU profile of each coordinator process into this folder (node --cpu-prof), to see where its time goes. */
  readonly cpuProfDir?: string;
}

export interface WsScaleRun {
  readonly peakRssBytes: number;
  /** The coordinator's RSS once it had started and listened, before any client. */
  readonly idleRssBytes: number;
  /** Its RSS when every client had been welcomed (sampled as /status first reported them all). */
  readonly connectedRssBytes: number;
  readonly connectSeconds: number;
  /** CPU the coordinator's process spent over the same span: its share of the handshakes and hellos. */
  readonly connectCpuSeconds: number;
  readonly secondsPerRound: number;
  readonly roundSeconds: readonly number[];
  readonly accuracy: number | null;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM); 0 once the process is gone. */
function procBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 once it is gone. On a
 * shared, loaded machine the CPU a phase cost is steadier than its wall-clock time.
 */
function procCpuSeconds(pid: number): number {
  try {
    // the fields after the command name, which is in parentheses and may hold spaces: state is the first, utime the 12th, stime the 13th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux build Node supports. */
const CLOCK_TICKS = 100;

/** How many clients the coordinator's /status lists as connected (0 while it cannot answer). */
async function connectedCount(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`);
    const body = (await res.json()) as { clients?: unknown[] };
    return body.clients?.length ?? 0;
  } catch {
    return 0;
  }
}

/** A client process: resolves `ready` at its first line, `done` with its last; `go` starts its agents. */
function startHost(args: readonly string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', HOST, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const events: Record<string, unknown>[] = [];
  let wake = () => {};
  lines.on('line', (l) => {
    events.push(JSON.parse(l) as Record<string, unknown>);
    wake();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = async (key: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const e = events.find((x) => x[key] === true);
      if (e) return e;
      const code = await Promise.race([new Promise<'line'>((r) => (wake = () => r('line'))), exited]);
      if (code !== 'line' && !events.some((x) => x[key] === true)) throw new Error(`a client process exited (${code}) before "${key}"`);
    }
  };
  const said = (key: string) => events.some((x) => x[key] === true);
  return { child, ready: waitFor('ready'), done: () => waitFor('done'), said, go: () => child.stdin!.end('go\n') };
}

async function oneRun(clients: number, options: WsScaleOptions): Promise<WsScaleRun> {
  const out = mkdtempSync(join(tmpdir(), 'starling-ws-scale-'));
  const keys = options.insecure ? undefined : makeSimulationKeys(clients, (i) => virtualClientName(i, clients));
  const port = await freePort();
  const config = join(out, 'run.yaml');
  // every client connects at once from 127.0.0.1: the unauthenticated caps must admit them all, and a
  // thousand handshakes queued on a small machine need more than the default 10 s
  const admitAll = clients + 64;
  writeFileSync(
    config,
    [
      `clients: ${clients}`,
      `rounds: ${options.rounds}`,
      'fractionFit: 0.1',
      `maxUnauthenticated: ${admitAll}`,
      `maxUnauthenticatedPerAddress: ${admitAll}`,
      'handshakeTimeoutMs: 120000',
      'waitForClientsTimeoutMs: 300000',
      'statusEndpoint: true',
      '',
    ].join('\n'),
  );
  const args = ['coordinator', '--config', config, '--port', String(port), '--json', '--out', out, '--log-level', 'error', '--engine', 'simd'];
  if (keys) args.push('--key', join(keys.dir, 'coordinator.key'), '--allow', join(keys.dir, 'allow.txt'));
  else args.push('--insecure');
  // the node process itself (bin/starling.mjs registers tsx in-process): its pid is the coordinator's
  const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const coordinator = spawn(process.execPath, [...profile, BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => coordinator.on('close', resolve));
  const pid = coordinator.pid!;
  let sampledPeak = 0;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, procBytes(pid, 'VmRSS'))), 50);
  const hosts: ReturnType<typeof startHost>[] = [];
  try {
    await waitForHealth(port, 60_000);
    const idleRssBytes = procBytes(pid, 'VmRSS');
    const processes = Math.ceil(clients / options.perHost);
    const security = keys ? ['--keys', keys.dir, '--coordinator-key', toBase64(keys.coordinator.identity.publicKey)] : ['--insecure'];
    for (let h = 0; h < processes; h++) {
      const from = Math.floor((h * clients) / processes);
      const to = Math.floor(((h + 1) * clients) / processes);
      const range = ['--url', `ws://127.0.0.1:${port}`, '--clients', String(clients), '--from', String(from), '--to', String(to)];
      hosts.push(startHost([...range, ...security]));
    }
    await Promise.all(hosts.map((h) => h.ready));
    const started = performance.now();
    const cpuBefore = procCpuSeconds(pid);
    for (const h of hosts) h.go();
    while ((await connectedCount(port)) < clients) {
      if (coordinator.exitCode !== null) throw new Error(`the coordinator exited (${coordinator.exitCode}) before all clients connected`);
      // a client process whose agents all ended before the others connected: its failures say why
      const early = hosts.find((h) => h.said('done'));
      if (early) throw new Error(`a client process finished before all clients connected: ${JSON.stringify(await early.done())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const connectSeconds = (performance.now() - started) / 1000;
    const connectCpuSeconds = procCpuSeconds(pid) - cpuBefore;
    const connectedRssBytes = procBytes(pid, 'VmRSS');
    const outcomes = await Promise.all(hosts.map((h) => h.done()));
    const failed = outcomes.reduce((n, o) => n + Number(o.failed), 0);
    if (failed) throw new Error(`${failed} client agents failed: ${String(outcomes.find((o) => o.firstError)?.firstError)}`);
    const code = await exited;
    if (code !== 0) throw new Error(`the coordinator exited with ${code}`);
    const [dir] = runDirectories(out);
    const h = JSON.parse(readFileSync(join(out, dir!, 'history.json'), 'utf8')) as RunHistory;
    const roundSeconds = h.rounds.map((r) => r.seconds);
    return {
      // the process's own high-water mark (maxRSS = VmHWM), never below what the sampler saw
      peakRssBytes: Math.max(h.peakRssBytes, sampledPeak),
      idleRssBytes,
      connectedRssBytes,
      connectSeconds,
      connectCpuSeconds,
      secondsPerRound: median(roundSeconds),
      roundSeconds,
      accuracy: h.rounds.at(-1)?.accuracy ?? null,
    };
  } finally {
    clearInterval(sampler);
    for (const h of hosts) h.child.kill('SIGKILL');
    // SIGKILL: a SIGTERM'd coordinator would stop cleanly and write its run files into the folder removed next
    coordinator.kill('SIGKILL');
    await exited;
    rmSync(out, { recursive: true, force: true });
    keys?.dispose();
  }
}

/** One object per client count (medians and spreads over the runs), then the RSS ratio of the largest count to the smallest. */
export async function wsScaleBench(options: WsScaleOptions) {
  const report: Record<string, unknown>[] = [];
  const peaks = new Map<number, number[]>();
  for (const clients of options.clients) {
    const runs: WsScaleRun[] = [];
    for (let r = 0; r < options.runs; r++) {
      const run = await oneRun(clients, options);
      runs.push(run);
      process.stderr.write(
        `ws-scale: ${clients} clients${options.insecure ? ' (insecure)' : ''}, run ${r + 1}/${options.runs}: ` +
          `peak RSS ${(run.peakRssBytes / MiB).toFixed(0)} MiB (idle ${(run.idleRssBytes / MiB).toFixed(0)}, ` +
          `all connected ${(run.connectedRssBytes / MiB).toFixed(0)}), connected in ${run.connectSeconds.toFixed(2)} s ` +
          `(coordinator CPU ${run.connectCpuSeconds.toFixed(2)} s), ` +
          `${run.roundSeconds.map((s) => s.toFixed(2)).join(' / ')} s per round\n`,
      );
    }
    peaks.set(
      clients,
      runs.map((r) => r.peakRssBytes),
    );
    report.push({
      bench: 'ws-scale',
      secure: !options.insecure,
      clients,
      clientProcesses: Math.ceil(clients / options.perHost),
      rounds: options.rounds,
      fractionFit: 0.1,
      runs: options.runs,
      coordinatorPeakRssBytes: spread(runs.map((r) => r.peakRssBytes)),
      coordinatorIdleRssBytes: spread(runs.map((r) => r.idleRssBytes)),
      coordinatorConnectedRssBytes: spread(runs.map((r) => r.connectedRssBytes)),
      connectSeconds: spread(runs.map((r) => r.connectSeconds)),
      coordinatorConnectCpuSeconds: spread(runs.map((r) => r.connectCpuSeconds)),
      secondsPerRound: spread(runs.map((r) => r.secondsPerRound)),
      roundSecondsByRun: runs.map((r) => r.roundSeconds),
      accuracyByRun: runs.map((r) => r.accuracy),
      machine: `${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, node ${process.version}`,
    });
  }
  const counts = [...peaks.keys()].sort((a, b) => a - b);
  if (counts.length >= 2) {
    const small = peaks.get(counts[0]!)!;
    const large = peaks.get(counts.at(-1)!)!;
    report.push({
      bench: 'ws-scale-ratio',
      secure: !options.insecure,
      of: `${counts.at(-1)} / ${counts[0]} clients`,
      // the ratio of the medians, and the widest and narrowest ratio any pairing of runs gives
      peakRssRatio: median(large) / median(small),
      peakRssRatioRange: [Math.min(...large) / Math.max(...small), Math.max(...large) / Math.min(...small)],
      goal: 1.5,
    });
  }
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '10,1000' },
      runs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      'per-host': { type: 'string', default: '250' },
      rounds: { type: 'string', default: '2' },
      insecure: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
  });
  const clients = values.clients.split(',').map(Number);
  const runs = values.quick ? 1 : Number(values.runs);
  const perHost = Number(values['per-host']);
  const rounds = Number(values.rounds);
  if (clients.some((n) => !Number.isInteger(n) || n < 1) || !(runs >= 1) || !(perHost >= 1) || !(rounds >= 1)) {
    throw new Error('usage: [--clients 10,1000] [--runs K | --quick] [--per-host 250] [--rounds 2] [--insecure] [--cpu-prof DIR]');
  }
  const report = await wsScaleBench({ clients, runs, perHost, rounds, insecure: values.insecure, cpuProfDir: values['cpu-prof'] });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
