import { z } from 'zod';
import { parseMapping, specField } from '../config/spec-field.ts';
import { ConfigError } from '../errors.ts';

/**
 * Data by name, one grammar for every command: `mnist` (the embedded digits, cut by
 * `partition`), `synthetic:α,β` (the FedProx generator, one device per client), `text:W:path`
 * (a text file as next-character windows of W characters), `idx:<images>,<labels>` (an IDX
 * pair) and `csv:<path>` (a CSV file with a label column; a bare path means the same).
 * A run (coordinator, simulate) reads any of them (run-data.ts); a client any but synthetic.
 */
export type DataSpec =
  | { kind: 'mnist' }
  | { kind: 'synthetic'; alpha: number; beta: number }
  | { kind: 'text'; window: number; path: string }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'csv'; path: string };

const FORMS = 'mnist, synthetic:<alpha>,<beta>, text:<window>:<path>, idx:<images>,<labels> or csv:<path>';

/** Whether `text` is written in the data grammar (a known name or prefix), rather than, say, a bare file path. */
export function isDataSpecText(text: string): boolean {
  return /^(mnist$|synthetic:|text:|idx:|csv:)/.test(text);
}

export function parseDataSpec(text: string): DataSpec {
  if (text === 'mnist') return { kind: 'mnist' };
  const t = /^text:(\d+):(.+)$/.exec(text);
  if (t) {
    const window = Number(t[1]);
    if (!(window >= 1 && window <= 4096)) throw new ConfigError(`text:<window>:<path> needs a window of 1..4096 characters, got ${t[1]}`);
    return { kind: 'text', window, path: t[2]! };
  }
  if (text.startsWith('text:')) throw new ConfigError(`text data is text:<window>:<path> (e.g. text:32:corpus.txt), got "${text}"`);
  const m = /^synthetic:([^,]+),([^,]+)$/.exec(text);
  if (m) {
    const alpha = Number(m[1]);
    const beta = Number(m[2]);
    if (!(alpha >= 0) || !(beta >= 0)) throw new ConfigError(`synthetic:α,β needs two numbers ≥ 0, got "${m[1]}" and "${m[2]}"`);
    return { kind: 'synthetic', alpha, beta };
  }
  if (text.startsWith('idx:')) {
    const paths = text.slice(4).split(',');
    if (paths.length !== 2 || paths.some((p) => p === '')) throw new ConfigError(`idx:<images>,<labels> needs two paths, got "${text}"`);
    return { kind: 'idx', images: paths[0]!, labels: paths[1]! };
  }
  if (text.startsWith('csv:') && text.length > 4) return { kind: 'csv', path: text.slice(4) };
  throw new ConfigError(`unknown data "${text}" (expected ${FORMS})`);
}

/** The short form of a spec (parses back to an equal one). */
export function formatDataSpec(spec: DataSpec): string {
  switch (spec.kind) {
    case 'mnist':
      return 'mnist';
    case 'synthetic':
      return `synthetic:${spec.alpha},${spec.beta}`;
    case 'text':
      return `text:${spec.window}:${spec.path}`;
    case 'idx':
      return `idx:${spec.images},${spec.labels}`;
    case 'csv':
      return `csv:${spec.path}`;
  }
}

const dataObject = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('mnist') }),
    z.strictObject({ kind: z.literal('synthetic'), alpha: z.number().min(0), beta: z.number().min(0) }),
    z.strictObject({ kind: z.literal('text'), window: z.number().int().min(1).max(4096), path: z.string().min(1) }),
    z.strictObject({ kind: z.literal('idx'), images: z.string().min(1), labels: z.string().min(1) }),
    z.strictObject({ kind: z.literal('csv'), path: z.string().min(1) }),
  ],
  { error: 'kind must be mnist, synthetic, text, idx or csv' },
);

/** A run's data field: the short string (a bare path is a CSV file) or the object form. */
export const runDataSpecSchema = specField<DataSpec>({
  text: parseRunData,
  object: (value) => parseMapping(dataObject, value),
});

/** A run's data from its short form: the data grammar, where a bare path (no known prefix) means a CSV file, as `csv:<path>` does. */
export function parseRunData(text: string): DataSpec {
  return isDataSpecText(text) ? parseDataSpec(text) : { kind: 'csv', path: text };
}
