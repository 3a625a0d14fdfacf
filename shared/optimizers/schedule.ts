import { z } from 'zod';

/**
 * Learning-rate schedules over rounds: the coordinator sends round r's rate with its
 * tasks, so every client of a round trains with the same one. Pure functions; an
 * optional linear warm-up ramps from lr/warmupRounds to lr over the first rounds.
 *   constant:     lr
 *   step:         lr · gamma^⌊(r − 1) / every⌋
 *   exponential:  lr · gamma^(r − 1)
 *   cosine:       minLr + (lr − minLr) · (1 + cos(π·(r − 1)/(R − 1))) / 2   (R = total rounds)
 */
export const scheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('constant'), warmupRounds: z.number().int().min(0).default(0) }),
  z.strictObject({
    type: z.literal('step'),
    every: z.number().int().min(1),
    gamma: z.number().gt(0).max(1).default(0.1),
    warmupRounds: z.number().int().min(0).default(0),
  }),
  z.strictObject({ type: z.literal('exponential'), gamma: z.number().gt(0).max(1), warmupRounds: z.number().int().min(0).default(0) }),
  z.strictObject({ type: z.literal('cosine'), minLr: z.number().min(0).default(0), warmupRounds: z.number().int().min(0).default(0) }),
]);
export type Schedule = z.infer<typeof scheduleSchema>;

export function scheduledRate(s: Schedule, lr: number, round: number, totalRounds: number): number {
  if (s.warmupRounds > 0 && round <= s.warmupRounds) return (lr * round) / s.warmupRounds;
  const r = round - s.warmupRounds; // 1-based after the warm-up
  switch (s.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * s.gamma ** Math.floor((r - 1) / s.every);
    case 'exponential':
      return lr * s.gamma ** (r - 1);
    case 'cosine': {
      const span = Math.max(1, totalRounds - s.warmupRounds - 1);
      return s.minLr + ((lr - s.minLr) * (1 + Math.cos((Math.PI * Math.min(r - 1, span)) / span))) / 2;
    }
  }
}
