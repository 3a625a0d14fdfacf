import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECT, nextRetry, reconnectFromFlags, retryCapMs, retryDelayMs, type ReconnectOptions } from '../../client/reconnect.ts';
import { ConfigError } from '../../shared/errors.ts';
import { mulberry32 } from '../../shared/rng.ts';

const options: ReconnectOptions = { attempts: 20, initialDelayMs: 100, maxDelayMs: 3000, giveUpAfterMs: 60_000 };

describe('backoff with full jitter', () => {
  it('draws each wait uniformly in [0, cap]; the cap doubles from the first wait up to maxDelayMs', () => {
    expect(Array.from({ length: 8 }, (_, n) => retryCapMs(options, n))).toEqual([100, 200, 400, 800, 1600, 3000, 3000, 3000]);
    const random = mulberry32(7);
    for (let n = 0; n < 12; n++) {
      const cap = retryCapMs(options, n);
      const waits = Array.from({ length: 500 }, () => retryDelayMs(options, n, random));
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...waits)).toBeLessThanOrEqual(cap);
      // spread over the whole window, not bunched near the cap as the old ±25 % was
      expect(Math.min(...waits)).toBeLessThan(cap * 0.1);
      expect(Math.max(...waits)).toBeGreaterThan(cap * 0.9);
    }
    expect(retryDelayMs(options, 3, () => 0)).toBe(0);
    expect(retryDelayMs(options, 3, () => 0.999_999)).toBe(800);
    expect(retryDelayMs(options, 40, () => 0.999_999)).toBe(3000);
  });

  it('gives up after `attempts` failures in a row, or once giveUpAfterMs has passed since the connection was lost, whichever comes first', () => {
    const max = () => 0.999_999;
    expect(nextRetry(options, 0, 0, max)).toBe(100);
    expect(nextRetry(options, 19, 0, max)).toBe(3000);
    expect(nextRetry(options, 20, 0, max)).toBeUndefined();
    // the time limit, with attempts to spare
    expect(nextRetry(options, 2, 59_999, max)).toBe(1);
    expect(nextRetry(options, 2, 60_000, max)).toBeUndefined();
    expect(nextRetry(options, 2, 120_000, max)).toBeUndefined();
    // a wait that would end past the limit is cut short: the last attempt is made at the limit
    expect(nextRetry(options, 10, 58_500, max)).toBe(1500);
  });

  it('keeps the defaults: 8 attempts from a 0.5 s cap up to 15 s, ten minutes at most', () => {
    expect(DEFAULT_RECONNECT).toEqual({ attempts: 8, initialDelayMs: 500, maxDelayMs: 15_000, giveUpAfterMs: 600_000 });
  });
});

describe("the client's reconnect flags", () => {
  it('turn into the agent option; --retries 0 is never', () => {
    expect(reconnectFromFlags({})).toEqual({});
    expect(reconnectFromFlags({ retries: 0 })).toBe(false);
    expect(reconnectFromFlags({ retries: '0', reconnectInitial: '100' })).toBe(false);
    expect(reconnectFromFlags({ retries: '30', reconnectInitial: '100', reconnectMax: '2000', reconnectGiveUp: '1.5' })).toEqual({
      attempts: 30,
      initialDelayMs: 100,
      maxDelayMs: 2000,
      giveUpAfterMs: 1500,
    });
    expect(reconnectFromFlags({ reconnectMax: '500' })).toEqual({ maxDelayMs: 500 });
  });

  it('refuse a bad value with a ConfigError naming the flag', () => {
    const bad: [Parameters<typeof reconnectFromFlags>[0], RegExp][] = [
      [{ retries: '-1' }, /--retries must be an integer of at least 0, got "-1"/],
      [{ retries: 'many' }, /--retries must be an integer/],
      [{ reconnectInitial: '0' }, /--reconnect-initial must be an integer of at least 1, got "0"/],
      [{ reconnectInitial: '1.5' }, /--reconnect-initial must be an integer/],
      [{ reconnectMax: 'soon' }, /--reconnect-max must be an integer of at least 1, got "soon"/],
      [{ reconnectMax: '' }, /--reconnect-max must be an integer/],
      [{ reconnectInitial: '2000', reconnectMax: '1000' }, /--reconnect-max must be at least the first wait \(--reconnect-initial, 2000 ms\), got 1000/],
      [{ reconnectMax: '100' }, /--reconnect-max must be at least the first wait \(--reconnect-initial, 500 ms\)/],
      [{ reconnectGiveUp: '0' }, /--reconnect-give-up must be a number of seconds greater than 0, got "0"/],
      [{ reconnectGiveUp: 'never' }, /--reconnect-give-up must be a number of seconds/],
      [{ reconnectGiveUp: '-5' }, /--reconnect-give-up must be a number of seconds/],
    ];
    for (const [flags, message] of bad) {
      expect(() => reconnectFromFlags(flags), JSON.stringify(flags)).toThrow(ConfigError);
      expect(() => reconnectFromFlags(flags), JSON.stringify(flags)).toThrow(message);
    }
  });
});
