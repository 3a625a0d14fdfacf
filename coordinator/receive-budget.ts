import { InvalidArgumentError } from '../shared/errors.ts';
/**
 * A memory budget across sessions: the bytes every connection together may be allowed to
 * receive in one frame at once, beyond the small control allowance each always has. A
 * connection raises its allowance only when it is sent a task (its answer may be as large
 * as the model) and gives it back when the answer arrives, the task is dropped or it closes,
 * so a thousand sessions cannot each hold a model-sized buffer: past the budget, tasks fail
 * for the clients asked last (a recorded round failure), and memory stays bounded.
 */
export class ReceiveBudget {
  readonly capacity: number;
  private used = 0;
  private readonly held = new Map<object, number>();

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new InvalidArgumentError(`a receive budget must be positive, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Bytes reserved now. */
  get reserved(): number {
    return this.used;
  }

  /**
   * Sets `owner`'s reservation to `bytes`. Lowering always succeeds; raising succeeds only
   * within the capacity (false, and the old reservation kept, otherwise).
   */
  resize(owner: object, requested: number): boolean {
    const bytes = Math.max(0, requested);
    const before = this.held.get(owner) ?? 0;
    if (bytes > before && this.used - before + bytes > this.capacity) return false;
    this.used += bytes - before;
    if (bytes > 0) this.held.set(owner, bytes);
    else this.held.delete(owner);
    return true;
  }

  release(owner: object): void {
    this.resize(owner, 0);
  }
}
