import { describe, expect, it } from 'vitest';
import { SecAggParticipant } from '../../../client/secagg-participant.ts';
import { runSecAggRound, type SecAggRoundOptions } from '../../../coordinator/secagg-round.ts';
import type { ClientHandle, FitRequest, SecAggRequest } from '../../../coordinator/transport.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { SecAggResultMessage, SecAggTask } from '../../../shared/protocol/messages.ts';

/**
 * The coordinator's round against in-process clients: each handle is a SecAggParticipant
 * answering the phases directly (no connection), so what is checked is the round's own
 * choices — its default neighbourhoods and threshold for the round's n — and that the
 * mean comes out right with them.
 */
type Advertise = Extract<SecAggTask, { phase: 'advertise' }>;

/** Participant i answers as client index i + 1 (the round numbers its participants in order); `failAt` makes it fail a phase. */
function clients(n: number, dimension: number, seen: Advertise[], failAt?: (index: number, phase: SecAggRequest['phase']) => boolean) {
  return Array.from({ length: n }, (_, i) => {
    const delta = Float32Array.from({ length: dimension }, (_, j) => Math.sin(i * 31 + j) * 0.1);
    let participant: SecAggParticipant | undefined;
    const handle: ClientHandle = {
      id: `c${i}`,
      name: `client-${i}`,
      fit: () => Promise.reject(new Error('not a plain round')),
      evaluate: () => Promise.reject(new Error('not a plain round')),
      secagg: async (req: SecAggRequest): Promise<SecAggResultMessage> => {
        if (failAt?.(i + 1, req.phase)) throw new Error(`client-${i} drops out`);
        if (req.phase === 'maskedInput')
          return participant!.maskedInput({ type: 'secagg', phase: 'maskedInput', senders: req.senders, shares: req.shares } as never, delta, 1, {}, 0);
        const task = req.task;
        if (task.phase === 'advertise') {
          seen.push(task);
          participant = new SecAggParticipant(task, 'round-test');
          return participant.advertise();
        }
        return task.phase === 'shareKeys' ? participant!.shareKeys(task) : participant!.unmask(task);
      },
    };
    return { handle, delta };
  });
}

async function round(n: number, extra: Partial<SecAggRoundOptions> = {}, failAt?: (index: number, phase: SecAggRequest['phase']) => boolean) {
  const dimension = 50;
  const seen: Advertise[] = [];
  const cs = clients(n, dimension, seen, failAt);
  const outcome = await runSecAggRound({
    round: 1,
    runId: 'round-test',
    participants: cs.map((c) => ({ handle: c.handle, fit: {} as FitRequest })),
    dimension,
    clip: 100,
    phaseTimeoutMs: 30_000,
    log: silentLogger,
    ...extra,
  });
  return { outcome, seen, deltas: cs.map((c) => c.delta) };
}

describe('a secure round’s parameters come from its n', () => {
  it('10 clients: all pairs, t = 7', async () => {
    const { outcome, seen } = await round(10);
    expect(seen[0]).toMatchObject({ clients: 10, threshold: 7 });
    expect(seen[0]!.graph).toBeUndefined();
    expect('mean' in outcome).toBe(true);
  });

  it('70 clients: SecAgg+ with 14 neighbours and t = 10 by default, and the mean is right, a dropout included', async () => {
    const { outcome, seen, deltas } = await round(70, {}, (index, phase) => index === 33 && phase === 'maskedInput');
    expect(seen[0]).toMatchObject({ clients: 70, threshold: 10, graph: { degree: 14 } });
    if (!('mean' in outcome)) throw new Error(outcome.aborted);
    expect(outcome.included).toHaveLength(69);
    const kept = deltas.filter((_, i) => i !== 32);
    for (let j = 0; j < 50; j++) {
      const exact = kept.reduce((a, d) => a + d[j]!, 0) / kept.length;
      expect(Math.abs(outcome.mean[j]! - exact)).toBeLessThanOrEqual(outcome.errorBound + 1e-6);
    }
  });

  it('a run’s explicit neighbours and threshold are kept as given', async () => {
    const explicit = await round(70, { neighbours: 4, threshold: 3 });
    expect(explicit.seen[0]).toMatchObject({ threshold: 3, graph: { degree: 4 } });
    const widened = await round(70, { threshold: 20 });
    expect(widened.seen[0]).toMatchObject({ threshold: 20, graph: { degree: 30 } });
    const allPairs = await round(70, { threshold: 70 });
    expect(allPairs.seen[0]!.graph).toBeUndefined();
    for (const r of [explicit, widened, allPairs]) expect('mean' in r.outcome).toBe(true);
  });
});
