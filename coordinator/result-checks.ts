import type { FitResult, SecAggResultMessage } from '../shared/protocol/messages.ts';
import { allFinite } from '../shared/weights.ts';

/** A result claiming more examples than this is refused: no client holds a billion rows, and a huge count would swamp a weighted mean. */
export const MAX_EXAMPLES_PER_RESULT = 1e9;

/**
 * What is wrong with a schema-valid fit result for a task whose delta must have `expected`
 * values (`modelLength` with nothing frozen), or undefined: the checks the WebSocket boundary
 * (client-connection.ts) and the in-memory transport both make.
 */
export function fitResultProblem(msg: FitResult, expected: number, modelLength: number): string | undefined {
  if (msg.delta.length !== expected) {
    const what = expected === modelLength ? '' : ` trainable (of ${modelLength}; frozen parameters are left out)`;
    return `delta has ${msg.delta.length} values, the model has ${expected}${what}`;
  }
  if (!allFinite(msg.delta)) return 'delta contains NaN or Infinity';
  return examplesProblem(msg.numExamples);
}

export function examplesProblem(numExamples: number): string | undefined {
  return numExamples > MAX_EXAMPLES_PER_RESULT ? `numExamples ${numExamples} is absurd` : undefined;
}

/** What is wrong with a masked input for vectors of `expected` words, or undefined. */
export function maskedInputProblem(msg: Extract<SecAggResultMessage, { phase: 'maskedInput' }>, expected: number): string | undefined {
  return msg.masked.length === expected ? undefined : `masked input has ${msg.masked.length} words, the round's vectors have ${expected}`;
}
