import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addRunFlags, runFlags, type RunCommand } from '../../cli/flags.ts';
import { resolveRunConfig } from '../../shared/config.ts';

/** Parses `args` as `command`'s run-config flags alone and returns the flags layer they make. */
function layer(command: RunCommand, args: string[]): Record<string, unknown> {
  const cmd = addRunFlags(new Command(command).exitOverride().configureOutput({ writeErr: () => {} }), command);
  cmd.parse(args, { from: 'user' });
  return runFlags(cmd.opts(), command);
}

describe('the run-config flag table', () => {
  it('maps each given flag to its config key, parsed, and leaves the others out', () => {
    expect(layer('simulate', ['--fraction', '0.5', '--rounds', '3', '--freeze', 'dense0, ,dense1', '--partition', 'shards:2', '--secagg'])).toEqual({
      fractionFit: 0.5,
      rounds: 3,
      freeze: ['dense0', 'dense1'],
      partition: { kind: 'shards', perClient: 2 },
      secagg: true,
    });
    expect(layer('coordinator', ['--port', '7071', '--status-endpoint', '--fraction-evaluate', '0.5'])).toEqual({
      port: 7071,
      statusEndpoint: true,
      fractionEvaluate: 0.5,
    });
  });

  it('gives each command only its own flags', () => {
    expect(() => layer('coordinator', ['--partition', 'iid'])).toThrow(/unknown option '--partition'/);
    expect(() => layer('client', ['--rounds', '2'])).toThrow(/unknown option '--rounds'/);
    expect(layer('client', ['--seed', '7', '--validation', '0.1', '--local-validation', '0.2', '--partition', 'dirichlet:0.5'])).toEqual({
      seed: 7,
      validation: 0.1,
      localValidation: 0.2,
      partition: { kind: 'dirichlet', alpha: 0.5 },
    });
  });

  it("names the flag in a bad value's error, and leaves range checks to the schema", () => {
    expect(() => layer('simulate', ['--rounds', 'ten'])).toThrow(/--rounds must be an integer, got "ten"/);
    expect(() => layer('client', ['--partition', 'wat'])).toThrow(/^--partition: unknown partition "wat"/);
    expect(() => resolveRunConfig('flags', layer('client', ['--seed', '-1']))).toThrow(/invalid run config \(flags\):\n {2}seed: /);
  });

  it("leaves the client's defaults to the schema", () => {
    const settings = resolveRunConfig('flags', layer('client', []));
    expect([settings.data.partition, settings.seed, settings.data.validation, settings.data.localValidation]).toEqual([{ kind: 'iid' }, 42, 0, undefined]);
  });
});
