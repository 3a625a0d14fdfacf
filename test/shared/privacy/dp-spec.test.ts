import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.ts';
import { dpSpecFromObject, formatDpSpec, parseDpSpec } from '../../../shared/privacy/dp-spec.ts';

describe('DP spec', () => {
  it('parses the three forms', () => {
    expect(parseDpSpec('central:z=1.0,clip=1.0')).toEqual({ mode: 'central', noiseMultiplier: 1, clip: 1 });
    expect(parseDpSpec('local:z=0.5,clip=2')).toEqual({ mode: 'local', noiseMultiplier: 0.5, clip: 2 });
    expect(parseDpSpec('central:z=1.0,adaptive=0.5')).toEqual({
      mode: 'central',
      noiseMultiplier: 1,
      clip: 0.1,
      adaptive: { targetQuantile: 0.5, learningRate: 0.2 },
    });
    expect(parseDpSpec('central: z=1.2, adaptive=0.7, clip=0.5, lrClip=0.1, bitNoise=3e0')).toEqual({
      mode: 'central',
      noiseMultiplier: 1.2,
      clip: 0.5,
      adaptive: { targetQuantile: 0.7, learningRate: 0.1, bitNoise: 3 },
    });
  });

  it('round-trips through its canonical string and accepts the object form', () => {
    for (const s of ['central:z=1,clip=1', 'local:z=0.5,clip=2', 'central:z=1,adaptive=0.5,bitNoise=4']) {
      const spec = parseDpSpec(s);
      expect(parseDpSpec(formatDpSpec(spec))).toEqual(spec);
    }
    expect(dpSpecFromObject({ mode: 'central', z: 1, adaptive: 0.5 })).toEqual(parseDpSpec('central:z=1,adaptive=0.5'));
  });

  const bad: [string, RegExp][] = [
    ['central', /expected <mode>:<key>=<value>/],
    ['central:', /z is required/],
    ['global:z=1,clip=1', /mode must be central or local \(got "global"\)/],
    ['central:clip=1', /z \(the noise multiplier\) is required/],
    ['central:z=0,clip=1', /z \(the noise multiplier\) must be a finite number > 0/],
    ['central:z=-1,clip=1', /z .*> 0/],
    ['central:z=abc,clip=1', /z \(the noise multiplier\) must be a number/],
    ['central:z=1,clip=0', /clip \(the clip norm\) must be a finite number > 0/],
    ['central:z=1', /clip \(the clip norm\) is required unless adaptive/],
    ['central:z=1,adaptive=1', /adaptive \(the target quantile\) must be in \(0, 1\)/],
    ['central:z=1,adaptive=0', /adaptive .*\(0, 1\)/],
    ['central:z=1,clip=1,sigma=2', /unknown key sigma/],
    ['central:z=1,clip=1,z=2', /z is given twice/],
    ['central:z=1,clip', /expected key=value, got "clip"/],
    ['local:z=1,adaptive=0.5', /adaptive clipping is supported with central DP only/],
    ['central:z=1,clip=1,lrClip=0.2', /lrClip is only meaningful with adaptive/],
    ['central:z=1,adaptive=0.5,bitNoise=-1', /bitNoise .* > 0/],
    ['central:z=1,adaptive=0.5,lrClip=0', /lrClip .* > 0/],
    ['central:z=Infinity,clip=1', /z .*must be a number/],
  ];
  it.each(bad)('%s is a ConfigError naming the problem', (text, re) => {
    let err: unknown;
    try {
      parseDpSpec(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toContain(JSON.stringify(text));
  });
});
