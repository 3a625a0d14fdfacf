import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * A config field written either as a short string (`dirichlet:0.5`, `fedprox:mu=0.1`) or
 * as a mapping (`{ kind: dirichlet, alpha: 0.5 }`): either way it is validated once,
 * here, into the typed spec the rest of the code reads; the parser's message becomes the
 * field's issue, so a config error names the field and says what is wrong with it.
 */
export function specField<T>(parse: { readonly text: (text: string) => T; readonly object: (value: Record<string, unknown>) => T }) {
  return z.union([z.string().min(1), z.record(z.string(), z.unknown())], { error: 'expected a string or a mapping' }).transform((input, ctx): T => {
    try {
      return typeof input === 'string' ? parse.text(input) : parse.object(input);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** `value` checked against a spec's mapping form: the spec, or a ConfigError naming each bad key with its path. */
export function parseMapping<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  return r.data;
}
