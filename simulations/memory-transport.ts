import type { AgentOutcome } from '../client/agent.ts';
import { fitResult, reportedMetrics, trainLocally, type TrainingTask } from '../client/local-training.ts';
import { SecAggParticipant } from '../client/secagg-participant.ts';
import type { Trainer } from '../client/trainer.ts';
import type { ClientHandle, EvaluateRequest, FitRequest, SecAggRequest, ServedTransport, Traffic } from '../coordinator/transport.ts';
import { StarlingError, TaskError, errorMessage } from '../shared/errors.ts';
import type { NoiseSource } from '../shared/privacy/index.ts';
import {
  evaluateResultSchema,
  fitResultSchema,
  type EvaluateResult,
  type FitResult,
  type SecAggResultMessage,
  type SecAggTask,
  type SecAggWirePhase,
} from '../shared/protocol/messages.ts';
import { fitResultProblem, maskedInputProblem } from '../coordinator/result-checks.ts';

/** What a virtual client is made of: how it trains, its local-DP noise and its injected faults. */
export interface MemoryClient {
  readonly trainer: Trainer;
  /** Local differential privacy's noise for a round (seeded in simulations). */
  readonly noise?: (round: number) => NoiseSource;
  /** Secure-aggregation dropouts: true leaves the run before answering `phase` of `round`. */
  readonly dropAt?: (round: number, phase: SecAggWirePhase) => boolean;
}

export interface MemoryTransportOptions {
  readonly runId: string;
  /** The virtual clients' names, in index order (client-001 …). */
  readonly names: readonly string[];
  /** Client `index`'s parts, made when a task reaches it (its data rows are read then, not before). */
  readonly client: (index: number) => MemoryClient;
}

/**
 * The in-memory transport: the Transport the WebSocket server implements, for a simulation whose
 * clients all live in this process. A virtual client is a small handle (a name and an index);
 * a task runs the same client code an agent runs (client/local-training.ts, the SecAggParticipant)
 * against the coordinator's own arrays — no socket, handshake, encoding or copy of the model per
 * client — and its training runs on the simulation's worker pool. Its results are checked as the
 * wire boundary checks them. Traffic counts the bytes of the arrays handed over each way.
 *
 * Clients behave as simulated agents over loopback do (they do not reconnect): one that fails
 * a task (its trainer throws, its answer breaks the protocol) or drops out of a secure round
 * leaves the run, and a diverged training fails only that task.
 */
export class MemoryTransport implements ServedTransport {
  readonly url = 'memory:';
  readonly port = 0;
  private readonly handles: VirtualClient[];
  private present: VirtualClient[] | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private ended: string | undefined;

  constructor(private readonly options: MemoryTransportOptions) {
    this.handles = options.names.map((name, index) => new VirtualClient(this, index, name));
  }

  connected(): ClientHandle[] {
    this.present ??= this.handles.filter((h) => h.left === undefined);
    return this.present;
  }

  /** Every client is there from the start and none comes back: fewer than `n` is an error at once, not a wait. */
  async waitForClients(n: number): Promise<void> {
    const here = this.connected().length;
    if (here < n) throw new StarlingError('E_WAIT', `only ${here} of ${n} in-memory clients are still in the run (the others left it)`);
  }

  traffic(): Traffic {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  async finish(reason: string): Promise<void> {
    this.ended = reason;
  }

  async close(): Promise<void> {
    this.ended ??= 'the coordinator stopped';
  }

  /** How each client's part ended: the rounds it trained, or why it left. */
  outcomes(): PromiseSettledResult<AgentOutcome>[] {
    return this.handles.map((h) =>
      h.left !== undefined
        ? { status: 'rejected', reason: h.left }
        : { status: 'fulfilled', value: { rounds: h.fits, reason: this.ended ?? 'the run has not ended' } },
    );
  }

  /** @internal for VirtualClient */
  parts(index: number): MemoryClient {
    return this.options.client(index);
  }

  /** @internal */
  get runId(): string {
    return this.options.runId;
  }

  /** @internal */
  count(sent: number, received: number): void {
    this.bytesOut += sent;
    this.bytesIn += received;
  }

  /** @internal a client left: the next connected() leaves it out */
  departed(): void {
    this.present = undefined;
  }

  /** @internal */
  get over(): string | undefined {
    return this.ended;
  }
}

/** One virtual client as the round loop sees it. */
class VirtualClient implements ClientHandle {
  readonly id: string;
  /** Why it left the run; undefined while it is in it. */
  left: Error | undefined;
  fits = 0;
  private participant: SecAggParticipant | undefined;
  /** The last task given: the next starts when it has settled. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly transport: MemoryTransport,
    private readonly index: number,
    readonly name: string,
  ) {
    this.id = name;
  }

  fit(req: FitRequest, signal: AbortSignal): Promise<FitResult> {
    return this.task(`round ${req.round}`, signal, async () => {
      const parts = this.transport.parts(this.index);
      const update = await trainLocally(parts.trainer, req, req.weights);
      if ('diverged' in update) throw this.couldNot(req.round, 'training', update.diverged);
      const msg = fitResult(req, update, parts.noise);
      this.transport.count(req.weights.byteLength, msg.delta.byteLength);
      const expected = req.trainableWeights?.length ?? req.weights.length;
      this.check(fitResultSchema.safeParse(msg).success ? fitResultProblem(msg, expected, req.weights.length) : 'its fit result does not match the protocol');
      this.fits++;
      return msg;
    });
  }

  evaluate(req: EvaluateRequest, signal: AbortSignal): Promise<EvaluateResult> {
    return this.task(`evaluation of round ${req.round}`, signal, async () => {
      const result = await this.transport.parts(this.index).trainer.evaluate(req.spec, req.weights);
      const msg: EvaluateResult = { type: 'evaluateResult', round: req.round, numExamples: result.numExamples, metrics: { ...result.metrics } };
      this.transport.count(req.weights.byteLength, 0);
      this.check(evaluateResultSchema.safeParse(msg).success ? undefined : 'its evaluation result does not match the protocol');
      return msg;
    });
  }

  /** One secure-aggregation phase, answered by this client's SecAggParticipant for the round, as an agent answers it. */
  secagg(req: SecAggRequest, signal: AbortSignal): Promise<SecAggResultMessage> {
    const round = req.phase === 'maskedInput' ? req.fit.round : req.task.round;
    return this.task(`secure aggregation ${req.phase} phase of round ${round}`, signal, async () => {
      const parts = this.transport.parts(this.index);
      if (parts.dropAt?.(round, req.phase))
        throw new StarlingError('E_DROPOUT', `client ${this.name} drops out of round ${round} before the ${req.phase} phase (fault injection)`);
      if (req.phase === 'advertise' && req.task.phase === 'advertise') {
        this.participant = new SecAggParticipant(req.task, this.transport.runId);
        return this.participant.advertise();
      }
      const p = this.participant;
      if (!p || p.round !== round) throw new StarlingError('E_UNEXPECTED_MESSAGE', `secagg ${req.phase} task for round ${round} without its advertise phase`);
      if (req.phase !== 'maskedInput') {
        const { task } = req;
        if (task.phase === 'shareKeys') return p.shareKeysOffThread(task);
        if (task.phase === 'unmask') {
          this.participant = undefined;
          return p.unmask(task);
        }
        throw new StarlingError('E_UNEXPECTED_MESSAGE', `a second advertise task for round ${round}`);
      }
      const { fit } = req;
      const update = await trainLocally(parts.trainer, fit, fit.weights);
      if ('diverged' in update) {
        this.participant = undefined;
        throw this.couldNot(round, 'secure aggregation', update.diverged);
      }
      // a secure round's metrics leave out a gan's generator loss, as an agent's do
      const metrics = reportedMetrics({ ...update.metrics, generatorLoss: undefined });
      const task: MaskedInputTask = { type: 'secagg', phase: 'maskedInput', senders: [...req.senders], shares: [...req.shares], ...trainingFields(fit) };
      const reply = await p.maskedInput(task, update.delta, update.numExamples, metrics, update.seconds);
      this.transport.count(fit.weights.byteLength, reply.masked.byteLength);
      this.check(maskedInputProblem(reply, req.dimension));
      this.fits++;
      return reply;
    });
  }

  /**
   * Runs a task after the client's previous one, unless the client has left the run; settles at
   * the deadline (`signal`) if the work has not (a pool job cannot be cut short: its late answer
   * is dropped, and the next task waits for it, as an agent's would). A failure other
   * than a reported one (E_TASK: a diverged training) makes the client leave the run.
   */
  private task<T>(what: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    if (this.left) return Promise.reject(new TaskError('disconnected', `client ${this.name} left the run: ${this.left.message}`));
    if (this.transport.over !== undefined) return Promise.reject(new TaskError('other', `client ${this.name}: ${this.transport.over}`));
    if (signal.aborted) return Promise.reject(deadline(this.name, what));
    // one task at a time, in order, as an agent handles them: a task the deadline passed while it waited is not started
    const running = this.tail
      .then(() => {
        if (signal.aborted) throw deadline(this.name, what);
        return work();
      })
      .catch((err: unknown) => {
        if (err instanceof TaskError) throw err;
        this.leave(err);
        // an answer the wire would refuse is a broken protocol, as over a WebSocket; anything else the client's own failure
        const kind = err instanceof StarlingError && err.code === 'E_INVALID_MESSAGE' ? 'protocol' : 'client_error';
        throw new TaskError(kind, `client ${this.name} failed: ${errorMessage(err)}`);
      });
    this.tail = running.then(
      () => undefined,
      () => undefined,
    );
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(deadline(this.name, what));
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** A task the client reports it could not do (it stays in the run), worded as the coordinator words an agent's taskFailed. */
  private couldNot(round: number, what: string, message: string): TaskError {
    return new TaskError('diverged', `client ${this.name} could not do round ${round}'s ${what} (E_DIVERGED): ${message}`);
  }

  /** A result the wire boundary would refuse: the client breaks the protocol, and leaves the run. */
  private check(problem: string | undefined): void {
    if (problem !== undefined) throw new StarlingError('E_INVALID_MESSAGE', `client ${this.name}'s answer is invalid: ${problem}`);
  }

  private leave(err: unknown): void {
    this.participant = undefined;
    this.left ??= err instanceof Error ? err : new Error(String(err));
    this.transport.departed();
  }
}

type MaskedInputTask = Extract<SecAggTask, { phase: 'maskedInput' }>;

/** What a maskedInput task carries of its fit request: the model version, spec, weights, settings and seed. */
function trainingFields(fit: FitRequest): TrainingTask & { readonly weights: Float32Array } {
  return { round: fit.round, modelVersion: fit.modelVersion, spec: fit.spec, weights: fit.weights, config: fit.config, seed: fit.seed };
}

function deadline(name: string, what: string): TaskError {
  return new TaskError('deadline', `client ${name} did not answer the ${what} task before the deadline`);
}
