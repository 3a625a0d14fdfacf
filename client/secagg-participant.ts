import { protocolError } from '../shared/errors.ts';
import type { SecAggResultMessage, SecAggTask } from '../shared/protocol/messages.ts';
import { clipToNorm } from '../shared/privacy/clip.ts';
import { encode, encodingRange, fixedPoint, maskWorkers, SecAggClient, weightedInput, type FixedPoint, type ShareKeys } from '../shared/secagg/index.ts';

type Task<P extends SecAggTask['phase']> = Extract<SecAggTask, { phase: P }>;
type Reply<P extends SecAggResultMessage['phase']> = Extract<SecAggResultMessage, { phase: P }>;

/**
 * A client's part in one securely aggregated round: the SecAggClient state machine
 * (shared/secagg) fed from the coordinator's tasks, plus the client-side clipping and
 * fixed-point encoding of its delta. The fixed-point parameters are checked here (a scale
 * that could overflow for n clients is refused), so a bad advertise task fails the client.
 */
export class SecAggParticipant {
  readonly round: number;
  private readonly client: SecAggClient;
  private readonly fp: FixedPoint;
  private readonly clip: number;
  /** Values of the delta: the vector's words, less the weight word when weighted. */
  private readonly dimension: number;
  private readonly weightCap: number | undefined;

  constructor(task: Task<'advertise'>, runId: string) {
    this.round = task.round;
    this.clip = task.clip;
    this.weightCap = task.weightCap;
    this.dimension = task.dimension - (task.weightCap !== undefined ? 1 : 0);
    this.fp = fixedPoint({ clip: encodingRange(task.clip, task.weightCap !== undefined), maxClients: task.clients, scale: task.scale });
    this.client = new SecAggClient(
      { runId, round: task.round, clients: task.clients, threshold: task.threshold, dimension: task.dimension, ...(task.graph ? { graph: task.graph } : {}) },
      task.index,
    );
    // the workers start while the client trains, not when its masks are due (a self-mask and one per neighbour)
    const masks = 1 + Math.min(task.graph?.degree ?? task.clients, task.clients - 1);
    maskWorkers().warm(task.dimension * masks);
  }

  advertise(): Reply<'advertise'> {
    const { cPk, sPk } = this.client.advertiseKeys();
    return { type: 'secaggResult', phase: 'advertise', round: this.round, cPk, sPk };
  }

  shareKeys(task: Task<'shareKeys'>): Reply<'shareKeys'> {
    return this.shareKeysReply(this.client.shareKeys({ keys: task.keys }));
  }

  /**
   * shareKeys(), with the two X25519 agreements per neighbour computed on the process's
   * workers: the same reply, and in a simulation the one thread every client shares stays free.
   */
  async shareKeysOffThread(task: Task<'shareKeys'>): Promise<Reply<'shareKeys'>> {
    return this.shareKeysReply(await this.client.shareKeysOffThread({ keys: task.keys }));
  }

  private shareKeysReply({ shares }: ShareKeys): Reply<'shareKeys'> {
    return { type: 'secaggResult', phase: 'shareKeys', round: this.round, shares: shares.map((s) => ({ ...s })) };
  }

  /**
   * Clips the delta to L2 norm C (so every coordinate is in [−C, C]), weights it when asked,
   * encodes it and masks it; the masks are expanded on the process's mask workers
   * (shared/secagg/mask-workers.ts), so the thread that serves the connection, and in a
   * simulation every other client, is not held up by them.
   */
  async maskedInput(
    task: Task<'maskedInput'>,
    delta: Float32Array,
    numExamples: number,
    metrics: Record<string, number>,
    seconds: number,
  ): Promise<Reply<'maskedInput'>> {
    if (delta.length !== this.dimension) throw protocolError.invalid(`the delta has ${delta.length} values, the round's vectors have ${this.dimension}`);
    const { clipped } = clipToNorm(delta, this.clip);
    const { encoded } = encode(this.weightCap !== undefined ? weightedInput(clipped, numExamples, this.weightCap) : clipped, this.fp);
    const { masked, complaints } = await this.client.maskedInputOffThread({ to: this.client.index, senders: task.senders, shares: task.shares }, encoded);
    return {
      type: 'secaggResult',
      phase: 'maskedInput',
      round: this.round,
      masked,
      complaints: complaints.map((c) => ({ about: c.about, reason: c.reason.slice(0, 256) })),
      metrics,
      seconds,
    };
  }

  unmask(task: Task<'unmask'>): Reply<'unmask'> {
    const { selfMaskShares, keyShares } = this.client.unmask({ survivors: task.survivors, dropped: task.dropped });
    return { type: 'secaggResult', phase: 'unmask', round: this.round, selfMaskShares: [...selfMaskShares], keyShares: [...keyShares] };
  }
}
