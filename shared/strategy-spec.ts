import { z } from 'zod';
import { specField } from './config/spec-field.ts';
import { ConfigError } from './errors.ts';

/**
 * Which strategy a run uses, as data: a discriminated union on `name`, each member
 * with its parameters at their defaults. The run config accepts it as an object
 * (`{ name: fedprox, mu: 0.1 }`) or as the short string `fedprox:mu=0.1`; both parse
 * here once, so the coordinator, the tuner and the history read typed fields.
 */
const serverAdaptive = {
  /** η: the server's step size. */
  lr: z.number().positive().default(0.01),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.99),
  /** τ: the adaptivity floor (v starts at τ²). */
  tau: z.number().positive().default(1e-3),
};
const krumF = z.number().int().min(0).default(1);

const MEMBERS = {
  fedavg: z.strictObject({ name: z.literal('fedavg') }),
  fedsgd: z.strictObject({ name: z.literal('fedsgd') }),
  fedprox: z.strictObject({ name: z.literal('fedprox'), mu: z.number().min(0).default(0.01) }),
  fedavgm: z.strictObject({ name: z.literal('fedavgm'), lr: z.number().positive().default(1), momentum: z.number().min(0).lt(1).default(0.9) }),
  fedadam: z.strictObject({ name: z.literal('fedadam'), ...serverAdaptive }),
  fedyogi: z.strictObject({ name: z.literal('fedyogi'), ...serverAdaptive }),
  fedadagrad: z.strictObject({ name: z.literal('fedadagrad'), ...serverAdaptive }),
  fedmedian: z.strictObject({ name: z.literal('fedmedian') }),
  trimmedmean: z.strictObject({ name: z.literal('trimmedmean'), beta: z.number().min(0).lt(0.5).default(0.2) }),
  krum: z.strictObject({ name: z.literal('krum'), f: krumF }),
  multikrum: z.strictObject({ name: z.literal('multikrum'), f: krumF, m: z.number().int().min(1).optional() }),
} as const;

export type StrategyName = keyof typeof MEMBERS;
export const STRATEGY_NAMES = Object.keys(MEMBERS) as StrategyName[];
export type StrategySpec = { [K in StrategyName]: z.infer<(typeof MEMBERS)[K]> }[StrategyName];
/** One strategy's spec by name, e.g. `SpecOf<'fedprox'>` = { name: 'fedprox'; mu: number }. */
export type SpecOf<K extends StrategyName> = Extract<StrategySpec, { name: K }>;

/** Robust aggregators need every individual update at once: secure aggregation and central DP hide them. */
const NEEDS_EVERY_UPDATE: ReadonlySet<StrategyName> = new Set(['fedmedian', 'trimmedmean', 'krum', 'multikrum']);
export function needsEveryUpdate(spec: StrategySpec): boolean {
  return NEEDS_EVERY_UPDATE.has(spec.name);
}
/** The strategies that work on one combined update (what secure aggregation and DP produce). */
export const AVERAGING_STRATEGIES = STRATEGY_NAMES.filter((n) => !NEEDS_EVERY_UPDATE.has(n));

/** Splits `name` or `name:key=value,…` (numbers) into a lower-cased name and raw parameters; throws a message naming the bad part. */
function splitStrategyText(text: string): Record<string, unknown> {
  const [name, rest] = text.trim().split(/:(.*)/s, 2) as [string, string | undefined];
  const raw: Record<string, unknown> = { name: name.toLowerCase() };
  if (rest !== undefined && rest.trim() !== '') {
    for (const part of rest.split(',')) {
      const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S+)\s*$/.exec(part);
      if (!m) throw new ConfigError(`strategy "${text}": "${part}" is not key=value`);
      const key = m[1]!;
      const value = Number(m[2]);
      if (key === 'name') throw new ConfigError(`strategy "${text}": the name goes before the colon, not in name=`);
      if (Object.hasOwn(raw, key)) throw new ConfigError(`strategy "${text}": ${key} is given twice`);
      if (!Number.isFinite(value)) throw new ConfigError(`strategy "${text}": ${key} must be a number, got "${m[2]}"`);
      raw[key] = value;
    }
  }
  return raw;
}

/** Validates raw `{ name, …params }`: the spec, or one line naming the unknown strategy or each bad parameter. */
function specFromObject(raw: Record<string, unknown>): StrategySpec | string {
  const name = String(raw.name);
  // own keys only: "constructor" or "toString" is an unknown strategy, not Object's
  const member = Object.hasOwn(MEMBERS, name) ? (MEMBERS as Record<string, z.ZodType<StrategySpec>>)[name] : undefined;
  if (!member) return `unknown strategy "${name}" (available: ${STRATEGY_NAMES.join(', ')})`;
  const parsed = member.safeParse(raw);
  if (parsed.success) return parsed.data;
  return `strategy ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'parameters'}: ${i.message}`).join('; ')}`;
}

/** Parses the short form (`fedprox:mu=0.1`, case-insensitive name); throws a ConfigError with the reason. */
export function parseStrategySpec(text: string): StrategySpec {
  const spec = specFromObject(splitStrategyText(text));
  if (typeof spec === 'string') throw new ConfigError(spec);
  return spec;
}

/**
 * The short form of a spec, every parameter written out (defaults too, so a record says what
 * ran even if a default changes later); it parses back to an equal spec.
 */
export function formatStrategySpec(spec: StrategySpec): string {
  const params = Object.entries(spec).filter(([k, v]) => k !== 'name' && v !== undefined);
  return params.length ? `${spec.name}:${params.map(([k, v]) => `${k}=${v}`).join(',')}` : spec.name;
}

/** The config field: the short string or a `{ name, …params }` mapping, either way a typed spec. */
export const strategySpecSchema = specField<StrategySpec>({
  text: parseStrategySpec,
  object: (value) => {
    if (typeof value.name !== 'string') throw new ConfigError(`a strategy mapping needs name: one of ${STRATEGY_NAMES.join(', ')}`);
    const spec = specFromObject({ ...value, name: value.name.toLowerCase() });
    if (typeof spec === 'string') throw new ConfigError(spec);
    return spec;
  },
});

/** How many clients a round asks: C of them, at least the minimum, at most all. */
export function clientsPerRound(s: { readonly clients: number; readonly fraction: number; readonly min: number }): number {
  return Math.min(s.clients, Math.max(s.min, Math.ceil(s.fraction * s.clients)));
}

/**
 * Why a spec cannot run with this many clients a round, or undefined: Krum needs n > 2f + 2
 * in a full round (a round that falls short through dropouts is skipped instead), and
 * Multi-Krum's explicit m at most n − f, since averaging more than the n − f honest updates
 * a round can hold would take a Byzantine one in.
 */
export function perRoundProblem(spec: StrategySpec, perRound: number): string | undefined {
  if (spec.name !== 'krum' && spec.name !== 'multikrum') return undefined;
  const { f } = spec;
  if (perRound <= 2 * f + 2) return `strategy ${spec.name} with f = ${f} needs more than 2f + 2 = ${2 * f + 2} clients per round; this run asks ${perRound}`;
  const m = spec.name === 'multikrum' ? spec.m : undefined;
  if (m !== undefined && m > perRound - f) {
    return `strategy ${spec.name} with f = ${f}: m = ${m} is more than n − f = ${perRound - f} of the ${perRound} clients a round asks (it would average a Byzantine update in)`;
  }
  return undefined;
}

/**
 * Why this strategy cannot be combined with differential privacy or secure aggregation, as
 * (config field, message) pairs: both hand the server step one combined update, so a rule
 * that needs every individual update cannot run under either, and DP-FedAvg clips each
 * client's delta on the coordinator, which under secure aggregation only sees the sum.
 */
export function aggregationProblems(
  spec: StrategySpec,
  run: { readonly dp: boolean; readonly secagg: boolean },
): { field: 'dp' | 'secagg'; message: string }[] {
  const problems: { field: 'dp' | 'secagg'; message: string }[] = [];
  const instead = `use ${AVERAGING_STRATEGIES.join(', ')}`;
  if (run.dp && needsEveryUpdate(spec)) {
    problems.push({
      field: 'dp',
      message: `${spec.name} needs every individual update (a robust aggregator), which differential privacy's clipped, noised average replaces; ${instead}`,
    });
  }
  if (run.secagg && needsEveryUpdate(spec)) {
    problems.push({
      field: 'secagg',
      message: `${spec.name} needs every individual update (a robust aggregator), which secure aggregation hides from the coordinator; ${instead}`,
    });
  }
  if (run.dp && run.secagg) {
    problems.push({
      field: 'dp',
      message:
        'differential privacy together with secure aggregation is not supported yet ' +
        "(DP-FedAvg clips each client's delta on the coordinator, which under secagg only sees the sum); drop one of dp or secagg",
    });
  }
  return problems;
}
