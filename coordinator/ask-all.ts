import { setMaxListeners } from 'node:events';
import { errorMessage, type TaskFailureKind, taskFailureKind } from '../shared/errors.ts';

/** What one target of `askAll` came to: its answer, or why there is none (failed, disconnected, deadline, refused). */
export type Reply<K, T> = { readonly target: K; readonly value: T } | { readonly target: K; readonly reason: string; readonly kind: TaskFailureKind };

/**
 * Sends a task to every target and collects until all have answered or the deadline
 * passes — the one place the coordinator does this (fit tasks, evaluate tasks, each
 * secure-aggregation phase). `ask` gets the shared deadline's signal (a handle rejects its
 * pending task when it aborts); whatever it returns or throws becomes that target's reply,
 * in the targets' order, so a failure always carries its reason. Work that must happen as
 * each answer arrives (handing a masked vector on at once) belongs inside `ask`.
 */
export async function askAll<K, T>(targets: readonly K[], timeoutMs: number, ask: (target: K, signal: AbortSignal) => Promise<T>): Promise<Reply<K, T>[]> {
  const deadline = new AbortController();
  // one listener per target: a round of more than 10 clients is normal, not a leak
  setMaxListeners(0, deadline.signal);
  // the deadline takes effect once the event loop has read what already arrived: an answer that
  // came while the loop was busy (evaluating a model, say) is not counted late for that
  const timer = setTimeout(() => setImmediate(() => deadline.abort()), timeoutMs);
  try {
    const settled = await Promise.allSettled(targets.map((t) => ask(t, deadline.signal)));
    return settled.map((s, i) =>
      s.status === 'fulfilled'
        ? { target: targets[i]!, value: s.value }
        : { target: targets[i]!, reason: errorMessage(s.reason), kind: taskFailureKind(s.reason) },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Orders clients by name, then id: aggregates and records must not depend on arrival or connection order. */
export function compareClients(a: { readonly name: string; readonly id: string }, b: { readonly name: string; readonly id: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
