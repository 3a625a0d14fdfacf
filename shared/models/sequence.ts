import { z } from 'zod';

/**
 * The input of a sequence model: either `seqLen` real-valued steps of `inputDim`
 * features each (the data's features are step-major: step 0's features first),
 * or `seqLen` token ids in [0, vocab) that an embedding of `embed` dimensions maps
 * to vectors (the data's features are the ids, as floats).
 */
export const sequenceInputFields = {
  seqLen: z.number().int().positive().max(4096),
  inputDim: z.number().int().positive().max(65536).optional(),
  vocab: z.number().int().min(2).max(65536).optional(),
  embed: z.number().int().positive().max(4096).optional(),
};

export interface SequenceInput {
  readonly seqLen: number;
  readonly inputDim?: number | undefined;
  readonly vocab?: number | undefined;
  readonly embed?: number | undefined;
}

export function sequenceInputProblem(spec: SequenceInput): string | undefined {
  if ((spec.inputDim === undefined) === (spec.vocab === undefined)) return 'set exactly one of inputDim (real-valued steps) and vocab (token ids)';
  if (spec.embed !== undefined && spec.vocab === undefined) return 'embed applies to token inputs (vocab)';
  return undefined;
}

/** Features per example: one id per step for tokens, inputDim per step otherwise. */
export function sequenceInputSize(spec: SequenceInput): number {
  return spec.vocab !== undefined ? spec.seqLen : spec.seqLen * spec.inputDim!;
}

/** What the registry entries of sequence classifiers share: their input size, classes and token vocabulary. */
export const sequenceClassifier = {
  inputSize: sequenceInputSize,
  outputClasses: (spec: { readonly outputs: number }): number => spec.outputs,
  vocabulary: (spec: SequenceInput): number | undefined => spec.vocab,
};
