import type { z } from 'zod';
import { ConfigError } from '../../shared/errors.ts';
import { fedAdagrad, fedAdagradParams } from './fedadagrad.ts';
import { fedAdam, fedAdamParams } from './fedadam.ts';
import { fedAvg, fedAvgParams } from './fedavg.ts';
import { fedAvgM, fedAvgMParams } from './fedavgm.ts';
import { fedMedian, fedMedianParams } from './fedmedian.ts';
import { fedProx, fedProxParams } from './fedprox.ts';
import { fedSgd, fedSgdParams } from './fedsgd.ts';
import { fedYogi, fedYogiParams } from './fedyogi.ts';
import { krum, krumParams } from './krum.ts';
import { multiKrum, multiKrumParams } from './multikrum.ts';
import type { Strategy, StrategyContext } from './strategy.ts';
import { trimmedMeanParams, trimmedMeanStrategy } from './trimmed-mean.ts';

/** The explicit registry of strategies (nothing registers itself on import): a parameter schema and a factory each. */
interface Entry<S extends z.ZodType> {
  readonly params: S;
  readonly create: (params: z.infer<S>, ctx: StrategyContext) => Strategy;
}
const entry = <S extends z.ZodType>(params: S, create: (p: z.infer<S>, ctx: StrategyContext) => Strategy): Entry<z.ZodType> =>
  ({ params, create }) as unknown as Entry<z.ZodType>;

const REGISTRY: Record<string, Entry<z.ZodType>> = {
  fedavg: entry(fedAvgParams, fedAvg),
  fedsgd: entry(fedSgdParams, fedSgd),
  fedprox: entry(fedProxParams, fedProx),
  fedavgm: entry(fedAvgMParams, fedAvgM),
  fedadam: entry(fedAdamParams, fedAdam),
  fedyogi: entry(fedYogiParams, fedYogi),
  fedadagrad: entry(fedAdagradParams, fedAdagrad),
  fedmedian: entry(fedMedianParams, fedMedian),
  trimmedmean: entry(trimmedMeanParams, trimmedMeanStrategy),
  krum: entry(krumParams, krum),
  multikrum: entry(multiKrumParams, multiKrum),
};

export const STRATEGY_NAMES = Object.keys(REGISTRY);

/** Parses `name` or `name:key=value,key=value` (numbers) into a name and raw parameters. */
export function parseStrategySpec(text: string): { name: string; params: Record<string, number> } {
  const [name, rest] = text.trim().split(/:(.*)/s, 2) as [string, string | undefined];
  const params: Record<string, number> = {};
  if (rest !== undefined && rest.trim() !== '') {
    for (const part of rest.split(',')) {
      const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S+)\s*$/.exec(part);
      if (!m) throw new ConfigError(`strategy "${text}": "${part}" is not key=value`);
      const value = Number(m[2]);
      if (!Number.isFinite(value)) throw new ConfigError(`strategy "${text}": ${m[1]} must be a number, got "${m[2]}"`);
      params[m[1]!] = value;
    }
  }
  return { name: name.toLowerCase(), params };
}

/** Builds the strategy a spec names, validating its parameters with a message per bad one. */
export function createStrategy(spec: string, ctx: StrategyContext): Strategy {
  const { name, params } = parseStrategySpec(spec);
  const e = REGISTRY[name];
  if (!e) throw new ConfigError(`unknown strategy "${name}" (available: ${STRATEGY_NAMES.join(', ')})`);
  const parsed = e.params.safeParse(params);
  if (!parsed.success) {
    throw new ConfigError(`strategy ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'parameters'}: ${i.message}`).join('; ')}`);
  }
  return e.create(parsed.data, ctx);
}

export type { Strategy } from './strategy.ts';
