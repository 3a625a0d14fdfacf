import { runRounds, type RoundLoopOptions } from '../../coordinator/round-loop.ts';
import { createStrategy } from '../../coordinator/strategies/index.ts';
import { parseStrategySpec } from '../../shared/strategy-spec.ts';
import type { ClientHandle, FitRequest, Transport } from '../../coordinator/transport.ts';
import { fitConfig } from '../../shared/protocol/fit-config.ts';
import { memoryLogger } from '../../shared/log.ts';
import { DEFAULT_MODEL } from '../../shared/models/spec.ts';
import type { FitResult } from '../../shared/protocol/messages.ts';

/** What a fake client answers in a round: an update, a rejection (a dropout, a failed training), or silence until the round's deadline. */
export type Answer = { numExamples: number; delta: number[] } | Error | 'silent';

/**
 * An in-memory Transport: each client answers its fit tasks with what `answer` says, at once.
 * The round loop sees exactly what the WebSocket server would hand it after validation.
 */
export function fakeTransport(answers: Record<string, (round: number, req: FitRequest) => Answer>): Transport & { asked: Map<string, number[]> } {
  const asked = new Map<string, number[]>();
  const handles: ClientHandle[] = Object.entries(answers).map(([name, answer]) => ({
    id: `id-${name}`,
    name,
    fit: async (req: FitRequest, signal: AbortSignal): Promise<FitResult> => {
      asked.set(name, [...(asked.get(name) ?? []), req.round]);
      const a = answer(req.round, req);
      if (a instanceof Error) throw a;
      // as a real connection does: the pending task is rejected when the round's deadline passes
      if (a === 'silent')
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error(`client ${name} missed the round ${req.round} deadline`)), { once: true }),
        );
      return {
        type: 'fitResult',
        round: req.round,
        numExamples: a.numExamples,
        delta: Float32Array.from(a.delta),
        metrics: { loss: 0.5, accuracy: 0.5, epochs: 1 },
        seconds: 0,
      };
    },
    evaluate: () => Promise.reject(new Error('no evaluation in this test')),
    secagg: () => Promise.reject(new Error('no secure aggregation in this test')),
  }));
  return {
    asked,
    connected: () => [...handles],
    waitForClients: async () => {},
    traffic: () => ({ bytesIn: 0, bytesOut: 0 }),
    finish: async () => {},
  };
}

/**
 * The round loop over a scripted transport: every connected client every round (C = 1),
 * `strategy` from its spec string, the model a few values long (`initial`); `over` sets anything else.
 */
export function scriptedLoop(transport: Transport, strategy: string, initial: number[], over: Partial<RoundLoopOptions> = {}) {
  const log = memoryLogger();
  const clients = transport.connected().length;
  const run = runRounds({
    transport,
    strategy: createStrategy(parseStrategySpec(strategy), { clients, sampling: { fraction: 1, min: 1, seed: 1 } }),
    spec: DEFAULT_MODEL,
    initialWeights: Float32Array.from(initial),
    rounds: 2,
    train: fitConfig({ epochs: 1, batchSize: 8, optimizer: 'sgd', lr: 0.1 }),
    seed: 1,
    minFitClients: 1,
    roundTimeoutMs: 5_000,
    waitForClientsTimeoutMs: 1_000,
    log,
    ...over,
  });
  return { log, run };
}
