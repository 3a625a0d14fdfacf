import type { z } from 'zod';
import type { InitShape } from './init.ts';

/**
 * What Starling knows of one architecture, with no engine in it: the schema of
 * its spec, its parameters in flat order (each with its init rule) and the data it
 * takes. The registry (registry.ts) holds one per spec type; each engine keeps its
 * own table, keyed by the same type, of how it runs the architecture.
 */
export interface ModelEntry<S extends { readonly type: string }> {
  readonly type: S['type'];
  readonly schema: z.ZodType<S>;
  /** The parameters in flat order (the layout weights are stored, sent and aggregated in), each with its init rule. */
  shapes(spec: S): InitShape[];
  /** Input features per example (flattened). */
  inputSize(spec: S): number;
  /**
   * The classes a classifier predicts (for a regression model: the width of its target rows, the
   * data's `classes`); undefined for a generative model, which ignores labels.
   */
  outputClasses(spec: S): number | undefined;
  /** Whether the model predicts real-valued targets (regression) rather than classes; false when absent. */
  regression?(spec: S): boolean;
  /** With token inputs: the vocabulary size (every feature an id below it); undefined or absent for real-valued inputs. */
  vocabulary?(spec: S): number | undefined;
}
