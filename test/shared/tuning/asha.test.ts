import { describe, expect, it } from 'vitest';
import { checkAsha, jobKey, nextPromotion, type RungResult } from '../../../shared/tuning/asha.ts';

const o = { rungs: [2, 6, 18], eta: 3 };

describe('ASHA promotions', () => {
  it('promotes the top ⌊n/η⌋ of a rung, best first, once each; nothing until a rung has η results', () => {
    const results: RungResult[] = [
      { trial: 0, rung: 0, score: 0.5 },
      { trial: 1, rung: 0, score: 0.9 },
    ];
    const started = new Set([jobKey(0, 0), jobKey(1, 0)]);
    expect(nextPromotion(results, o, started)).toBeUndefined();
    results.push({ trial: 2, rung: 0, score: 0.7 });
    expect(nextPromotion(results, o, started)).toEqual({ trial: 1, rung: 1 });
    started.add(jobKey(1, 1));
    expect(nextPromotion(results, o, started)).toBeUndefined();
    // six results: the top two are promotable; 1 already is, so 4 is next
    results.push({ trial: 3, rung: 0, score: 0.1 }, { trial: 4, rung: 0, score: 0.8 }, { trial: 5, rung: 0, score: null });
    started.add(jobKey(3, 0)).add(jobKey(4, 0)).add(jobKey(5, 0));
    expect(nextPromotion(results, o, started)).toEqual({ trial: 4, rung: 1 });
  });

  it('prefers the highest rung, ignores failures, never promotes past the last rung', () => {
    const results: RungResult[] = [0, 1, 2].map((t) => ({ trial: t, rung: 1, score: t / 10 }));
    results.push({ trial: 3, rung: 0, score: 1 }, { trial: 4, rung: 0, score: 0.2 }, { trial: 5, rung: 0, score: 0.3 });
    results.push({ trial: 6, rung: 2, score: 1 }, { trial: 7, rung: 2, score: 0.9 }, { trial: 8, rung: 2, score: 0.8 });
    expect(nextPromotion(results, o, new Set())).toEqual({ trial: 2, rung: 2 });
    expect(
      nextPromotion(
        [
          { trial: 0, rung: 0, score: null },
          { trial: 1, rung: 0, score: null },
          { trial: 2, rung: 0, score: null },
        ],
        o,
        new Set(),
      ),
    ).toBeUndefined();
    // two failures and one success: n = 3, so the success is the top third
    expect(
      nextPromotion(
        [
          { trial: 0, rung: 0, score: null },
          { trial: 1, rung: 0, score: 0.2 },
          { trial: 2, rung: 0, score: null },
        ],
        o,
        new Set(),
      ),
    ).toEqual({ trial: 1, rung: 1 });
  });

  it('refuses rungs that do not increase and η below 2', () => {
    expect(() => checkAsha({ rungs: [4, 2], eta: 3 })).toThrow(/rungs must increase/);
    expect(() => checkAsha({ rungs: [2, 6], eta: 1 })).toThrow(/eta must be/);
    expect(() => checkAsha({ rungs: [], eta: 3 })).toThrow(/at least one/);
  });
});
