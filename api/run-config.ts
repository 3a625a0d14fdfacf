import { resolveRunConfig, type RunConfig, type RunConfigInput } from '../shared/config.ts';

/**
 * A run config from a plain object, every field left out taking its default — the same
 * schema and checks as a YAML file and the command line, so `runConfig({ clients: 2, rounds: 3 })`
 * is the run `starling simulate --clients 2 --rounds 3` starts. Typed, so a misspelt field
 * fails to compile; every bad value is reported at once in a ConfigError naming its path.
 */
export function runConfig(input: RunConfigInput = {}, source = 'runConfig'): RunConfig {
  return resolveRunConfig(source, input as Record<string, unknown>);
}
