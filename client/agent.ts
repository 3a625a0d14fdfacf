import { sameWeights } from '../shared/weights.ts';
import { WebSocket } from 'ws';
import { CloseCode, ConnectionClosedError, ProtocolError, RemoteError, StarlingError, errorMessage, protocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { fromFrame, plaintextSealer, toFrame, type FrameSealer } from '../shared/protocol/frame.ts';
import { decodeMessage } from '../shared/protocol/codec.ts';
import { MAX_HANDSHAKE_FRAME_BYTES, toClientHandshakeSchema, type ClientAuth, type ClientHello } from '../shared/protocol/handshake-messages.ts';
import { ClientHandshake } from '../shared/crypto/handshake.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import {
  PROTOCOL_VERSION,
  toClientSchema,
  type EvaluateTask,
  type FitTask,
  type SecAggTask,
  type SecAggWirePhase,
  type ToClient,
  type ToCoordinator,
} from '../shared/protocol/messages.ts';
import { SecAggParticipant } from './secagg-participant.ts';
import { Heartbeat, inSeconds } from '../shared/protocol/heartbeat.ts';
import type { NoiseSource } from '../shared/privacy/index.ts';
import { scatterTrainable, trainableLayout, type TrainableLayout } from '../shared/trainable.ts';
import { fitResult, reportedMetrics, trainLocally } from './local-training.ts';
import type { Trainer } from './trainer.ts';
import { DEFAULT_RECONNECT, HEALTHY_SESSION_MS, isRetriable, nextRetry, type ReconnectOptions } from './reconnect.ts';

/** How often an agent pings the coordinator by default; a coordinator silent for two intervals is a lost connection. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface AgentOptions {
  /** ws://host:port of the coordinator. */
  readonly url: string;
  readonly name: string;
  readonly trainer: Trainer;
  readonly log: Logger;
  readonly maxPayloadBytes?: number;
  /** Limit for the WebSocket handshake and, after it, for the coordinator's welcome. */
  readonly connectTimeoutMs?: number;
  /**
   * This client's identity and the coordinator's pinned key (and a join token, when
   * the coordinator admits by token). Absent only with --insecure.
   */
  readonly security?: { readonly identity: Identity; readonly coordinatorKey: Uint8Array; readonly joinToken?: string };
  /** Called after each fit result is sent. */
  readonly onFit?: (round: number, seconds: number) => void;
  /**
   * The noise of local differential privacy for a round: a ChaCha20 CSPRNG keyed from
   * crypto.randomBytes when absent. Simulations pass a seeded one (reproducible, so not private).
   */
  readonly noise?: (round: number) => NoiseSource;
  /**
   * Fault injection (tests, simulations): when it returns true for a secure-aggregation
   * phase, this client disconnects instead of answering it — a dropout at that point.
   */
  readonly dropAt?: (round: number, phase: SecAggWirePhase) => boolean;
  /**
   * Retry a refused or dropped connection with exponential backoff (client/reconnect.ts);
   * on by default, `false` fails at the first connection error.
   */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  /**
   * Ping the coordinator this often (ms; DEFAULT_HEARTBEAT_MS when absent, 0: never). A coordinator
   * that answers nothing for two intervals is taken as gone: the connection is dropped and, with
   * `reconnect`, made again.
   */
  readonly heartbeatIntervalMs?: number;
}

/** ws's masking key, filled with zeros (see connect). */
const unmasked = (mask: Uint8Array): void => {
  mask.fill(0);
};

/** An answer this client computed, kept until the next task: see ClientAgent.remembered. */
interface Answer {
  readonly key: string;
  /** The model it was computed from. */
  readonly weights: Float32Array;
  readonly msg: ToCoordinator;
  readonly seconds: number;
  /** Whether it was already sent once on a session that was open (and counted as a round taken part in). */
  counted: boolean;
}

export interface AgentOutcome {
  readonly rounds: number;
  readonly reason: string;
}

/**
 * A client agent: connects, says hello, then answers each fit task with a delta
 * trained on its private data and each evaluate task with its scores on its
 * held-out rows, until the coordinator says the run is done.
 * Raw data never leaves: only `delta = local − global` and counts are sent.
 */
export class ClientAgent {
  private readonly opts: AgentOptions;
  private weights: Float32Array | undefined;
  private version = -1;
  private fits = 0;
  private runId = '';
  private secagg: SecAggParticipant | undefined;

  constructor(opts: AgentOptions) {
    this.opts = opts;
  }

  /**
   * Runs until `done` (resolves) or an error that retrying cannot mend (rejects). A refused,
   * reset or dropped connection (and a handshake that timed out, and a coordinator that stopped
   * answering heartbeats) is retried with backoff and full jitter, up to `reconnect.attempts`
   * times in a row and for at most `reconnect.giveUpAfterMs` after the connection was lost; a
   * welcomed session that answered a task or lasted HEALTHY_SESSION_MS starts the count afresh.
   * The coordinator sees a reconnected client as a new session of the same identity (its model is
   * sent again in full), and gives it the open round's task if it still waits for this client.
   */
  async run(): Promise<AgentOutcome> {
    const retry = this.opts.reconnect === false ? undefined : { ...DEFAULT_RECONNECT, ...this.opts.reconnect };
    let lostAt = 0;
    for (let failures = 0; ; ) {
      this.joined = false;
      const started = performance.now();
      const fitsBefore = this.fits;
      try {
        return await this.session();
      } catch (err) {
        // a task still running for the lost session finishes first: never two trainings at once, nor its model over the next session's
        await this.tasks.catch(() => {});
        // a session that did some work (or lasted) starts the count afresh; one welcomed and dropped at once does not,
        // so a coordinator that keeps doing that cannot hold the client in a loop
        if (this.joined && (this.fits > fitsBefore || performance.now() - started > HEALTHY_SESSION_MS)) failures = 0;
        if (!retry || !isRetriable(err)) throw err;
        // the give-up clock starts with the first failure in a row: when the connection was lost
        if (failures === 0) lostAt = performance.now();
        const lostFor = performance.now() - lostAt;
        const wait = nextRetry(retry, failures, lostFor);
        if (wait === undefined) {
          if (failures < retry.attempts)
            this.opts.log.warn({ lostForMs: Math.round(lostFor) }, `giving up: no session with the coordinator for ${inSeconds(lostFor)} s`);
          throw err;
        }
        failures++;
        this.opts.log.warn(
          { attempt: failures, waitMs: wait },
          `${errorMessage(err)}; connecting again in ${(wait / 1000).toFixed(1)} s (attempt ${failures} of ${retry.attempts})`,
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Whether the current session got its welcome (reset for each attempt). */
  private joined = false;
  /** The current session's queue of tasks, each handled in turn. */
  private tasks: Promise<void> = Promise.resolve();

  /** One connection, from the WebSocket upgrade to `done` or its failure. */
  private session(): Promise<AgentOutcome> {
    const { url, log } = this.opts;
    const maxPayload = this.opts.maxPayloadBytes ?? 256 * 1024 * 1024;
    let sealer: FrameSealer = plaintextSealer;
    const handshake = this.opts.security
      ? new ClientHandshake(this.opts.security.identity, this.opts.security.coordinatorKey, this.opts.security.joinToken)
      : undefined;
    return new Promise<AgentOutcome>((resolve, reject) => {
      const connectTimeoutMs = this.opts.connectTimeoutMs ?? 10_000;
      // an all-zero masking key, which ws skips: masking guards proxies against a browser's untrusted
      // script (RFC 6455 §10.3), not this process's frames, and would copy every model-sized frame
      const socket = new WebSocket(url, { maxPayload, perMessageDeflate: false, handshakeTimeout: connectTimeoutMs, generateMask: unmasked });
      let welcomeTimer: NodeJS.Timeout | undefined;
      /** Anything from the coordinator (a frame, a ping or pong, a byte) is heard by it. */
      const heartbeat = new Heartbeat();
      const hear = () => heartbeat.hear();
      // nothing of a session may outlive it: no timer keeps a finished process alive
      const stopTimers = () => {
        clearTimeout(welcomeTimer);
        heartbeat.stop();
      };
      let state: 'connecting' | 'keyExchange' | 'hello' | 'ready' | 'done' | 'failed' = 'connecting';
      this.tasks = Promise.resolve();
      /** Queues a task; one queued when this session has already ended is dropped, never run against the next session's state. */
      const queue = (handle: () => Promise<void>) => {
        this.tasks = this.tasks
          .then(() => (state === 'ready' ? handle() : undefined))
          .catch((err) => fail(err instanceof Error ? err : new Error(String(err))));
      };
      /** Ends the session with `err`; `quietly`: cut the connection without a word, as to a coordinator that no longer answers. */
      const fail = (err: Error, quietly = false) => {
        if (state === 'done' || state === 'failed') return;
        state = 'failed';
        stopTimers();
        // settle first: nothing below may keep the caller waiting
        reject(err);
        if (quietly) return socket.terminate();
        try {
          if (socket.readyState === socket.OPEN) {
            // tell the coordinator why, then close: it logs the reason and drops only this client
            send({ type: 'error', code: err instanceof StarlingError ? err.code.slice(0, 64) : 'E_CLIENT', message: err.message.slice(0, 4000) });
            socket.close(err instanceof ProtocolError ? err.closeCode : CloseCode.normal, 'client error');
          } else socket.terminate();
        } catch {
          socket.terminate();
        }
      };
      /** Sends on this session's socket; false when it is gone (the answer is lost with the session). */
      const send = (msg: ToCoordinator | ClientHello | ClientAuth): boolean => {
        if (socket.readyState !== socket.OPEN) return false;
        socket.send(toFrame(msg, sealer), { binary: true });
        return true;
      };
      const sayHello = () => {
        state = 'hello';
        send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: this.opts.name });
      };
      /**
       * Pings the coordinator every interval (ws answers pings by itself, on both sides); two ticks
       * in a row with nothing heard from it end the session as lost. A tick that comes late means
       * this process was busy (training holds the event loop): the coordinator's answers may be
       * waiting unread, so such a tick does not count against it.
       */
      const startHeartbeat = (ms: number) => {
        let silentTicks = 0;
        heartbeat.start(ms, ({ heard, late }) => {
          if (state === 'done' || state === 'failed') return;
          if (heard) silentTicks = 0;
          else if (!late) silentTicks++;
          if (silentTicks >= 2) {
            const silent = inSeconds(heartbeat.silentMs());
            return fail(new StarlingError('E_TIMEOUT', `the coordinator answered no heartbeat for ${silent} s; the connection is taken as lost`), true);
          }
          if (socket.readyState === socket.OPEN) socket.ping();
        });
      };
      socket.on('ping', hear);
      socket.on('pong', hear);
      // any byte is a sign of life: a model arriving for longer than two intervals (its pings queued behind it) is not a silent coordinator
      socket.on('upgrade', (response) => response.socket.on('data', hear));
      socket.on('open', () => {
        welcomeTimer = setTimeout(() => fail(protocolError.timeout(handshake ? 'the handshake and welcome' : 'welcome', connectTimeoutMs)), connectTimeoutMs);
        const heartbeatMs = this.opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
        if (heartbeatMs > 0) startHeartbeat(heartbeatMs);
        if (!handshake) return sayHello();
        state = 'keyExchange';
        send(handshake.start());
      });
      socket.on('error', (err) => fail(new StarlingError('E_CONNECT', `cannot reach the coordinator at ${url}: ${errorMessage(err)}`, { cause: err })));
      socket.on('close', (code, reason) => {
        if (state === 'done' || state === 'failed') return;
        fail(new ConnectionClosedError(code, `the coordinator closed the connection (code ${code}${reason.length ? `, ${reason.toString()}` : ''})`));
      });
      socket.on('message', (data, isBinary) => {
        hear();
        if (!isBinary) return fail(protocolError.malformed('text frame from the coordinator'));
        if (state === 'keyExchange') {
          try {
            const hs = decodeMessage(data as Buffer, toClientHandshakeSchema, MAX_HANDSHAKE_FRAME_BYTES);
            if (hs.type === 'error') return fail(new RemoteError(hs.code, `the coordinator refused the handshake: ${hs.message}`));
            const session = handshake!.onServerHello(hs);
            send(session.auth);
            sealer = session.sealer;
            log.debug({ coordinator: session.peerKey }, 'secure channel established');
            return sayHello();
          } catch (err) {
            return fail(err instanceof ProtocolError ? err : protocolError.handshake(errorMessage(err)));
          }
        }
        let msg: ToClient;
        try {
          msg = fromFrame(data as Buffer, toClientSchema, sealer, maxPayload);
        } catch (err) {
          // a coordinator that refuses our clientAuth answers before it holds a session: in plaintext
          const refusal = state === 'hello' && handshake ? plaintextRefusal(data as Buffer) : undefined;
          if (refusal) return fail(new RemoteError(refusal.code, `the coordinator refused the handshake: ${refusal.message}`));
          return fail(err instanceof ProtocolError ? err : protocolError.malformed(errorMessage(err)));
        }
        switch (msg.type) {
          case 'welcome':
            if (state !== 'hello') return fail(protocolError.unexpected('welcome after the handshake'));
            if (msg.protocolVersion !== PROTOCOL_VERSION) return fail(protocolError.version(msg.protocolVersion, PROTOCOL_VERSION));
            state = 'ready';
            this.joined = true;
            this.runId = msg.runId;
            // a new session: the coordinator sends the model in full, and no secure-aggregation round spans sessions
            this.secagg = undefined;
            clearTimeout(welcomeTimer);
            log.info({ clientId: msg.clientId, runId: msg.runId }, `joined run ${msg.runId} as ${msg.clientId}`);
            return;
          case 'fit':
            if (state !== 'ready') return fail(protocolError.unexpected('fit task before welcome'));
            // tasks are handled one at a time, in order
            queue(() => this.handleFit(msg, send));
            return;
          case 'evaluate':
            if (state !== 'ready') return fail(protocolError.unexpected('evaluate task before welcome'));
            queue(() => this.handleEvaluate(msg, send));
            return;
          case 'secagg':
            if (state !== 'ready') return fail(protocolError.unexpected('secagg task before welcome'));
            queue(() => this.handleSecAgg(msg, send, fail));
            return;
          case 'done':
            state = 'done';
            stopTimers();
            log.info({ rounds: msg.rounds }, `run over: ${msg.reason}`);
            socket.close(CloseCode.normal, 'done');
            resolve({ rounds: this.fits, reason: msg.reason });
            return;
          case 'error':
            return fail(new RemoteError(msg.code, `the coordinator refused this client: ${msg.message}`));
        }
      });
    });
  }

  /**
   * The weights a task is about: the ones it carries (kept as that version), the
   * trainable values it carries filled into this client's copy (frozen parameters
   * cannot have changed), or the version this client holds.
   */
  private adopt(task: FitTask | EvaluateTask | Extract<SecAggTask, { phase: 'maskedInput' }>, layout: TrainableLayout | undefined): Float32Array {
    if (task.weights && task.trainable) throw protocolError.invalid(`${task.type} task carries both weights and trainable values`);
    if (task.weights) {
      this.weights = task.weights;
      this.version = task.modelVersion;
    } else if (task.trainable) {
      if (!layout) throw protocolError.invalid(`${task.type} task carries only trainable values, but freezes nothing`);
      if (!this.weights || this.weights.length !== layout.totalCount)
        throw protocolError.invalid(
          `${task.type} task carries only trainable values, but this client holds no model of this run to take the frozen values from`,
        );
      if (task.trainable.length !== layout.trainableCount)
        throw protocolError.invalid(`${task.type} task carries ${task.trainable.length} trainable values, the model has ${layout.trainableCount}`);
      this.weights = scatterTrainable(task.trainable, this.weights, layout);
      this.version = task.modelVersion;
    } else if (!this.weights || this.version !== task.modelVersion) {
      throw protocolError.invalid(
        `${task.type} task for model version ${task.modelVersion} came without weights, and this client holds version ${this.version}`,
      );
    }
    return this.weights;
  }

  private async handleFit(task: FitTask, send: (m: ToCoordinator) => boolean): Promise<void> {
    // with frozen parameters only the trainable values travel, in both directions
    const layout = task.config.frozen.length ? trainableLayout(task.spec, task.config.frozen) : undefined;
    const weights = this.adopt(task, layout);
    const answer = await this.remembered(taskKey(this.runId, task), weights, task.round, async () => {
      const update = await trainLocally(this.opts.trainer, task, weights);
      if ('diverged' in update) {
        this.reportDiverged(task, 'fit', update.diverged, send);
        return undefined;
      }
      this.opts.log.debug({ round: task.round, seconds: update.seconds, loss: update.metrics.loss }, `round ${task.round} trained`);
      return { msg: fitResult(task, update, this.opts.noise), seconds: update.seconds };
    });
    // an answer lost with its session is not a round this client took part in; one sent again is not a second round
    if (!answer || !send(answer.msg) || answer.counted) return;
    answer.counted = true;
    this.fits++;
    this.opts.onFit?.(task.round, answer.seconds);
  }

  /**
   * The answer to a task: computed by `compute` and kept, or — when the same task (same run,
   * round, settings and model, to the byte: a coordinator resumed from an earlier checkpoint may
   * rebuild a version differently, with fresh DP noise say) comes again — the one kept. A
   * coordinator re-sends the open round's task to a client whose connection was lost before its
   * answer arrived; training holds this process's event loop, so a long one can itself cost the
   * connection (no pongs), and doing the work again would only lose it again. It is also the
   * same answer: under local DP, fresh noise on the same update would only tell the coordinator more.
   */
  private async remembered(
    key: string,
    weights: Float32Array,
    round: number,
    compute: () => Promise<Omit<Answer, 'key' | 'weights' | 'counted'> | undefined>,
  ): Promise<Answer | undefined> {
    const kept = this.lastAnswer;
    if (kept?.key === key && sameWeights(kept.weights, weights)) {
      this.opts.log.info({ round }, `round ${round}: the task came again after a lost connection; sending the answer computed for it before`);
      return kept;
    }
    this.lastAnswer = undefined;
    const computed = await compute();
    if (!computed) return undefined;
    this.lastAnswer = { key, weights, ...computed, counted: false };
    return this.lastAnswer;
  }

  /** The last answer computed (ClientAgent.remembered). */
  private lastAnswer: Answer | undefined;

  /**
   * One phase of a securely aggregated round: a fresh SecAggParticipant per round; in the
   * maskedInput phase the client trains as for a fit task, then the participant clips,
   * encodes and masks the delta — only the masked vector leaves.
   */
  private async handleSecAgg(task: SecAggTask, send: (m: ToCoordinator) => boolean, fail: (e: Error) => void): Promise<void> {
    if (this.opts.dropAt?.(task.round, task.phase))
      return fail(new StarlingError('E_DROPOUT', `client ${this.opts.name} drops out of round ${task.round} before the ${task.phase} phase (fault injection)`));
    if (task.phase === 'advertise') {
      this.secagg = new SecAggParticipant(task, this.runId);
      send(this.secagg.advertise());
      return;
    }
    const p = this.secagg;
    if (!p || p.round !== task.round) throw protocolError.unexpected(`secagg ${task.phase} task for round ${task.round} without its advertise phase`);
    if (task.phase === 'shareKeys') {
      send(await p.shareKeysOffThread(task));
      return;
    }
    if (task.phase === 'unmask') {
      this.secagg = undefined;
      send(p.unmask(task));
      return;
    }
    const weights = this.adopt(task, task.config.frozen.length ? trainableLayout(task.spec, task.config.frozen) : undefined);
    const update = await trainLocally(this.opts.trainer, task, weights);
    if ('diverged' in update) {
      this.secagg = undefined;
      return this.reportDiverged(task, 'secagg', update.diverged, send);
    }
    // a secure round's metrics leave out a gan's generator loss, as they always have
    const metrics = reportedMetrics({ ...update.metrics, generatorLoss: undefined });
    // an answer lost with its session is not a round this client took part in
    if (!send(await p.maskedInput(task, update.delta, update.numExamples, metrics, update.seconds))) return;
    this.fits++;
    this.opts.onFit?.(task.round, update.seconds);
  }

  /**
   * Training from the coordinator's model gave NaN or Infinity (a poisoned global model, a
   * learning rate too high): tell the coordinator this task failed and stay in the run. It
   * is not a protocol error, and the next round's model may be fine.
   */
  private reportDiverged(task: FitTask | SecAggTask, kind: 'fit' | 'secagg', message: string, send: (m: ToCoordinator) => boolean): void {
    this.opts.log.warn({ round: task.round }, `round ${task.round}: ${message}; reported as a failed task`);
    send({ type: 'taskFailed', round: task.round, task: kind, code: 'E_DIVERGED', message });
  }

  /** Scores the task's model on this client's held-out rows (none: an empty result) and replies. */
  private async handleEvaluate(task: EvaluateTask, send: (m: ToCoordinator) => boolean): Promise<void> {
    const weights = this.adopt(task, task.frozen?.length ? trainableLayout(task.spec, task.frozen) : undefined);
    const answer = await this.remembered(taskKey(this.runId, task), weights, task.round, async () => {
      const started = performance.now();
      const result = await this.opts.trainer.evaluate(task.spec, weights);
      this.opts.log.debug({ round: task.round, examples: result.numExamples, accuracy: result.metrics.accuracy }, `round ${task.round} evaluated`);
      const msg: ToCoordinator = { type: 'evaluateResult', round: task.round, numExamples: result.numExamples, metrics: { ...result.metrics } };
      return { msg, seconds: (performance.now() - started) / 1000 };
    });
    if (answer) send(answer.msg);
  }
}

/**
 * What makes two tasks the same one, beside the very weights (ClientAgent.remembered compares
 * those): the run, the kind, the round, the model version and the settings.
 */
function taskKey(runId: string, task: FitTask | EvaluateTask): string {
  const settings = task.type === 'fit' ? [task.spec, task.config, task.seed] : [task.spec, task.frozen ?? []];
  return JSON.stringify([runId, task.type, task.round, task.modelVersion, settings]);
}

/** A plaintext handshake `error` frame, or undefined. */
function plaintextRefusal(frame: Uint8Array): { code: string; message: string } | undefined {
  try {
    const m = decodeMessage(frame, toClientHandshakeSchema, MAX_HANDSHAKE_FRAME_BYTES);
    return m.type === 'error' ? m : undefined;
  } catch {
    return undefined;
  }
}
