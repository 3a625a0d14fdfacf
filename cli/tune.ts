import { Command, InvalidArgumentError, Option } from 'commander';
import { runFlagOption } from './flags.ts';
import { readConfigFile, resolveRunConfig } from '../shared/config.ts';
import { formatPartition } from '../shared/data/partition.ts';
import { formatDataSpec } from '../shared/data/source.ts';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { parseSearchSpace, type Assignment, type SearchSpace } from '../shared/tuning/space.ts';
import { checkAsha } from '../shared/tuning/asha.ts';
import { gridSize } from '../shared/tuning/samplers/index.ts';
import { autoRungs, autoSpace, parseDuration } from '../simulations/tuning/auto.ts';
import { tune, type SearchMethod, type TrialReport } from '../simulations/tuning/tune.ts';

/** `starling tune`: its flags, and the table it prints. */
export function tuneCommand(makeLogger: (level: string | undefined) => Logger): Command {
  const int = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
  return new Command('tune')
    .description('search hyperparameters of a federated run: every trial a real simulation, scored on a validation split')
    .option('--space <file>', 'search space (YAML: params, and base settings shared by every trial)')
    .addOption(new Option('--method <m>', 'grid, random or bayes (a Gaussian process with expected improvement)').choices(['grid', 'random', 'bayes']))
    .option('--trials <n>', 'trials to start at most (default 20; grid: the whole grid; --auto: until the budget)', int('--trials'))
    .option('--rungs <list>', 'ASHA early stopping: round counts, e.g. 2,6,18 (default: every trial runs the base rounds)')
    .option('--eta <n>', 'ASHA: promote the top 1/eta of each rung (default 3)', int('--eta'))
    .option('--parallel <n>', 'trials at once (default: cores; the cores are shared among them)', int('--parallel'))
    .option('--seed <n>', 'seed of the search (the trials keep the base seed)', seedFlag, 42)
    .option('--grid-points <k>', 'grid: values per continuous parameter (default 3)', int('--grid-points'))
    .option('--config <file>', "a run config whose settings every trial starts from (the space file's base wins)")
    .addOption(runFlagOption('clients', 'clients per trial'))
    .addOption(runFlagOption('rounds', 'rounds per trial (the last rung with --rungs)'))
    .addOption(runFlagOption('partition'))
    .option('--auto', 'AutoML preset: optimizer, lr, batch size, epochs, strategy (+ mu), MLP vs CNN, Bayesian search with ASHA')
    .option('--budget <time>', 'stop starting trials after this long, e.g. 10m (--auto: 10m); running trials stop after their round')
    .option('--out <dir>', 'where starling.db (the record of the trials), best.yaml and best-model/ go (a search recorded there is resumed)')
    .option('--json', 'one JSON object per finished trial, then one for the result')
    .option('--log-level <level>', 'log verbosity on stderr')
    .action(async (flags: Record<string, unknown>) => {
      const log = makeLogger(flags.logLevel as string | undefined);
      if (!flags.auto && !flags.space) throw new ConfigError('--space FILE is required (or --auto for the preset search)');
      if (flags.auto && flags.space) throw new ConfigError('--auto searches its own space; drop --space (or drop --auto)');
      const file = flags.space ? readSpaceFile(String(flags.space)) : { space: autoSpace(), base: {} };
      const runSettings = { clients: flags.clients, rounds: flags.rounds, partition: flags.partition };
      const base: Record<string, unknown> = { ...(flags.config ? readConfigFile(String(flags.config)) : {}), ...file.base };
      for (const [k, v] of Object.entries(runSettings)) if (v !== undefined) base[k] = v;
      base.validation ??= 0.1;
      // trials are simulations with keys of their own: a join token is of no use to them, and would be recorded in the search's store and best.yaml
      delete base.joinToken;
      delete base.joinTokenFile;
      const resolved = resolveRunConfig(`base settings${flags.space ? ` of ${String(flags.space)}` : ''}`, base);
      const method = (flags.method as SearchMethod | undefined) ?? (flags.auto ? 'bayes' : undefined);
      if (!method) throw new ConfigError('--method grid|random|bayes is required');
      // --auto is a time-boxed search: 10 minutes unless told otherwise
      const budgetText = (flags.budget as string | undefined) ?? (flags.auto ? '10m' : undefined);
      const budget = budgetText ? parseDurationFlag(budgetText) : undefined;
      const rungs = flags.rungs ? parseRungs(String(flags.rungs)) : flags.auto ? autoRungs(resolved.rounds) : undefined;
      if (rungs && flags.rounds !== undefined && rungs.at(-1) !== flags.rounds)
        throw new ConfigError(
          `--rungs ${rungs.join(',')} ends at ${rungs.at(-1)} rounds but --rounds is ${String(flags.rounds)}: the last rung is the trials' full length`,
        );
      if (flags.eta !== undefined && !rungs) throw new ConfigError('--eta needs --rungs (it is the fraction of each rung promoted to the next)');
      try {
        if (rungs) checkAsha({ rungs, eta: (flags.eta as number | undefined) ?? 3 });
      } catch (e) {
        throw new ConfigError(`--rungs/--eta: ${(e as Error).message}`);
      }
      const grid = method === 'grid' ? gridSize(file.space, (flags.gridPoints as number | undefined) ?? 3) : undefined;
      const trials = (flags.trials as number | undefined) ?? grid ?? (flags.auto ? 100_000 : 20);
      if (grid !== undefined && trials < grid && !flags.json) {
        process.stderr.write(
          `note: the grid has ${grid} points and --trials is ${trials}: the first parameters will not vary (file order, last varies fastest)\n`,
        );
      }
      const out = (flags.out as string | undefined) ?? `runs/tune-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const started = performance.now();
      if (!flags.json) {
        const rounds = rungs ? rungs.join('/') : resolved.rounds;
        process.stdout.write(
          `tuning ${resolved.clients} clients × ${rounds} rounds on ${formatDataSpec(resolved.data.source)} ` +
            `(${formatPartition(resolved.data.partition)}), ${method} search` +
            `${budget ? `, budget ${budgetText}` : `, ${trials} trials`}; scored on a ${resolved.data.validation} validation split; record in ${out}\n`,
        );
      }
      const printer = flags.json ? (r: TrialReport) => process.stdout.write(`${JSON.stringify(r)}\n`) : tablePrinter();
      const result = await tune({
        space: file.space,
        base,
        method,
        trials,
        seed: flags.seed as number,
        rungs,
        eta: flags.eta as number | undefined,
        gridPoints: flags.gridPoints as number | undefined,
        parallel: flags.parallel as number | undefined,
        deadline: budget ? Date.now() + budget : undefined,
        out,
        log,
        onResult: printer,
      });
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        const summary = {
          kind: 'summary',
          best: result.best,
          test: result.test,
          roundsSpent: result.roundsSpent,
          fullRounds: result.fullRounds,
          stoppedByBudget: result.stoppedByBudget,
          seconds,
        };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      if (result.resumed) process.stdout.write(`(resumed: ${result.resumed} results came from the record)\n`);
      if (result.stoppedByBudget) process.stdout.write(`budget reached after ${seconds.toFixed(0)} s: the best found so far\n`);
      if (!result.best) {
        process.stdout.write('no trial finished with a score\n');
        process.exitCode = 1;
        return;
      }
      const b = result.best;
      process.stdout.write(`best: trial ${b.trial}, validation accuracy ${b.score.toFixed(4)} after ${b.rounds} rounds: ${describe(b.assignment)}\n`);
      if (result.test) process.stdout.write(`test accuracy of the best configuration (scored once): ${result.test.accuracy.toFixed(4)}\n`);
      process.stdout.write(`rounds spent: ${result.roundsSpent} (every trial at full length: ${result.fullRounds}); ${seconds.toFixed(1)} s\n`);
      process.stdout.write(`wrote ${b.configFile} (npx starling simulate --config ${b.configFile}) and the best model in ${b.modelDir}/\n`);
    });
}

function readSpaceFile(path: string): { space: SearchSpace; base: Record<string, unknown> } {
  const doc = readConfigFile(path);
  const { base, ...rest } = doc as { base?: unknown };
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base)))
    throw new ConfigError(`${path}: base must be a mapping of run settings`);
  return { space: parseSearchSpace(rest, path), base: (base ?? {}) as Record<string, unknown> };
}

function seedFlag(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`--seed must be a whole number from 0 to 2^32 − 1, got "${v}"`);
  return n;
}

function parseRungs(text: string): number[] {
  const rungs = text.split(',').map((s) => Number(s.trim()));
  if (rungs.some((r) => !Number.isInteger(r) || r < 1)) throw new ConfigError(`--rungs must be round counts like 2,6,18, got "${text}"`);
  return rungs;
}

function parseDurationFlag(text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new ConfigError(`--budget: ${(e as Error).message}`);
  }
}

function describe(a: Assignment): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : typeof v === 'object' ? describeObject(v) : String(v)}`)
    .join(' ');
}

function describeObject(v: unknown): string {
  const o = v as { type?: string; hidden?: number[] };
  return o.type === 'mlp' ? `mlp${JSON.stringify(o.hidden ?? [])}` : (o.type ?? JSON.stringify(v));
}

/** The live table: a header, then a line per finished trial (a * marks a new best). */
function tablePrinter(): (r: TrialReport) => void {
  process.stdout.write(`${'trial'.padStart(5)} ${'rung'.padStart(4)} ${'rounds'.padStart(6)} ${'val acc'.padStart(8)} ${'seconds'.padStart(8)}  parameters\n`);
  return (r) => {
    const score = r.status === 'ok' ? r.score!.toFixed(4) : r.status;
    process.stdout.write(
      `${String(r.trial).padStart(5)} ${String(r.rung).padStart(4)} ${String(r.rounds).padStart(6)} ${score.padStart(8)}${r.best ? '*' : ' '}` +
        `${r.seconds.toFixed(1).padStart(8)}  ${describe(r.assignment)}${r.error ? `  (${r.error})` : ''}\n`,
    );
  };
}
