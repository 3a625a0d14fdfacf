/** Hyperparameter search for whole federated runs: the space, its encoding and the samplers (no I/O beyond reading the space file). */
export {
  type Assignment,
  type ChoiceParam,
  type Condition,
  type FloatParam,
  type IntParam,
  type ParamSpec,
  type SearchSpace,
  activeParams,
  assignmentKey,
  canonicalJson,
  loadSearchSpace,
  parseSearchSpace,
} from './space.ts';
export { decode, encode, sampleAssignment } from './encoding.ts';
export { spaceSize } from './enumerate.ts';
export * from './samplers/index.ts';
