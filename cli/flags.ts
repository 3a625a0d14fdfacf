import { type Command, InvalidArgumentError, Option } from 'commander';
import { BACKENDS } from '../shared/backend.ts';
import { runConfigFields, runConfigSchema, type RunConfigInput } from '../shared/config.ts';
import { parsePartition } from '../shared/data/partition.ts';
import { parseRange } from '../shared/data/clean.ts';
import { parseRunData } from '../shared/data/source.ts';
import { ENGINE_CHOICES } from '../shared/engine/factory.ts';
import { JOIN_TOKEN_ENV } from '../shared/crypto/join-token.ts';
import { ConfigError } from '../shared/errors.ts';

/**
 * The run-config flags, in one table: each names the RunConfig key it sets, how its text
 * becomes a value and its help. The commands' options and the flags layer handed to
 * resolveRunConfig are both generated from it, so a flag cannot be declared and then
 * forgotten in the mapping (or mapped to a key it was not meant for).
 */

/** The commands whose settings are run-config keys. */
export type RunCommand = 'coordinator' | 'simulate' | 'client';

interface RunFlag {
  /** The commander flag, with its argument when it takes one: '--max-update-norm <n>'. */
  readonly flag: string;
  /** The RunConfig key the flag sets. */
  readonly path: keyof RunConfigInput;
  /** Turns the flag's text into the value (given the flag's name, for its error); the text itself when absent. */
  readonly parse?: (value: string, flag: string) => unknown;
  readonly choices?: readonly string[];
  readonly help: string;
  /** Where one command means something else by the flag, its own help. */
  readonly helpFor?: Partial<Record<RunCommand, string>>;
  /** The commands that take the flag; coordinator and simulate when absent. */
  readonly commands?: readonly RunCommand[];
}

/** An integer flag value, or the error that names the flag. */
function integer(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} must be an integer, got "${value}"`);
  return n;
}

/** The parser of an integer flag declared outside the table. */
export const int = (flag: string) => (value: string) => integer(value, flag);

/** --local-validation f: a fraction in (0, 0.5]. */
function fraction(value: string, flag: string): number {
  const f = Number(value);
  if (!(f > 0 && f <= 0.5)) throw new InvalidArgumentError(`${flag} must be a fraction in (0, 0.5], got "${value}"`);
  return f;
}

/** --freeze a,b: the layer names, blanks dropped. */
function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A spec flag is parsed as it is read, so its error names the flag rather than a config path. */
function spec<T>(parse: (text: string) => T) {
  return (value: string, flag: string): T => {
    try {
      return parse(value);
    } catch (e) {
      throw new ConfigError(`${flag}: ${(e as Error).message}`);
    }
  };
}

const ALL: readonly RunCommand[] = ['coordinator', 'simulate', 'client'];

/** In the order the commands' help lists them. */
const RUN_FLAGS: readonly RunFlag[] = [
  { flag: '--clients <n>', path: 'clients', parse: integer, help: 'number of virtual clients', helpFor: { coordinator: 'clients to wait for before round 1' } },
  { flag: '--rounds <r>', path: 'rounds', parse: integer, help: 'rounds to run' },
  { flag: '--strategy <spec>', path: 'strategy', help: 'aggregation strategy and parameters, e.g. fedavg, fedprox:mu=0.1, krum:f=1 (see README)' },
  {
    flag: '--max-update-norm <n>',
    path: 'maxUpdateNorm',
    parse: Number,
    help: 'drop (or clip) a client update whose L2 norm exceeds n before aggregation (plain path; see README)',
  },
  {
    flag: '--max-update-norm-action <action>',
    path: 'maxUpdateNormAction',
    help: 'what --max-update-norm does to an update above it: drop (a failure, the default) or clip (scaled down to n)',
  },
  { flag: '--fraction <C>', path: 'fractionFit', parse: Number, help: 'fraction of the clients asked to train each round, in (0, 1]' },
  { flag: '--target-accuracy <a>', path: 'targetAccuracy', parse: Number, help: 'stop after the first round whose test accuracy reaches a' },
  { flag: '--patience <k>', path: 'patience', parse: integer, help: 'stop after k rounds without a better accuracy, keeping the best model' },
  {
    flag: '--validation <f>',
    path: 'validation',
    parse: Number,
    help: 'hold out this fraction of the MNIST training digits to score rounds on (the test split is scored once, at the end)',
    helpFor: { client: "the run's validation fraction (MNIST rows held out by the coordinator; must match it)" },
    commands: ALL,
  },
  {
    flag: '--local-validation <f>',
    path: 'localValidation',
    parse: fraction,
    help: 'federated evaluation: clients hold out this fraction (0, 0.5] of their rows and score each new model on it',
    helpFor: { client: "hold out this fraction (0, 0.5] of this client's rows (stratified, seeded) to score each new model on; never trained on" },
    commands: ALL,
  },
  {
    flag: '--fraction-evaluate <C>',
    path: 'fractionEvaluate',
    parse: Number,
    help: 'fraction of the clients asked to evaluate each round, in (0, 1] (default 1)',
  },
  {
    flag: '--seed <n>',
    path: 'seed',
    parse: integer,
    help: 'seed for partitioning, initial weights and batch orders',
    helpFor: { coordinator: 'seed for initial weights and client batch orders', client: 'partition seed (must match the simulation you mirror)' },
    commands: ALL,
  },
  { flag: '--out <dir>', path: 'out', help: 'directory for history.json and final weights (default runs/)' },
  { flag: '--store <file>', path: 'store', help: 'the run store (SQLite) every run, round and client result is recorded in (default <out>/starling.db)' },
  { flag: '--json', path: 'json', help: 'print one JSON object per round on stdout' },
  { flag: '--init <path>', path: 'init', help: 'start from a saved model: its model.json or a run directory (runs/<run id>)' },
  {
    flag: '--freeze <names>',
    path: 'freeze',
    parse: commaList,
    help: 'comma-separated layers no client updates, e.g. dense0 or conv0,conv1 (only the rest travels)',
  },
  {
    flag: '--dp <spec>',
    path: 'dp',
    help: 'differential privacy: central:z=1.0,clip=1.0 | local:z=…,clip=… | central:z=1.0,adaptive=0.5 (ε per round at --dp-delta)',
  },
  { flag: '--dp-delta <d>', path: 'dpDelta', parse: Number, help: 'the δ of the reported (ε, δ) (default 1e-5)' },
  {
    flag: '--secagg',
    path: 'secagg',
    help: 'secure aggregation: the coordinator only learns the sum of the clipped deltas (averaging strategies only; unweighted unless --secagg-max-examples)',
  },
  {
    flag: '--secagg-threshold <t>',
    path: 'secaggThreshold',
    parse: integer,
    help: 'secure aggregation: shares needed to unmask (default ⌈2n/3⌉, or ⌈2(k+1)/3⌉ with SecAgg+ neighbourhoods)',
  },
  { flag: '--secagg-clip <C>', path: 'secaggClip', parse: Number, help: 'secure aggregation: each client clips its delta to this L2 norm (default 10)' },
  {
    flag: '--secagg-max-examples <W>',
    path: 'secaggMaxExamples',
    parse: integer,
    help: 'secure aggregation: weight the mean by examples, capped at W per client (default: unweighted)',
  },
  {
    flag: '--secagg-neighbours <k>',
    path: 'secaggNeighbours',
    parse: integer,
    help: 'SecAgg+: mask with k neighbours (even); default all pairs up to 64 clients a round, 2⌈log2 n⌉ above',
  },
  { flag: '--engine <name>', path: 'engine', choices: ENGINE_CHOICES, help: 'training engine: simd, tfjs, or auto' },
  { flag: '--backend <name>', path: 'backend', choices: BACKENDS, help: 'force a tfjs backend (implies --engine tfjs unless --engine simd)' },
  { flag: '--log-level <level>', path: 'logLevel', choices: ['debug', 'info', 'warn', 'error', 'silent'], help: 'log verbosity on stderr' },
  {
    flag: '--partition <p>',
    path: 'partition',
    parse: spec(parsePartition),
    help: 'iid, dirichlet:<alpha>, shards:<k> (k label-sorted shards per client) or quantity:<sigma>',
    commands: ['simulate', 'client'],
  },
  {
    flag: '--data <source>',
    path: 'data',
    parse: spec(parseRunData),
    help:
      'mnist, synthetic:<alpha>,<beta>, text:<window>:<path>, idx:<images>,<labels> or a CSV file (csv:<path> or the path): ' +
      'the data a simulation trains on and a run is evaluated on (default mnist)',
  },
  {
    flag: '--task <task>',
    path: 'task',
    choices: ['classification', 'regression'],
    help: 'classification (default), or regression: the CSV label column is a real-valued target (an MLP with MSE loss; rounds report MSE, MAE, R²)',
  },
  { flag: '--label <column>', path: 'label', help: 'with a CSV file: the label column (class indices, or class names; with --task regression, the target)' },
  {
    flag: '--classes <names>',
    path: 'classes',
    parse: commaList,
    help: "with a CSV file: the class names in index order, e.g. setosa,versicolor,virginica (default: the file's distinct labels, sorted)",
  },
  {
    flag: '--clean',
    path: 'clean',
    help: 'with a CSV file: drop rows with missing values, bad labels or duplicate content (each reported) instead of failing',
  },
  { flag: '--clean-range <lo,hi>', path: 'cleanRange', parse: spec(parseRange), help: 'with a CSV file: also drop rows with a feature outside [lo, hi]' },
  {
    flag: '--normalize <kind>',
    path: 'normalize',
    choices: ['minmax', 'zscore'],
    help: 'with CSV or IDX data: scale each feature, fitted on the training rows',
  },
  {
    flag: '--test-data <source>',
    path: 'testData',
    parse: spec(parseRunData),
    help: 'with CSV or IDX data: the test split from this file (same form as --data) instead of a hold-out',
  },
  {
    flag: '--test-fraction <f>',
    path: 'testFraction',
    parse: Number,
    help: 'with CSV or IDX data: the fraction of rows held out (stratified, seeded) as the test split (default 0.2)',
  },
  { flag: '--host <host>', path: 'host', help: 'address to listen on (default 127.0.0.1)', commands: ['coordinator'] },
  { flag: '--port <port>', path: 'port', parse: integer, help: 'port to listen on (default 7070)', commands: ['coordinator'] },
  { flag: '--key <file>', path: 'key', help: "the coordinator's identity key (starling keygen)", commands: ['coordinator'] },
  { flag: '--allow <file>', path: 'allow', help: 'allowlist: client public keys, one per line', commands: ['coordinator'] },
  {
    flag: '--join-token-file <file>',
    path: 'joinTokenFile',
    help: `admit any client that proves it holds the secret in this file (mode 0600, ≥ 16 characters); or set ${JOIN_TOKEN_ENV}`,
    commands: ['coordinator'],
  },
  {
    flag: '--join-token <token>',
    path: 'joinToken',
    help: 'the join token itself (visible in the process list and shell history: prefer --join-token-file)',
    commands: ['coordinator'],
  },
  {
    flag: '--insecure',
    path: 'insecure',
    help: 'run without the secure channel (plaintext frames)',
    helpFor: { coordinator: 'plaintext frames and no identities (loopback only)' },
    commands: ['coordinator', 'simulate'],
  },
  {
    flag: '--status-endpoint',
    path: 'statusEndpoint',
    help: "serve GET /status (progress and the connected clients' names) to anyone who can reach the port",
    commands: ['coordinator'],
  },
  {
    flag: '--metrics-endpoint',
    path: 'metricsEndpoint',
    help: 'serve GET /metrics (Prometheus: rounds, durations, clients, failures by kind, bytes, ε, process) to anyone who can reach the port',
    commands: ['coordinator'],
  },
  {
    flag: '--dashboard',
    path: 'dashboard',
    help: 'serve the live dashboard at http://HOST:PORT/dashboard (loopback only: it has no authentication of its own; reach a remote one through an SSH tunnel)',
    commands: ['coordinator', 'simulate'],
  },
  {
    flag: '--heartbeat-interval <ms>',
    path: 'heartbeatIntervalMs',
    parse: integer,
    help: 'ping every client session this often; one that answers nothing between two pings is cut off as dead (default 15000; 0: off)',
    helpFor: { client: 'ping the coordinator this often; a coordinator silent for two intervals is a lost connection, made again (0: off)' },
    commands: ALL,
  },
  {
    flag: '--stragglers <p>',
    path: 'stragglers',
    parse: Number,
    help: 'probability that a client straggles in a round, running fewer local epochs',
    commands: ['simulate'],
  },
  {
    flag: '--transport <kind>',
    path: 'transport',
    choices: ['auto', 'ws', 'memory'],
    help: 'how the virtual clients reach the coordinator: ws (client agents over loopback WebSockets), memory (in-process handles, for thousands of clients) or auto (ws up to 100 clients)',
    commands: ['simulate'],
  },
];

function takes(entry: RunFlag, command: RunCommand): boolean {
  return (entry.commands ?? ['coordinator', 'simulate']).includes(command);
}

/** The commander option of one table entry, with `command`'s help and `suffix` after it. */
function optionOf(entry: RunFlag, command: RunCommand | undefined, suffix = ''): Option {
  const help = (command === undefined ? undefined : entry.helpFor?.[command]) ?? entry.help;
  const option = new Option(entry.flag, help + suffix);
  const parse = entry.parse;
  if (parse) option.argParser((value: string) => parse(value, option.long!));
  if (entry.choices) option.choices([...entry.choices]);
  return option;
}

/** The schema's default for `path`, worded as commander words an option's own default; empty when it has none. */
function defaultNote(defaults: Record<string, unknown>, path: keyof RunConfigInput): string {
  const value = defaults[path];
  return value === undefined ? '' : ` (default: ${JSON.stringify(value)})`;
}

/**
 * The option of the entry for `path`, for a command that takes the flag outside the run config
 * (the client's --engine, doctor's --backend): one flag, one help text, wherever it appears.
 */
export function runFlagOption(path: keyof RunConfigInput, help?: string): Option {
  const entry = RUN_FLAGS.find((e) => e.path === path);
  if (!entry) throw new Error(`no run-config flag sets ${path}`);
  return optionOf(help === undefined ? entry : { ...entry, help, helpFor: undefined }, undefined);
}

/**
 * Adds `command`'s run-config flags to `cmd`. The options hold no defaults: coordinator and
 * simulate layer the flags over a config file, which a default would override; the schema
 * fills what neither sets. The client, which reads no file, shows the schema's defaults.
 */
export function addRunFlags(cmd: Command, command: RunCommand): Command {
  const defaults = command === 'client' ? runConfigFields(runConfigSchema.parse({})) : undefined;
  for (const entry of RUN_FLAGS.filter((e) => takes(e, command))) {
    cmd.addOption(optionOf(entry, command, defaults ? defaultNote(defaults, entry.path) : ''));
  }
  return cmd;
}

/** The flags layer for resolveRunConfig: each of `command`'s run-config flags that was given, under its key. */
export function runFlags(flags: Record<string, unknown>, command: RunCommand): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const entry of RUN_FLAGS.filter((e) => takes(e, command))) {
    const value = flags[new Option(entry.flag).attributeName()];
    if (value !== undefined) layer[entry.path] = value;
  }
  return layer;
}
