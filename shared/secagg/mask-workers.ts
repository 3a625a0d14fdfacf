import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { applyMasks, type MaskTerm } from './mask-kernel.ts';
import { agree, KEY_BYTES } from '../crypto/primitives.ts';
import { type AgreementRequest, type MaskReply, packAgreements, packTerms, type WorkerJob } from './mask-job.ts';

/**
 * Mask expansion off the main thread: a small pool of worker threads, shared by everything in
 * the process that masks or unmasks (in a simulation, every virtual client and the
 * coordinator), that applies a list of masks to a vector: target ← target ± PRG(key_j).
 *
 * The vector is copied into a SharedArrayBuffer and cut into one block-aligned range per
 * worker, so even a single client's masking uses every core, and nothing is copied back and
 * forth per term. The result is the bytes applyMasks() gives on the calling thread (addition mod
 * 2^32 does not care who adds which term, or in what order), and that is the fallback whenever
 * the pool cannot help: small jobs, where posting costs more than the work, and a pool whose
 * workers failed to start or died (a warning says so, once).
 *
 * The same workers compute batches of X25519 agreements (agreeAll), the other per-neighbour
 * cost of a round, for the same reason: in a simulation every client's share-keys phase
 * otherwise runs on the one main thread.
 *
 * Workers start on first use (or warm()), at most availableParallelism() of them and at most
 * MAX_MASK_WORKERS (each costs ~30 MiB: a 64-core coordinator needs no 64 of them), and are
 * unref'd whenever they hold no job, so an idle pool never keeps a process alive; close() ends them.
 */

/** The most mask workers a process starts: masking a round's vectors saturates memory bandwidth long before 8 cores. */
const MAX_MASK_WORKERS = 8;

export interface MaskWorkersOptions {
  /** Worker threads; default and cap min(availableParallelism(), MAX_MASK_WORKERS). */
  readonly size?: number;
  /**
   * Jobs smaller than this many keystream words (vector words × masks) run on the calling
   * thread. The default, 2^18 words (1 MiB of ChaCha20, roughly 0.3–0.8 ms), is about where a
   * round trip through a worker and the two copies of the vector stop dominating.
   */
  readonly syncBelow?: number;
  /** The worker's module; the default is this directory's mask worker (tests point it elsewhere to see a pool fail). */
  readonly entry?: URL;
}

const DEFAULT_SYNC_BELOW = 1 << 18;
/** No worker gets a range shorter than this (64 KiB): shorter ones cost more in messages than they save. */
const MIN_RANGE_WORDS = 16_384;
/** Ranges start on a 64-byte ChaCha20 block (16 words), so no worker reads a partial block twice. */
const BLOCK_WORDS = 16;

/**
 * From the sources (tsx, vitest) a worker starts at the .mjs shim that registers tsx before the
 * TypeScript worker loads; the compiled library (dist/) starts the compiled worker, without tsx.
 */
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './mask-worker.mjs' : './mask-worker.js', import.meta.url);

/** Agreements go to the workers in batches of at least this many (fewer run on the calling thread): each costs ~65 µs, a trip ~50 µs. */
const AGREE_ON_WORKERS_FROM = 8;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A worker could not run a job (it failed to start, died, or the pool closed): the caller masks on its own thread. */
class PoolUnavailable extends Error {}

interface Pending {
  readonly slot: Slot;
  resolve(reply: MaskReply): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

export class MaskWorkers {
  readonly size: number;
  private readonly syncBelow: number;
  private readonly entry: URL;
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: string | undefined;
  private closed = false;

  constructor(options: MaskWorkersOptions = {}) {
    const cores = Math.min(availableParallelism(), MAX_MASK_WORKERS);
    this.size = Math.max(1, Math.min(cores, Math.floor(options.size ?? cores)));
    this.syncBelow = Math.max(0, options.syncBelow ?? DEFAULT_SYNC_BELOW);
    this.entry = options.entry ?? WORKER_ENTRY;
  }

  /** Why the pool stopped being used (its workers failed), if it did: every job then runs on the calling thread. */
  get failed(): string | undefined {
    return this.failure;
  }

  /**
   * Starts the workers now, so the first job does not wait for them (a round's first phase
   * calls it for its third). `work`: the job expected (vector words × masks); a job that small
   * would run on the calling thread anyway, so then no worker is started.
   */
  warm(work = Number.POSITIVE_INFINITY): void {
    if (work < this.syncBelow) return;
    while (this.usable() && this.slots.length < this.size) this.spawn();
  }

  /**
   * target ← target ± PRG(key_j) for every term (in place; target is returned): in the
   * workers when the job is large enough and the pool works, else right here. Either way the
   * same bytes.
   */
  async apply(target: Uint32Array, terms: readonly MaskTerm[]): Promise<Uint32Array> {
    if (terms.length === 0 || target.length === 0) return target;
    if (!this.usable() || target.length * terms.length < this.syncBelow) {
      applyMasks(target, terms);
      return target;
    }
    this.warm(target.length * terms.length);
    const shared = new Uint32Array(new SharedArrayBuffer(target.byteLength));
    shared.set(target);
    const packed = packTerms(terms);
    try {
      await Promise.all(this.ranges(target.length).map(([start, end]) => this.post({ kind: 'mask', buffer: shared.buffer, start, end, ...packed })));
    } catch (e) {
      if (!(e instanceof PoolUnavailable)) throw e;
      // target is untouched until every range is done, so this is the whole job, done once
      applyMasks(target, terms);
      return target;
    }
    target.set(shared);
    return target;
  }

  /**
   * X25519 agreements, agree() for each request (null where it fails): on the workers when
   * there are enough to be worth the trip, else right here. A client makes two per neighbour
   * in its share-keys phase, and in a simulation every client's run on the one main thread.
   */
  async agreeAll(requests: readonly AgreementRequest[]): Promise<(Uint8Array | null)[]> {
    const here = () => requests.map((r) => agree(r.ours, r.theirs));
    if (!this.usable() || requests.length < AGREE_ON_WORKERS_FROM) return here();
    this.warm();
    const parts = Math.min(this.size, Math.ceil(requests.length / AGREE_ON_WORKERS_FROM));
    const step = Math.ceil(requests.length / parts);
    const batches: AgreementRequest[][] = [];
    for (let i = 0; i < requests.length; i += step) batches.push(requests.slice(i, i + step));
    try {
      const replies = await Promise.all(batches.map((b) => this.post({ kind: 'agree', ...packAgreements(b) })));
      return replies.flatMap((reply, j) => {
        const { secrets, ok } = reply;
        if (!secrets || !ok || ok.length !== batches[j]!.length) throw new PoolUnavailable('a worker answered an agree job without its results');
        return Array.from(ok, (good, i) => (good ? secrets.slice(KEY_BYTES * i, KEY_BYTES * (i + 1)) : null));
      });
    } catch (e) {
      if (!(e instanceof PoolUnavailable)) throw e;
      return here();
    }
  }

  /** Ends the workers; jobs still running finish on their callers' threads. The pool is not used again. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.slots.splice(0).map((s) => s.worker);
    this.settleAll(new PoolUnavailable('the mask workers were closed'));
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private usable(): boolean {
    return !this.closed && this.failure === undefined;
  }

  /** [start, end) ranges covering [0, words): one per worker, block-aligned, none shorter than MIN_RANGE_WORDS (but the last). */
  private ranges(words: number): [number, number][] {
    const parts = Math.max(1, Math.min(this.size, Math.floor(words / MIN_RANGE_WORDS)));
    const step = Math.ceil(words / parts / BLOCK_WORDS) * BLOCK_WORDS;
    const out: [number, number][] = [];
    for (let start = 0; start < words; start += step) out.push([start, Math.min(words, start + step)]);
    return out;
  }

  private post(work: DistributiveOmit<WorkerJob, 'id'>): Promise<MaskReply> {
    if (!this.usable() || this.slots.length === 0) return Promise.reject(new PoolUnavailable(this.failure ?? 'the mask workers were closed'));
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const job = { id: this.nextId++, ...work } as WorkerJob;
    return new Promise<MaskReply>((resolve, reject) => {
      this.pending.set(job.id, { slot, resolve, reject });
      // a worker with work keeps the process alive until it answers; an idle one does not
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage(job);
    });
  }

  private finish(id: number, outcome: MaskReply | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (--p.slot.inFlight === 0) p.slot.worker.unref();
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private settleAll(outcome: Error): void {
    for (const id of [...this.pending.keys()]) this.finish(id, outcome);
  }

  /** Gives up on the pool for good: its jobs, and every later one, run on the calling threads. */
  private fail(reason: string): void {
    if (this.closed || this.failure !== undefined) return;
    // a worker that cannot start (a build without the compiled worker, a missing loader) or dies
    // is a fault of this process, not of the round: masking goes on, on the calling threads
    this.failure = reason;
    process.emitWarning(`secure aggregation's mask workers stopped (${reason}); masks are expanded on the main thread from now on`, {
      code: 'STARLING_MASK_WORKERS',
    });
    const workers = this.slots.splice(0).map((s) => s.worker);
    this.settleAll(new PoolUnavailable(reason));
    for (const w of workers) void w.terminate();
  }

  private spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(this.entry);
    } catch (e) {
      return this.fail(`a mask worker could not start: ${(e as Error).message}`);
    }
    const slot: Slot = { worker, inFlight: 0 };
    worker.unref();
    this.slots.push(slot);
    worker.on('message', (reply: MaskReply) => this.finish(reply.id, reply.error === undefined ? reply : new PoolUnavailable(reply.error)));
    worker.on('error', (err) => this.fail(err.message));
    worker.on('exit', (code) => this.fail(`a mask worker exited with code ${code}`));
  }
}

let shared: MaskWorkers | undefined;

/** The process's pool, made on first use: every client and the coordinator in one process share it. */
export function maskWorkers(): MaskWorkers {
  shared ??= new MaskWorkers();
  return shared;
}
