import { z } from 'zod';
import { specField } from '../config/spec-field.ts';
import { ConfigError } from '../errors.ts';

/**
 * The DP setting, from `--dp` / the config:
 *   central:z=1.0,clip=1.0                 fixed clip, noise added by the coordinator
 *   local:z=0.5,clip=2                     each client clips and noises its own update
 *   central:z=1.0,adaptive=0.5[,clip=0.1][,lrClip=0.2][,bitNoise=5]
 *                                          clip adapted to the 0.5-quantile of update norms
 *                                          (clip = the initial clip, default 0.1; lrClip = η_C,
 *                                          default 0.2; bitNoise = σ_b, the std of the noise on
 *                                          the clipped count, default qN/20 chosen by the caller)
 * Adaptive clipping is central only: `local` with `adaptive` is refused (a
 * local-DP clip update would need each client's bit noised on the client).
 */
export type DpMode = 'central' | 'local';

export interface AdaptiveClipSpec {
  /** γ, the quantile of update norms the clip tracks, in (0, 1). */
  readonly targetQuantile: number;
  /** η_C of the geometric update. */
  readonly learningRate: number;
  /** σ_b; undefined means the caller's default (qN/20, `defaultBitNoise`). */
  readonly bitNoise?: number;
}

export interface DpSpec {
  readonly mode: DpMode;
  /** z: noise standard deviation over sensitivity (the total z under adaptive clipping). */
  readonly noiseMultiplier: number;
  /** S: the clip norm, or the initial clip when `adaptive` is set. */
  readonly clip: number;
  readonly adaptive?: AdaptiveClipSpec;
}

export const DEFAULT_INITIAL_CLIP = 0.1;
export const DEFAULT_CLIP_LEARNING_RATE = 0.2;

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).refine((v) => Number.isFinite(v) && v > 0, `${what} must be a finite number > 0`);

/** The object form (config files); the string form parses to this. */
const dpObjectSchema = z.strictObject({
  mode: z.enum(['central', 'local'], { error: 'mode must be central or local' }),
  z: positive('z (the noise multiplier)'),
  clip: positive('clip (the clip norm)').optional(),
  adaptive: z
    .number({ error: 'adaptive must be a number' })
    .refine((v) => v > 0 && v < 1, 'adaptive (the target quantile) must be in (0, 1)')
    .optional(),
  lrClip: positive('lrClip (the clip learning rate)').optional(),
  bitNoise: positive('bitNoise (σ_b, the noise on the clipped count)').optional(),
});
export type DpSpecInput = z.input<typeof dpObjectSchema>;

/** A mapping as an error message quotes it: JSON cut to 200 characters (and one that cannot be written as JSON named as such). */
function shortJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return '(a mapping that cannot be written as JSON)';
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function fail(source: string, message: string): ConfigError {
  return new ConfigError(`invalid DP setting ${JSON.stringify(source)}: ${message}`);
}

/** Validates the object form into a DpSpec; every problem is a ConfigError naming the key. */
export function dpSpecFromObject(input: unknown, source = shortJson(input)): DpSpec {
  const r = dpObjectSchema.safeParse(input);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys')
        return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')} (known: mode, z, clip, adaptive, lrClip, bitNoise)`;
      const key = i.path.join('.');
      return i.message.startsWith(key) || key === '' ? i.message : `${key}: ${i.message}`;
    });
    throw fail(source, msgs.join('; '));
  }
  const v = r.data;
  if (v.adaptive === undefined) {
    if (v.lrClip !== undefined) throw fail(source, 'lrClip is only meaningful with adaptive=<quantile>');
    if (v.bitNoise !== undefined) throw fail(source, 'bitNoise is only meaningful with adaptive=<quantile>');
    if (v.clip === undefined) throw fail(source, 'clip (the clip norm) is required unless adaptive=<quantile> is given');
    return { mode: v.mode, noiseMultiplier: v.z, clip: v.clip };
  }
  if (v.mode === 'local') throw fail(source, 'adaptive clipping is supported with central DP only, not local');
  return {
    mode: v.mode,
    noiseMultiplier: v.z,
    clip: v.clip ?? DEFAULT_INITIAL_CLIP,
    adaptive: {
      targetQuantile: v.adaptive,
      learningRate: v.lrClip ?? DEFAULT_CLIP_LEARNING_RATE,
      ...(v.bitNoise !== undefined ? { bitNoise: v.bitNoise } : {}),
    },
  };
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses `mode:key=value,…` (the `--dp` flag). */
export function parseDpSpec(text: string): DpSpec {
  const source = text;
  const colon = text.indexOf(':');
  if (colon < 0) throw fail(source, 'expected <mode>:<key>=<value>,… e.g. central:z=1.0,clip=1.0');
  const mode = text.slice(0, colon).trim();
  if (mode !== 'central' && mode !== 'local') throw fail(source, `mode must be central or local (got ${JSON.stringify(mode)})`);
  const obj: Record<string, unknown> = { mode };
  const body = text.slice(colon + 1).trim();
  if (body === '') throw fail(source, 'no settings after the mode; z is required');
  for (const part of body.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw fail(source, `expected key=value, got ${JSON.stringify(part.trim())}`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (key === 'mode') throw fail(source, 'the mode goes before the colon, not in mode=');
    if (key in obj) throw fail(source, `${key} is given twice`);
    obj[key] = NUMBER_RE.test(raw) ? Number(raw) : raw; // a non-number stays a string and zod names the key
  }
  if (!('z' in obj)) throw fail(source, 'z (the noise multiplier) is required');
  return dpSpecFromObject(obj, source);
}

/** The canonical string form (parses back to an equal spec). */
export function formatDpSpec(spec: DpSpec): string {
  const parts = [`z=${spec.noiseMultiplier}`, `clip=${spec.clip}`];
  if (spec.adaptive) {
    parts.push(`adaptive=${spec.adaptive.targetQuantile}`, `lrClip=${spec.adaptive.learningRate}`);
    if (spec.adaptive.bitNoise !== undefined) parts.push(`bitNoise=${spec.adaptive.bitNoise}`);
  }
  return `${spec.mode}:${parts.join(',')}`;
}

/** The config field: `central:z=1,clip=1` or its object form, either way a DpSpec. */
export const dpSpecSchema = specField<DpSpec>({ text: parseDpSpec, object: (value) => dpSpecFromObject(value) });
