import type { z } from 'zod';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseCode, ProtocolError, TaskError, errorMessage, protocolError } from '../shared/errors.ts';
import { peerText, type Logger } from '../shared/log.ts';
import { fromFrame, plaintextSealer, toFrame, type FrameSealer } from '../shared/protocol/frame.ts';
import { decodeMessage } from '../shared/protocol/codec.ts';
import { MAX_HANDSHAKE_FRAME_BYTES, toServerHandshakeSchema, type ServerHello } from '../shared/protocol/handshake-messages.ts';
import { ServerHandshake, type Admission } from '../shared/crypto/handshake.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import {
  PROTOCOL_VERSION,
  toCoordinatorSchema,
  type EvaluateResult,
  type FitResult,
  type SecAggResultMessage,
  type SecAggWirePhase,
  type TaskFailed,
  type ToClient,
  type ToCoordinator,
} from '../shared/protocol/messages.ts';
import { CONTROL_LIMITS } from '../shared/protocol/bounds.ts';
import { examplesProblem, fitResultProblem, maskedInputProblem } from './result-checks.ts';
import { CONTROL_ALLOWANCE, fitResultAllowance, secaggAllowance, widest, type Allowance } from './frame-limits.ts';
import type { ReceiveBudget } from './receive-budget.ts';
import type { ClientHandle, EvaluateRequest, FitRequest, SecAggRequest } from './transport.ts';
import { Heartbeat, inSeconds } from '../shared/protocol/heartbeat.ts';

export interface ConnectionOptions {
  readonly id: string;
  readonly runId: string;
  readonly socket: WebSocket;
  /** The TCP socket under `socket`: its arrivals time frames that start and never finish. */
  readonly rawSocket?: Duplex;
  /** Identity and admission rules for the secure channel; absent only with --insecure. */
  readonly security?: { readonly identity: Identity; readonly admission: Admission };
  /** The hard cap on any frame; each state allows less (frame-limits.ts). */
  readonly maxPayloadBytes: number;
  /** Shared by every connection: what they may hold in result-sized allowances together. */
  readonly budget?: ReceiveBudget;
  readonly handshakeTimeoutMs: number;
  /** A frame that has started arriving must be complete within this (a trickling peer is cut off). */
  readonly frameTimeoutMs?: number;
  /**
   * Once ready, ping the client this often; a session that has answered nothing (a pong or any
   * frame) since the previous ping is taken as dead and cut off. Absent or 0: no heartbeats.
   */
  readonly heartbeatIntervalMs?: number;
  readonly log: Logger;
  /** Called once the hello is accepted. */
  onReady(conn: ClientConnection): void;
  /** Called when the handshake proved the peer's identity (before its hello). */
  onAuthenticated?(conn: ClientConnection): void;
  /** Called once when the connection is gone, whatever the reason. */
  onClosed(conn: ClientConnection): void;
  countIn(bytes: number): void;
  countOut(bytes: number): void;
}

type TaskResult = FitResult | EvaluateResult | SecAggResultMessage;

/** The one task a connection awaits: a fit (its delta must have `expectedLength` values), an evaluate or a secure-aggregation phase. */
interface Pending {
  readonly kind: TaskResult['type'];
  readonly round: number;
  /** For a secagg task: the phase its result must answer (a masked input must have `expectedLength` words). */
  readonly phase?: SecAggWirePhase;
  /** Values the delta must have: the trainable count (the whole model when nothing is frozen). */
  readonly expectedLength: number;
  /** Values of the whole model (differs from expectedLength when parameters are frozen). */
  readonly modelLength: number;
  /** The largest frame (and shape) its answer may be. */
  readonly allowance: Allowance;
  resolve(r: TaskResult): void;
  reject(e: Error): void;
}

/**
 * The rejection of a task whose session was lost without a word about it — the connection
 * dropped, a newer session of the same identity replaced it, or it stopped answering
 * heartbeats — as opposed to a client that failed the task or broke the protocol. The client
 * may come back: the identity's peer (client-peer.ts) then gives the task to its new session.
 */
export class SessionLost extends TaskError {
  constructor(message: string) {
    super('disconnected', message);
    this.name = 'SessionLost';
  }
}

/**
 * The tasks of one client identity that were answered (or given up on while it was away),
 * shared by all its sessions: a result for one of them is a repeat — sent twice, or replayed on
 * a later session — and is dropped, never counted again. The newest few are enough: tasks are
 * sent one at a time, so anything older is not a repeat but nonsense.
 */
export class TaskLedger {
  private readonly keys = new Set<string>();

  settled(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > LEDGER_SIZE) this.keys.delete(this.keys.values().next().value!);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}

/** The key of a task for TaskLedger and the late-answer map: its result's type and its round (`fitResult:3`). */
export function taskKey(kind: TaskResult['type'], round: number): string {
  return `${kind}:${round}`;
}

const LEDGER_SIZE = 8;
/** Late answers still awaited per connection (tasks whose deadline passed). */
const MAX_ABANDONED = 2;
const TASK_NAMES: Record<TaskResult['type'], string> = { fitResult: 'training', evaluateResult: 'evaluation', secaggResult: 'secure aggregation' };
const RESULT_OF_TASK: Record<TaskFailed['task'], TaskResult['type']> = { fit: 'fitResult', evaluate: 'evaluateResult', secagg: 'secaggResult' };

/**
 * One client's connection, as a small state machine:
 * handshake → ready (idle ⇄ awaiting a fit or evaluate result) → closed.
 * Every incoming frame is decoded and validated here; anything malformed,
 * unknown or out of order closes this connection only, with a logged reason.
 */
export class ClientConnection implements ClientHandle {
  readonly id: string;
  name = '';
  /** keyExchange → auth (secure channel only) → hello → ready → closed. */
  private state: 'keyExchange' | 'auth' | 'hello' | 'ready' | 'closed';
  private sealer: FrameSealer = plaintextSealer;
  private readonly handshake: ServerHandshake | undefined;
  /** The authenticated identity (base64), when the channel is secure. */
  peerKey: string | undefined;
  /** Once closed: why, as the rejection of a task outstanding then said it. */
  closedBecause: string | undefined;
  private heldVersion = -1;
  private pending: Pending | undefined;
  /**
   * Tasks (`fitResult:3`, `evaluateResult:3`) whose results are no longer wanted (deadline
   * passed), with the allowance their answer keeps: a late result is dropped, not an error.
   */
  private readonly abandoned = new Map<string, Allowance>();
  private readonly opts: ConnectionOptions;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** What the next frame may be: the handshake's size until authenticated, then as the state allows. */
  private allowance: Allowance;
  /** Set while a frame has begun arriving and not completed. */
  private frameTimer: NodeJS.Timeout | undefined;
  private frameCompleted = false;
  /** The answered tasks of this client identity (its peer's, once it has one). */
  private ledger = new TaskLedger();
  private readonly heartbeat = new Heartbeat();
  /** Set when the peer broke the websocket protocol itself (ws refused a frame): its close is a refusal, not a lost connection. */
  private refused = false;

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.handshake = opts.security ? new ServerHandshake(opts.security.identity, opts.security.admission) : undefined;
    this.state = this.handshake ? 'keyExchange' : 'hello';
    // until the peer has authenticated, the socket buffers no more than a handshake frame
    this.allowance = this.handshake ? { bytes: MAX_HANDSHAKE_FRAME_BYTES, shape: CONTROL_LIMITS } : CONTROL_ALLOWANCE;
    setReceiveLimit(opts.socket, this.allowance.bytes);
    this.handshakeTimer = setTimeout(
      () => this.fail(protocolError.timeout(this.handshake ? 'the handshake and hello' : 'hello', opts.handshakeTimeoutMs)),
      opts.handshakeTimeoutMs,
    );
    opts.socket.on('message', (data, isBinary) => {
      this.hear();
      this.frameArrived();
      this.onFrame(data as Buffer, isBinary);
    });
    // a ping or pong completes no message: it may sit between the fragments of one, so it never stops a running frame timer
    opts.socket.on('ping', () => {
      this.hear();
      this.frameCompleted = true;
    });
    opts.socket.on('pong', () => {
      this.hear();
      this.frameCompleted = true;
    });
    // any byte is a sign of life: a large result arriving slowly is not a silent peer
    opts.rawSocket?.on('data', () => {
      this.hear();
      this.bytesArrived();
    });
    opts.socket.on('close', (code, reason) => this.onSocketClosed(code, reason.toString()));
    opts.socket.on('error', (err: Error & { code?: string }) => {
      // ws's own refusals of a frame (too big, bad opcode, bad masking…) are the peer's fault, not a lost connection
      if (err.code?.startsWith('WS_ERR_')) this.refused = true;
      // ws reports oversized frames (and other socket faults) here, then closes (1009 for a frame over the limit)
      const detail =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? `a frame larger than the ${this.allowance.bytes}-byte limit while ${this.describeState()} (closed with 1009)`
          : errorMessage(err);
      opts.log.warn({ client: this.label(), err: detail, code: err.code }, `closing connection ${this.label()}: ${detail}`);
    });
  }

  /** What this connection is waiting for, for log lines. */
  private describeState(): string {
    if (this.state === 'keyExchange' || this.state === 'auth') return 'in the handshake';
    if (this.state === 'hello') return 'awaiting its hello';
    if (this.pending) return `awaiting round ${this.pending.round}'s ${TASK_NAMES[this.pending.kind]} result`;
    return 'idle';
  }

  /**
   * Sets the allowance to the widest of: the control size, the outstanding task's answer and
   * any abandoned task's late answer; capped by maxPayloadBytes. Raising it takes room from
   * the shared receive budget: false (nothing changed) when there is none.
   */
  private refreshAllowance(): boolean {
    let want = CONTROL_ALLOWANCE;
    if (this.pending) want = widest(want, this.pending.allowance);
    for (const a of this.abandoned.values()) want = widest(want, a);
    const bytes = Math.min(want.bytes, this.opts.maxPayloadBytes);
    if (this.opts.budget && !this.opts.budget.resize(this, Math.max(0, bytes - CONTROL_ALLOWANCE.bytes))) return false;
    this.allowance = { bytes, shape: want.shape };
    setReceiveLimit(this.opts.socket, bytes);
    return true;
  }

  /** Bytes came in: if no frame completed with them, one is under way and must finish within frameTimeoutMs. */
  private bytesArrived(): void {
    if (this.frameCompleted) {
      this.frameCompleted = false;
      return;
    }
    const ms = this.opts.frameTimeoutMs;
    if (ms === undefined || this.frameTimer || this.state === 'closed') return;
    this.frameTimer = setTimeout(() => this.fail(protocolError.timeout('the rest of a frame that had started arriving', ms)), ms);
  }

  /** A whole message arrived: nothing is under way any more. */
  private frameArrived(): void {
    this.frameCompleted = true;
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Shares the identity's record of answered tasks with this session (the server calls it once it knows whose session this is). */
  useLedger(ledger: TaskLedger): void {
    this.ledger = ledger;
  }

  private hear(): void {
    this.heartbeat.hear();
  }

  /**
   * Pings the client every heartbeatIntervalMs; one that answered nothing since the previous
   * ping is cut off as dead (ws answers pings by itself, on both sides). A tick that comes late
   * means this process was busy (aggregating, evaluating): the client's answers may be waiting
   * unread, so it is not judged on that tick. Nor is a session with a task outstanding: a client
   * agent's training holds its own event loop, so it cannot answer pings until it is done, and
   * the task's deadline already bounds the wait: a client that is truly gone fails the round
   * there and, silent for two intervals by then, is cut off (request's onAbort), unless its next
   * session took the task over first. An idle session that falls silent is cut off at once.
   */
  private startHeartbeat(ms: number): void {
    this.heartbeat.start(ms, ({ heard, late }) => {
      if (this.state === 'closed') return;
      if (!heard && !late && !this.pending) return this.dead(this.heartbeat.silentMs());
      const { socket } = this.opts;
      if (socket.readyState === socket.OPEN) socket.ping();
    });
  }

  /** No heartbeat answered: the peer is gone (or cannot answer). No close handshake with a dead peer: the socket is cut. */
  private dead(silentMs: number): void {
    const silent = inSeconds(silentMs);
    const err = new SessionLost(`client ${this.label()} answered no heartbeat for ${silent} s and was cut off`);
    this.opts.log.warn({ client: this.label(), silentMs: Math.round(silentMs) }, `closing connection ${this.label()}: no heartbeat for ${silent} s`);
    this.opts.socket.terminate();
    this.settleClosed(err);
  }

  fit(req: FitRequest, signal: AbortSignal): Promise<FitResult> {
    const expectedLength = req.trainableWeights?.length ?? req.weights.length;
    return this.request<FitResult>(
      'fitResult',
      req.round,
      req.modelVersion,
      { expectedLength, modelLength: req.weights.length, allowance: fitResultAllowance(expectedLength) },
      signal,
      (held) => {
        const { weights, trainable } = weightsToSend(held, req);
        this.send({
          type: 'fit',
          round: req.round,
          modelVersion: req.modelVersion,
          spec: req.spec,
          weights,
          ...(trainable ? { trainable } : {}),
          config: req.config,
          seed: req.seed,
        });
      },
    );
  }

  evaluate(req: EvaluateRequest, signal: AbortSignal): Promise<EvaluateResult> {
    return this.request<EvaluateResult>(
      'evaluateResult',
      req.round,
      req.modelVersion,
      { expectedLength: 0, modelLength: req.weights.length, allowance: CONTROL_ALLOWANCE },
      signal,
      (held) => {
        const { weights, trainable } = weightsToSend(held, req);
        // an evaluate task has no config.frozen: the names come along so the client can place the values
        this.send({
          type: 'evaluate',
          round: req.round,
          modelVersion: req.modelVersion,
          spec: req.spec,
          weights,
          ...(trainable ? { trainable, frozen: [...(req.frozen ?? [])] } : {}),
        });
      },
    );
  }

  /**
   * Sends one phase of a secure-aggregation round and settles with the client's answer to
   * that phase (shape-checked; the SecAggServer judges the content). The maskedInput phase
   * carries the fit task's model like `fit` does.
   */
  secagg(req: SecAggRequest, signal: AbortSignal): Promise<SecAggResultMessage> {
    if (req.phase !== 'maskedInput') {
      const { task } = req;
      const n = task.phase === 'advertise' ? task.clients : task.phase === 'shareKeys' ? task.keys.length : task.survivors.length + task.dropped.length;
      const allowance = secaggAllowance(req.phase, n, 0);
      return this.request<SecAggResultMessage>(
        'secaggResult',
        task.round,
        this.heldVersion,
        { expectedLength: 0, modelLength: 0, allowance },
        signal,
        () => this.send(task),
        req.phase,
      );
    }
    const { fit } = req;
    const allowance = secaggAllowance('maskedInput', req.senders.length, req.dimension);
    return this.request<SecAggResultMessage>(
      'secaggResult',
      fit.round,
      fit.modelVersion,
      { expectedLength: req.dimension, modelLength: fit.weights.length, allowance },
      signal,
      (held) => {
        const { weights, trainable } = weightsToSend(held, fit);
        this.send({
          type: 'secagg',
          phase: 'maskedInput',
          round: fit.round,
          senders: [...req.senders],
          shares: [...req.shares],
          modelVersion: fit.modelVersion,
          spec: fit.spec,
          weights,
          ...(trainable ? { trainable } : {}),
          config: fit.config,
          seed: fit.seed,
        });
      },
      'maskedInput',
    );
  }

  /**
   * Sends one task (`send` is told the model version the client holds, -1 for none,
   * to decide which weights travel) and settles with its validated result, or
   * rejects on close, protocol error or `signal`.
   */
  private request<R extends TaskResult>(
    kind: R['type'],
    round: number,
    modelVersion: number,
    lengths: { readonly expectedLength: number; readonly modelLength: number; readonly allowance: Allowance },
    signal: AbortSignal,
    send: (heldVersion: number) => void,
    phase?: SecAggWirePhase,
  ): Promise<R> {
    if (this.state !== 'ready') return Promise.reject(new TaskError('disconnected', `client ${this.label()} is not connected`));
    if (this.pending)
      return Promise.reject(new TaskError('other', `client ${this.label()} is still busy with round ${this.pending.round}'s ${TASK_NAMES[this.pending.kind]}`));
    const what = kind === 'fitResult' ? 'round' : kind === 'evaluateResult' ? 'evaluation of round' : `secure aggregation ${phase} phase of round`;
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => {
        if (this.pending?.round !== round || this.pending.kind !== kind) return;
        const { allowance } = this.pending;
        this.pending = undefined;
        this.abandoned.set(taskKey(kind, round), allowance);
        // a client more than two tasks behind is not coming back with them: its oldest late answer is no longer awaited
        // (it would then be unexpected), so a silent session holds at most two stale allowances
        if (this.abandoned.size > MAX_ABANDONED) this.abandoned.delete(this.abandoned.keys().next().value!);
        this.refreshAllowance();
        reject(new TaskError('deadline', `client ${this.label()} missed the ${what} ${round} deadline`));
        // busy, it was not judged on heartbeats; at its deadline it is: one that has answered no ping for two intervals is gone
        const ms = this.opts.heartbeatIntervalMs;
        const silent = this.heartbeat.silentMs();
        if (ms && silent > 2 * ms) this.dead(silent);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        kind,
        round,
        ...(phase ? { phase } : {}),
        ...lengths,
        // dispatch resolves a pending task only with a result of its own kind
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r as R);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      // the answer may be as large as the allowance: room for it is reserved before the task leaves
      if (!this.refreshAllowance()) {
        this.pending = undefined;
        signal.removeEventListener('abort', onAbort);
        const budget = this.opts.budget!;
        reject(
          new TaskError(
            'other',
            `the coordinator's receive budget (${budget.capacity} bytes) is exhausted (${budget.reserved} reserved by outstanding tasks); ` +
              `client ${this.label()} was not sent the ${what} ${round} task`,
          ),
        );
        return;
      }
      send(this.heldVersion);
      this.heldVersion = modelVersion;
    });
  }

  /** Sends `done` and closes normally. */
  finish(reason: string, rounds: number): void {
    if (this.state === 'closed') return;
    // a peer still in the handshake holds no session to read `done` in
    if (this.state !== 'keyExchange' && this.state !== 'auth') this.send({ type: 'done', reason, rounds });
    this.close(CloseCode.normal, 'run complete');
    this.settleClosed(new TaskError('other', 'the run is complete'));
  }

  /** Closes this session because the same identity opened a newer one: its outstanding task, if any, goes to that one (SessionLost). */
  replace(): void {
    const message = 'a newer session of the same identity replaced this one';
    this.fail(new ProtocolError('E_REPLACED', CloseCode.replaced, message), new SessionLost(`client ${this.label()}: ${message}`));
  }

  /** Closes with a protocol error: logs it, tells the peer, rejects any pending task (with `rejectWith` when given). */
  fail(err: ProtocolError, rejectWith: Error = err): void {
    if (this.state === 'closed') return;
    this.opts.log.warn({ client: this.label(), code: err.code, closeCode: err.closeCode }, `closing connection ${this.label()}: ${err.message}`);
    this.send({ type: 'error', code: err.code, message: err.message });
    this.close(err.closeCode, err.code);
    this.settleClosed(rejectWith);
  }

  private label(): string {
    return this.name ? `${this.name} (${this.id})` : this.id;
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    this.opts.countIn(data.byteLength);
    if (!isBinary) return this.fail(protocolError.malformed('text frame (Starling speaks binary frames only)'));
    if (this.state === 'keyExchange' || this.state === 'auth') {
      try {
        return this.onHandshakeFrame(data);
      } catch (err) {
        return this.fail(err instanceof ProtocolError ? err : protocolError.handshake(errorMessage(err)));
      }
    }
    let msg: ToCoordinator;
    try {
      msg = fromFrame(data, toCoordinatorSchema, this.sealer, this.allowance.bytes, this.allowance.shape);
    } catch (err) {
      // a secure client's clientHello at a coordinator running --insecure: say so, not "invalid discriminator"
      if (this.state === 'hello' && !this.handshake && isClientHello(data)) return this.fail(protocolError.handshake(INSECURE_ONLY));
      return this.fail(err instanceof ProtocolError ? err : protocolError.malformed(errorMessage(err), err));
    }
    try {
      this.dispatch(msg);
    } catch (err) {
      this.fail(err instanceof ProtocolError ? err : protocolError.invalid(errorMessage(err)));
    }
  }

  /** The plaintext handshake: clientHello → serverHello, then clientAuth → the sealed session. */
  private onHandshakeFrame(data: Uint8Array): void {
    const hs = this.handshake!;
    let msg: z.infer<typeof toServerHandshakeSchema>;
    try {
      msg = decodeMessage(data, toServerHandshakeSchema, MAX_HANDSHAKE_FRAME_BYTES, CONTROL_LIMITS);
    } catch (err) {
      // a plaintext hello where the handshake belongs: an --insecure client, which deserves to be told so
      if (this.state === 'keyExchange' && isPlaintextHello(data)) throw protocolError.handshake(SECURE_REQUIRED);
      throw err;
    }
    // an unauthenticated peer's words: quoted and cut to 200 characters wherever they are shown
    if (msg.type === 'error') throw protocolError.handshake(`the client gave up: ${peerText(msg.message)}`);
    if (this.state === 'keyExchange') {
      if (msg.type !== 'clientHello') throw protocolError.unexpected(`${msg.type} before clientHello`);
      const reply = hs.onClientHello(msg);
      this.state = 'auth';
      this.send(reply);
      return;
    }
    if (msg.type !== 'clientAuth') throw protocolError.unexpected(`${msg.type} where clientAuth belongs`);
    const session = hs.onClientAuth(msg);
    this.sealer = session.sealer;
    this.peerKey = session.peerKey;
    this.state = 'hello';
    this.refreshAllowance();
    this.opts.log.debug({ id: this.id, key: session.peerKey, name: session.peerName }, `connection ${this.id} authenticated as ${session.peerName}`);
    this.opts.onAuthenticated?.(this);
  }

  private dispatch(msg: ToCoordinator): void {
    switch (msg.type) {
      case 'hello': {
        if (this.state !== 'hello') throw protocolError.unexpected('hello after the handshake');
        clearTimeout(this.handshakeTimer);
        if (msg.protocolVersion !== PROTOCOL_VERSION) throw protocolError.version(msg.protocolVersion, PROTOCOL_VERSION);
        this.name = msg.clientName;
        this.state = 'ready';
        this.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, clientId: this.id, runId: this.opts.runId });
        this.opts.log.info({ client: this.label() }, `client ${this.label()} joined`);
        if (this.opts.heartbeatIntervalMs) this.startHeartbeat(this.opts.heartbeatIntervalMs);
        this.opts.onReady(this);
        return;
      }
      case 'fitResult': {
        const p = this.awaited(msg);
        if (!p) return;
        const problem = fitResultProblem(msg, p.expectedLength, p.modelLength);
        if (problem) throw protocolError.invalid(problem);
        this.settlePending(p, msg);
        return;
      }
      case 'evaluateResult': {
        const p = this.awaited(msg);
        if (!p) return;
        const problem = examplesProblem(msg.numExamples);
        if (problem) throw protocolError.invalid(problem);
        this.settlePending(p, msg);
        return;
      }
      case 'taskFailed': {
        // the client could not do the task (its training diverged, say): a failure of this round, not of the protocol
        const kind = RESULT_OF_TASK[msg.task];
        const p = this.awaited({ type: kind, round: msg.round });
        if (!p) return;
        this.settlePending(
          p,
          new TaskError(
            msg.code === 'E_DIVERGED' ? 'diverged' : 'refused',
            `client ${this.label()} could not do round ${msg.round}'s ${TASK_NAMES[kind]} (${msg.code}): ${msg.message}`,
          ),
        );
        return;
      }
      case 'secaggResult': {
        const p = this.awaited(msg);
        if (!p) return;
        if (msg.phase !== p.phase) throw protocolError.invalid(`secaggResult answers the ${msg.phase} phase, the task was for the ${p.phase} phase`);
        const problem = msg.phase === 'maskedInput' ? maskedInputProblem(msg, p.expectedLength) : undefined;
        if (problem) throw protocolError.invalid(problem);
        this.settlePending(p, msg);
        return;
      }
      case 'error': {
        this.opts.log.warn({ client: this.label(), code: msg.code }, `client ${this.label()} reported an error: ${peerText(msg.message)}`);
        this.close(CloseCode.normal, 'client error');
        this.settleClosed(new TaskError('client_error', `client ${this.label()} failed: ${peerText(msg.message)}`));
        return;
      }
    }
  }

  /**
   * The pending task a result answers; undefined for a result that is not wanted and is
   * dropped (and logged): the late answer of an abandoned task, or a repeat of one already
   * answered (sent twice, or replayed on a later session of the same identity). A result
   * nobody asked for, of the wrong kind or for another round is a protocol error.
   */
  private awaited(msg: { readonly type: TaskResult['type']; readonly round: number }): Pending | undefined {
    if (this.state !== 'ready') throw protocolError.unexpected(`${msg.type} before the handshake`);
    const what = msg.type === 'fitResult' ? 'result' : msg.type === 'evaluateResult' ? 'evaluation' : 'secure-aggregation answer';
    const key = taskKey(msg.type, msg.round);
    if (this.abandoned.delete(key)) {
      this.refreshAllowance();
      this.opts.log.info({ client: this.label(), round: msg.round }, `dropped late ${what} for round ${msg.round} from ${this.label()}`);
      return undefined;
    }
    const p = this.pending;
    const answers = p !== undefined && p.kind === msg.type && p.round === msg.round;
    if (!answers && this.ledger.has(key)) {
      this.opts.log.warn(
        { client: this.label(), round: msg.round },
        `dropped a repeated ${what} for round ${msg.round} from ${this.label()}: that task was already answered or given up on`,
      );
      return undefined;
    }
    const task = msg.type === 'fitResult' ? 'fit' : msg.type === 'evaluateResult' ? 'evaluate' : 'secagg';
    if (!p || p.kind !== msg.type) throw protocolError.unexpected(`${msg.type} for round ${msg.round}, but no ${task} task is outstanding`);
    if (msg.round !== p.round) throw protocolError.invalid(`${msg.type} is for round ${msg.round}, the task was for round ${p.round}`);
    return p;
  }

  /** The outstanding task is answered (a result, or the client's report that it failed): its allowance goes back to the budget, then its promise settles. */
  private settlePending(p: Pending, outcome: TaskResult | Error): void {
    this.pending = undefined;
    this.ledger.settled(taskKey(p.kind, p.round));
    this.refreshAllowance();
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private send(msg: ToClient | ServerHello): void {
    const { socket } = this.opts;
    if (socket.readyState !== socket.OPEN) return;
    const frame = toFrame(msg, this.sealer);
    this.opts.countOut(frame.byteLength);
    socket.send(frame, { binary: true });
  }

  private close(code: number, reason: string): void {
    const { socket } = this.opts;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason.slice(0, 120));
    // a peer that never answers the close handshake is cut off
    setTimeout(() => socket.terminate(), 2000).unref();
  }

  private onSocketClosed(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const message = `client ${this.label()} disconnected (code ${code}${reason ? `, ${reason}` : ''})`;
    if (this.state === 'ready' || this.pending) this.opts.log.warn({ client: this.label(), code }, message);
    // a frame ws refused closed it: the client broke the protocol; otherwise the connection was lost, and the client may come back
    this.settleClosed(this.refused ? new TaskError('protocol', message) : new SessionLost(message));
  }

  private settleClosed(err: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // a protocol error's message says what was wrong, not with whom
    this.closedBecause = err instanceof ProtocolError ? `client ${this.label()} was closed: ${err.message}` : err.message;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.frameTimer);
    this.heartbeat.stop();
    this.opts.budget?.release(this);
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
    this.opts.onClosed(this);
  }
}

const SECURE_REQUIRED =
  'this coordinator requires the secure channel, and the client connected without it (--insecure); give the client --coordinator-key and --key or a join token instead';

const INSECURE_ONLY =
  'this coordinator runs --insecure (plaintext frames, no identities), and the client offered the secure channel; run the client with --insecure too (loopback only)';

/** True when a frame is a handshake's clientHello: what a secure client sends first. */
function isClientHello(frame: Uint8Array): boolean {
  try {
    return decodeMessage(frame, toServerHandshakeSchema, MAX_HANDSHAKE_FRAME_BYTES, CONTROL_LIMITS).type === 'clientHello';
  } catch {
    return false;
  }
}

/** True when a handshake-time frame is a plaintext `hello`: what an --insecure client sends first. */
function isPlaintextHello(frame: Uint8Array): boolean {
  try {
    return decodeMessage(frame, toCoordinatorSchema, MAX_HANDSHAKE_FRAME_BYTES, CONTROL_LIMITS).type === 'hello';
  } catch {
    return false;
  }
}

/**
 * Sets how large a message the socket will buffer before it closes with 1009. ws
 * checks its receiver's limit while reading a frame header, before buffering the
 * payload; the limit is per server, so it is set per socket here (ws 8's receiver
 * field, covered by test/e2e/secure-faults.test.ts so an upgrade that moves it fails loudly).
 */
function setReceiveLimit(socket: WebSocket, bytes: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') throw new Error('ws internals changed: cannot limit pre-authentication frames');
  receiver._maxPayload = bytes;
}

/**
 * Which weights a task carries to a client holding model version `held` (−1: none):
 * nothing when it holds the task's version; with frozen parameters and an earlier
 * version, only the trainable values (its frozen part cannot have changed); else all.
 */
function weightsToSend(
  held: number,
  req: { readonly modelVersion: number; readonly weights: Float32Array; readonly trainableWeights?: Float32Array },
): { weights?: Float32Array; trainable?: Float32Array } {
  if (held === req.modelVersion) return {};
  if (held >= 0 && req.trainableWeights !== undefined) return { trainable: req.trainableWeights };
  return { weights: req.weights };
}
