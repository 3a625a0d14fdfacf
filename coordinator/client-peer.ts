import { TaskError, errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { EvaluateResult, FitResult, SecAggResultMessage } from '../shared/protocol/messages.ts';
import { type ClientConnection, SessionLost, TaskLedger, taskKey } from './client-connection.ts';
import type { ClientHandle, EvaluateRequest, FitRequest, SecAggRequest } from './transport.ts';

export interface PeerOptions {
  /** The id the round loop and strategies know this client by: its first session's, for as long as the peer lives. */
  readonly id: string;
  readonly name: string;
  /** What identifies the client across sessions: its public key (secure channel), or the name it gives (--insecure). */
  readonly identity: string;
  readonly log: Logger;
  /** Called when the peer has neither a session nor a task waiting for one: the server may forget it. */
  onIdle(peer: ClientPeer): void;
}

/**
 * One client identity as the round loop sees it: a stable ClientInfo {id, name} whose tasks
 * go to its current session (a ClientConnection, one connection each). A session lost while a
 * fit or evaluate task is outstanding — the connection dropped, a newer session replaced it, it
 * stopped answering heartbeats — does not fail the task: it waits, until the task's own deadline
 * (its signal), for a new session of the same identity, and is sent again to it as soon as that
 * session has said hello. The new session holds no model yet, so the full weights go; its answer
 * answers the original task. A client that does not come back fails at the deadline, as a silent
 * one does. Results the identity already gave are never counted twice (TaskLedger).
 */
export class ClientPeer implements ClientHandle {
  readonly id: string;
  readonly name: string;
  readonly identity: string;
  /** The identity's answered tasks, shared by all its sessions. */
  readonly ledger = new TaskLedger();
  private readonly opts: PeerOptions;
  private current: ClientConnection | undefined;
  /** How the last session ended, for the reason of a task that waits for the client in vain. */
  private lostReason: string;
  /** Tasks under way (sent, or waiting for a session to be sent to). */
  private busy = 0;
  /** Tasks waiting for a session: woken when one is ready (or the peer ends). */
  private readonly waiting = new Set<() => void>();
  /** The session a secure-aggregation round of this client began on: every later phase belongs to it. */
  private secaggSession: ClientConnection | undefined;
  private ended: string | undefined;

  constructor(opts: PeerOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.name = opts.name;
    this.identity = opts.identity;
    this.lostReason = `client ${opts.name} (${opts.id}) is not connected`;
  }

  /** Whether a session of this client is ready for tasks. */
  get ready(): boolean {
    return this.current?.ready === true;
  }

  /** The current session, when it is ready. */
  get session(): ClientConnection | undefined {
    return this.ready ? this.current : undefined;
  }

  /** A session of this identity said hello: it takes the tasks from now on, and any task waiting for the client goes to it. */
  attach(session: ClientConnection): void {
    session.useLedger(this.ledger);
    this.current = session;
    if (session.name !== this.name)
      this.opts.log.info(
        { client: this.id, name: session.name },
        `client ${this.name} (${this.id}) reconnected under the name ${session.name}; it keeps the name ${this.name} in this run`,
      );
    for (const wake of [...this.waiting]) wake();
  }

  /** `session` closed; `reason` says how (its message), for a task that then waits for the client in vain. */
  detach(session: ClientConnection, reason: string): void {
    if (this.current !== session) return;
    this.current = undefined;
    this.lostReason = reason;
    this.idleCheck();
  }

  /**
   * The run is over or the server is closing: nothing will come back, so tasks waiting for a
   * session fail now (with `reason`) rather than hold their round until its deadline.
   */
  end(reason: string): void {
    this.ended = reason;
    for (const wake of [...this.waiting]) wake();
  }

  fit(req: FitRequest, signal: AbortSignal): Promise<FitResult> {
    return this.forward(taskKey('fitResult', req.round), `round ${req.round}`, signal, (s) => s.fit(req, signal));
  }

  evaluate(req: EvaluateRequest, signal: AbortSignal): Promise<EvaluateResult> {
    return this.forward(taskKey('evaluateResult', req.round), `evaluation of round ${req.round}`, signal, (s) => s.evaluate(req, signal));
  }

  /**
   * One secure-aggregation phase, on the session the round's advertise phase went to. A new
   * session cannot take over a participant: its pairwise keys and shares live in the client's
   * previous session's state, and the others' shares were made for those keys. So a lost session
   * fails its phases at once, as it always did, and the client rejoins at the next round.
   */
  secagg(req: SecAggRequest, signal: AbortSignal): Promise<SecAggResultMessage> {
    const session = this.session;
    if (req.phase === 'advertise') this.secaggSession = session;
    if (!session || session !== this.secaggSession) {
      const why = session ? `client ${this.name} (${this.id}) is on a new session since the round began` : this.lostReason;
      return Promise.reject(new TaskError('disconnected', `${why}: it cannot continue round ${roundOf(req)}'s secure aggregation`));
    }
    return session.secagg(req, signal);
  }

  /**
   * Sends a task to the current session (at once: the caller may expect it on the wire when this
   * returns) and settles with its answer; when the session is lost first, waits for the next one
   * and sends the task again, until `signal` (the task's deadline).
   */
  private forward<T>(key: string, what: string, signal: AbortSignal, send: (session: ClientConnection) => Promise<T>): Promise<T> {
    this.busy++;
    const attempt = async (): Promise<T> => {
      for (let session = this.session; ; session = undefined) {
        session ??= await this.nextSession(key, what, signal);
        try {
          return await send(session);
        } catch (err) {
          if (!(err instanceof SessionLost)) throw err;
          // past the deadline, or with the server closing, the next session's wait fails at once, saying why
          if (!signal.aborted && this.ended === undefined)
            this.opts.log.warn(
              { client: this.name, task: key },
              `${errorMessage(err)} with the ${what} task outstanding; it is sent again if the client reconnects before the deadline`,
            );
        }
      }
    };
    return attempt().finally(() => {
      this.busy--;
      this.idleCheck();
    });
  }

  /** The ready session to send a task to: the current one, or the next to say hello before `signal` aborts. */
  private nextSession(key: string, what: string, signal: AbortSignal): Promise<ClientConnection> {
    return new Promise<ClientConnection>((resolve, reject) => {
      const done = () => {
        this.waiting.delete(wake);
        signal.removeEventListener('abort', wake);
      };
      const wake = () => {
        const failure =
          this.ended !== undefined
            ? `${this.lostReason}; ${this.ended}`
            : signal.aborted
              ? `${this.lostReason}; it did not return before the ${what} deadline`
              : undefined;
        if (failure !== undefined) {
          done();
          // an answer to it that still turns up (on a later session) is a repeat, not a result
          this.ledger.settled(key);
          // its session was lost and it did not come back (or the run ended meanwhile): not a deadline a connected client missed
          return reject(new TaskError(this.ended !== undefined ? 'other' : 'disconnected', failure));
        }
        const session = this.session;
        if (!session) return;
        done();
        resolve(session);
      };
      this.waiting.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      wake();
    });
  }

  private idleCheck(): void {
    if (this.busy === 0 && !this.current) this.opts.onIdle(this);
  }
}

function roundOf(req: SecAggRequest): number {
  return req.phase === 'maskedInput' ? req.fit.round : req.task.round;
}
