/**
 * What hostile peers cost an honest run (issue 13): the coordinator runs as its own process
 * (`starling coordinator`, secure channel, MNIST MLP), two honest client agents train in this
 * process, and one attacker does one thing beside them. For each attack: the coordinator's RSS
 * before the attack and at its peak during the run (sampled from /proc every 50 ms), the honest
 * run's median seconds per round, and whether its final weights equal the attack-free run's.
 *
 *   npx tsx bench/hostile-bench.ts            # 5 rounds per run
 *   npx tsx bench/hostile-bench.ts --rounds 3
 *
 * Prints a JSON array on stdout; progress on stderr. Linux only (reads /proc/<pid>/status).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { ClientAgent } from '../client/agent.ts';
import { openDataSource } from '../client/data-source.ts';
import { EngineTrainer } from '../client/trainer.ts';
import type { RunHistory } from '../coordinator/history.ts';
import { ClientHandshake } from '../shared/crypto/handshake.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import { SimdEngine } from '../shared/engine/simd/simd-engine.ts';
import { silentLogger } from '../shared/log.ts';
import { decodeMessage, encodeMessage } from '../shared/protocol/codec.ts';
import { fromFrame, toFrame, type FrameSealer } from '../shared/protocol/frame.ts';
import { toClientHandshakeSchema } from '../shared/protocol/handshake-messages.ts';
import { PROTOCOL_VERSION, toClientSchema } from '../shared/protocol/messages.ts';
import { freePort, waitForHealth } from '../simulations/loopback.ts';
import { makeSimulationKeys } from '../simulations/keys.ts';
import { clientFrameHeader, msgpackFitResult, msgpackFloat32, msgpackMap } from '../simulations/raw-frames.ts';
import { median } from './stats.ts';
import { runDirectories } from '../coordinator/history.ts';

const BIN = new URL('../bin/starling.mjs', import.meta.url).pathname;
const engine = SimdEngine.create();

/** An authenticated attacker: the real handshake, then raw access to its socket. */
class Attacker {
  readonly ws: WebSocket;
  private sealer: FrameSealer | undefined;
  private readonly inbox: Buffer[] = [];
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('error', () => {});
    this.ws.on('message', (d) => this.inbox.push(d as Buffer));
    this.closed = new Promise((r) => this.ws.once('close', (code) => r(code)));
  }

  get tcp(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  private async next(): Promise<Buffer> {
    while (this.inbox.length === 0) await new Promise((r) => setTimeout(r, 5));
    return this.inbox.shift()!;
  }

  async authenticate(identity: Identity, coordinatorKey: Uint8Array): Promise<void> {
    await new Promise((r) => this.ws.once('open', r));
    const hs = new ClientHandshake(identity, coordinatorKey);
    this.ws.send(encodeMessage(hs.start()));
    const reply = decodeMessage(await this.next(), toClientHandshakeSchema, 1 << 20);
    if (reply.type !== 'serverHello') throw new Error(`refused: ${reply.message}`);
    const { auth, sealer } = hs.onServerHello(reply);
    this.ws.send(encodeMessage(auth));
    this.sealer = sealer;
  }

  /** Says hello, awaits the welcome; with `awaitTask`, also the first task, whose round it returns. */
  async join(awaitTask: boolean): Promise<number> {
    this.ws.send(toFrame({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'zz-attacker' }, this.sealer!));
    fromFrame(await this.next(), toClientSchema, this.sealer!, 1 << 30);
    if (!awaitTask) return 0;
    const task = fromFrame(await this.next(), toClientSchema, this.sealer!, 1 << 30);
    return 'round' in task ? task.round : 0;
  }

  sendSealed(plain: Uint8Array): void {
    this.ws.send(this.sealer!.seal(plain));
  }
}

interface Ctx {
  readonly url: string;
  readonly port: number;
  readonly attacker: Identity;
  readonly coordinatorKey: Uint8Array;
}

/**
 * Each attack: whether the attacker is a client of the run (the coordinator then waits for 3),
 * whether it runs while the honest clients join (else it is over before they start), and what it does.
 */
const ATTACKS: Record<string, { inRound: boolean; concurrent?: boolean; run: (c: Ctx) => Promise<void> }> = {
  none: { inRound: false, run: async () => {} },
  'header of a 255 MB frame before hello': {
    inRound: false,
    run: async (c) => {
      const a = new Attacker(c.url);
      await a.authenticate(c.attacker, c.coordinatorKey);
      a.tcp.write(clientFrameHeader(255_000_000));
      await a.closed;
    },
  },
  'fit result with a 40,000-key metrics map': {
    inRound: true,
    concurrent: true,
    run: async (c) => {
      const a = new Attacker(c.url);
      await a.authenticate(c.attacker, c.coordinatorKey);
      const round = await a.join(true);
      a.sendSealed(msgpackFitResult(round, msgpackFloat32(1), msgpackMap(40_000)));
      await a.closed;
    },
  },
  'model-sized frame from an idle session': {
    inRound: false,
    run: async (c) => {
      const a = new Attacker(c.url);
      await a.authenticate(c.attacker, c.coordinatorKey);
      await a.join(false);
      a.tcp.write(clientFrameHeader(400_000));
      await a.closed;
    },
  },
  'flood: 300 trickling upgrades from 10 addresses for 5 s': {
    inRound: false,
    concurrent: true,
    run: async (c) => {
      let flooding = true;
      const open = new Set<Socket>();
      const attack = (n: number) => {
        if (!flooding) return;
        const s = connect({ port: c.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (n % 10)}` });
        open.add(s);
        s.on('error', () => {});
        const drip = setInterval(() => s.writable && s.write('G'), 200);
        s.once('close', () => {
          clearInterval(drip);
          open.delete(s);
          setTimeout(() => attack(n + 10), 10);
        });
      };
      for (let i = 0; i < 300; i++) attack(i);
      await new Promise((r) => setTimeout(r, 5000));
      flooding = false;
      for (const s of open) s.destroy();
    },
  },
};

function vmRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function oneRun(name: string, rounds: number) {
  const attack = ATTACKS[name]!;
  const out = mkdtempSync(join(tmpdir(), 'starling-bench-'));
  const keys = makeSimulationKeys(3, (i) => `honest-${i}`);
  const port = await freePort();
  const config = join(out, 'run.yaml');
  writeFileSync(
    config,
    `clients: ${attack.inRound ? 3 : 2}\nrounds: ${rounds}\nmaxUnauthenticated: 64\nmaxUnauthenticatedPerAddress: 16\nhandshakeTimeoutMs: 2000\n`,
  );
  const args = [
    'coordinator',
    '--config',
    config,
    '--port',
    String(port),
    '--json',
    '--out',
    out,
    '--log-level',
    'error',
    '--engine',
    'simd',
    '--key',
    join(keys.dir, 'coordinator.key'),
    '--allow',
    join(keys.dir, 'allow.txt'),
  ];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, vmRss(child.pid!))), 50);
  try {
    await waitForHealth(port);
    await new Promise((r) => setTimeout(r, 300));
    const before = vmRss(child.pid!);
    const url = `ws://127.0.0.1:${port}`;
    const coordinatorKey = keys.coordinator.identity.publicKey;
    const attacking = attack.run({ url, port, attacker: keys.clients[2]!, coordinatorKey });
    if (!attack.inRound && !attack.concurrent) await attacking;
    const honest = [0, 1].map(async (i) => {
      const data = await openDataSource({ data: { kind: 'mnist' }, shard: `${i + 1}/10`, partition: { kind: 'iid' }, seed: 42 });
      return new ClientAgent({
        url,
        name: `honest-${i}`,
        trainer: new EngineTrainer(engine, data),
        log: silentLogger,
        security: { identity: keys.clients[i]!, coordinatorKey },
        reconnect: { initialDelayMs: 200 },
      }).run();
    });
    await Promise.all([...honest, attacking]);
    if ((await exited) !== 0) throw new Error('the coordinator did not exit 0');
    const [dir] = runDirectories(out);
    const h = JSON.parse(readFileSync(join(out, dir!, 'history.json'), 'utf8')) as RunHistory;
    return {
      before,
      peak,
      secondsPerRound: median(h.rounds.slice(1).map((r) => r.seconds)),
      sha256: h.finalWeightsSha256,
      failures: h.rounds.map((r) => r.failures),
    };
  } finally {
    clearInterval(sampler);
    // SIGKILL: a SIGTERM'd coordinator would stop cleanly and write its run files into the folder removed next
    child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
    keys.dispose();
  }
}

export async function hostileBench(rounds: number) {
  const report = [];
  let baseline: string | undefined;
  for (const name of Object.keys(ATTACKS)) {
    const r = await oneRun(name, rounds);
    baseline ??= r.sha256;
    process.stderr.write(
      `hostile: ${name}: RSS ${(r.before / 2 ** 20).toFixed(0)} → peak ${(r.peak / 2 ** 20).toFixed(0)} MiB, ${r.secondsPerRound.toFixed(3)} s/round\n`,
    );
    report.push({
      bench: 'hostile',
      attack: name,
      rounds,
      coordinatorRssBeforeBytes: r.before,
      coordinatorPeakRssBytes: r.peak,
      honestSecondsPerRoundMedian: r.secondsPerRound,
      failuresByRound: r.failures,
      weightsEqualAttackFree: r.sha256 === baseline,
    });
  }
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  process.stdout.write(`${JSON.stringify(await hostileBench(Number(values.rounds)), null, 2)}\n`);
}
