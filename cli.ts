import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { addRunFlags, int, runFlagOption, runFlags } from './cli/flags.ts';
import { ClientAgent } from './client/agent.ts';
import { reconnectFromFlags } from './client/reconnect.ts';
import { parseNormalizeKind } from './shared/data/normalize.ts';
import { parseRange } from './shared/data/clean.ts';
import { openClientData, parseClientData } from './client/data-source.ts';
import { EngineTrainer } from './client/trainer.ts';
import { startCoordinator } from './coordinator/coordinator.ts';
import type { RoundRecord } from './coordinator/round-loop.ts';
import { BACKENDS, probeAll, selectBackend } from './shared/backend.ts';
import { loadRunConfig, readConfigFile, resolveRunConfig, type RunConfig } from './shared/config.ts';
import { formatPartition } from './shared/data/partition.ts';
import { formatDataSpec, type DataSpec } from './shared/data/source.ts';
import { loadData } from './shared/data/run-data.ts';
import { EngineFactory, decideEngine, type EngineChoice } from './shared/engine/factory.ts';
import { kernelsUnavailable } from './shared/engine/simd/kernels.ts';
import { DEFAULT_MODEL } from './shared/models/spec.ts';
import { ConfigError, StarlingError, errorMessage } from './shared/errors.ts';
import { createLogger, escapeControls, type LogLevel, type Logger } from './shared/log.ts';
import { locateRun, openResumePoint, type ResumePoint } from './coordinator/resume.ts';
import { CODE_VERSION } from './shared/version.ts';
import { simulate } from './simulations/simulate.ts';
import { runsCommand } from './cli/runs.ts';
import { RoundProgress } from './cli/progress.ts';
import { jsonSummary, resumeCommand } from './cli/run-summary.ts';
import { tuneCommand } from './cli/tune.ts';
import { parseAttack } from './simulations/attacks.ts';
import { cleaningLines, dataCommand, dataSummary, parseClassNames } from './cli/data.ts';
import { fromBase64, readIdentityFile, toBase64, writeIdentityFile } from './shared/crypto/identity-file.ts';
import { JOIN_TOKEN_ENV, resolveJoinToken } from './shared/crypto/join-token.ts';
import { KEY_BYTES, generateIdentity } from './shared/crypto/primitives.ts';

/**
 * One entry point: coordinator | client | simulate | tune | runs | data | keygen | doctor. Flags override the
 * config file; both go through the one schema in shared/config.ts, and the run-config flags of
 * coordinator, simulate and client come from the one table in cli/flags.ts.
 */
// a flag error is one line and a hint, not the whole help
const program = new Command()
  .name('starling')
  .description('Federated learning: a coordinator, client agents and local simulations.')
  .version(CODE_VERSION.replace(/^starling /, ''), '-V, --version', 'print the version and exit')
  .showHelpAfterError('(add --help for usage)');

/** coordinator and simulate: the file their flags are layered over. */
const CONFIG_HELP = 'run config (YAML); flags override it';

/** The run's status line on a terminal, while one is shown: log lines are written above it. */
let progress: RoundProgress | undefined;

function logger(level: string | undefined, fallback: LogLevel) {
  return createLogger((level as LogLevel | undefined) ?? fallback, {
    pretty: process.stderr.isTTY,
    write: say,
  });
}

/** A status line for a run of `config.rounds` rounds, `done` of them already run, where stdout and stderr are a terminal and the output is not --json. */
function startProgress(config: RunConfig, done: number, note: string): void {
  if (!RoundProgress.wanted(process.stdout, process.stderr, config.output.json)) return;
  progress = new RoundProgress(process.stdout, process.stderr, config.rounds, done);
  progress.start(note);
}

/** A line for the person on stderr, above the status line when there is one. */
function say(line: string): void {
  if (progress) progress.above(line, process.stderr);
  else process.stderr.write(line);
}

function stopProgress(): void {
  progress?.finish();
  progress = undefined;
}

/**
 * --join-token puts the secret in the process list (ps, /proc) and the shell history: it
 * still works, with a warning on stderr that names the forms that do not leak.
 */
function warnJoinTokenFlag(flags: Record<string, unknown>): void {
  if (flags.joinToken === undefined) return;
  process.stderr.write(
    `starling: warning: --join-token is visible to other users in the process list and stays in your shell history; ` +
      `put the token in a file only you can read and pass --join-token-file FILE, or set ${JOIN_TOKEN_ENV}\n`,
  );
}

/** A client's secure-channel material from its flags (the join token also from STARLING_JOIN_TOKEN); undefined with --insecure. */
function clientSecurity(flags: Record<string, unknown>) {
  if (flags.insecure) return undefined;
  if (!flags.coordinatorKey)
    throw new ConfigError(
      '--coordinator-key BASE64 is required: the client must know which coordinator to trust (or pass --insecure against an --insecure coordinator)',
    );
  const coordinatorKey = fromBase64(String(flags.coordinatorKey), KEY_BYTES, '--coordinator-key');
  const joinToken = resolveJoinToken({ token: flags.joinToken as string | undefined, file: flags.joinTokenFile as string | undefined });
  if (!flags.key && !joinToken) {
    throw new ConfigError(
      `--key FILE is required (make one with \`npx starling keygen --out client.key\`), unless the coordinator admits by join token (--join-token-file FILE, or ${JOIN_TOKEN_ENV})`,
    );
  }
  // joining by token with no key file: a fresh identity for this session
  const identity = flags.key ? readIdentityFile(String(flags.key)) : generateIdentity();
  return { identity, coordinatorKey, joinToken };
}

const MB = 1e6;
/** The fields of a round that --json prints, in this order (absent ones left out). */
const JSON_ROUND_FIELDS = [
  'round',
  'accuracy',
  'loss',
  'seconds',
  'bytesIn',
  'bytesOut',
  'clients',
  'failures',
  'partial',
  'trainLoss',
  'trainAccuracy',
  'mae',
  'r2',
  'trainMae',
  'federated',
  'epsilon',
  'delta',
  'dpSamplingRate',
  'dpSamplingSecret',
  'epsilonUnamplifiedMax',
  'epsilonReplaceOne',
  'secaggErrorBound',
  'skipped',
  'skipReason',
] as const satisfies readonly (keyof RoundRecord)[];

/** A metric for a person: four decimals, or six significant digits for a large error in the targets' own units. */
function formatValue(v: number): string {
  return Math.abs(v) >= 1e4 ? v.toPrecision(6) : v.toFixed(4);
}

/** The last round's score (MAE for regression, else accuracy), then the test split's when a validation split was scored per round. */
function finalScore(last: RoundRecord | null, test: { accuracy?: number; mae?: number } | undefined): string {
  if (last?.mae !== undefined) return `mae ${formatValue(last.mae)}${test?.mae !== undefined ? `, test mae ${formatValue(test.mae)}` : ''}`;
  const testPart = test?.accuracy !== undefined ? `, test accuracy ${test.accuracy.toFixed(4)}` : '';
  return `accuracy ${last?.accuracy?.toFixed(4) ?? 'n/a'}${testPart}`;
}

/** The per-round line a person reads (above the status line on a terminal), or one JSON object per round with --json. */
function roundPrinter(config: RunConfig): (r: RoundRecord) => void {
  const width = String(config.rounds).length;
  return (r) => {
    if (config.output.json) {
      const line = Object.fromEntries(JSON_ROUND_FIELDS.map((k) => [k, r[k]]));
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const regression = config.data.task === 'regression';
    // a regression round is read by its error (in the targets' units) and R², a classifier's by its accuracy
    const score = regression
      ? `mae ${r.mae === undefined ? '   n/a' : formatValue(r.mae)}  r2 ${r.r2 === undefined ? 'n/a' : r.r2.toFixed(4)}`
      : `accuracy ${r.accuracy === null ? '   n/a' : r.accuracy.toFixed(4)}`;
    const loss = r.loss === null ? '   n/a' : formatValue(r.loss);
    const fail = (r.failures ? `  ${r.failures} failed` : '') + (r.partial ? `  ${r.partial} partial` : '');
    const fed = r.federated;
    const fedName = regression ? 'mae' : 'accuracy';
    const fedScore = fed?.metrics[fedName];
    const federated = fed
      ? `  fed ${fedName} ${fedScore === undefined ? 'n/a' : formatValue(fedScore)} (${fed.clients} clients${fed.failures ? `, ${fed.failures} failed` : ''})`
      : '';
    // a replayable sample: the amplified ε assumes a secrecy the run lacks, so the worst client's unamplified ε stands beside it
    const unamplified = r.epsilonUnamplifiedMax !== undefined ? `; without amplification up to ε ${r.epsilonUnamplifiedMax.toFixed(2)}` : '';
    const privacy = r.epsilon !== undefined ? `  ε ${r.epsilon.toFixed(3)} (δ ${r.delta!.toExponential(0)}${unamplified})` : '';
    const skipNote = r.skipped ? `  (skipped: ${r.skipReason ?? 'model unchanged'})` : '';
    const line =
      `round ${String(r.round).padStart(width)}/${config.rounds}  ${score}  loss ${loss}  ${r.seconds.toFixed(2)} s  ` +
      `in ${(r.bytesIn / MB).toFixed(2)} MB  out ${(r.bytesOut / MB).toFixed(2)} MB  clients ${r.clients}${fail}${federated}${privacy}${skipNote}\n`;
    if (progress) progress.round(line, r.round, score.replace(/ {2,}/g, ' ').trim());
    else process.stdout.write(line);
  };
}

const RESUME_HELP = 'continue a stopped or crashed run from its last checkpoint: its run id (or a unique prefix), or its directory runs/<run id>';

/**
 * The run a coordinator or simulate command runs: from --config and flags, or with --resume the
 * stored run's config (flags may change only where it listens, its secrets, limits and output).
 */
function runToStart(flags: Record<string, unknown>, command: 'coordinator' | 'simulate', log: Logger): { config: RunConfig; resume?: ResumePoint } {
  const layer = runFlags(flags, command);
  if (flags.resume === undefined) return { config: loadRunConfig(flags.config as string | undefined, layer) };
  if (flags.config !== undefined)
    throw new ConfigError('--resume continues a run with the config the run store holds for it; --config cannot be given with it');
  // a store named by --store, or beside --out; otherwise the one beside a run directory, or runs/starling.db
  const store = (layer.store as string | undefined) ?? (layer.out !== undefined ? join(String(layer.out), 'starling.db') : undefined);
  const { store: path, id } = locateRun(String(flags.resume), store);
  const resume = openResumePoint(path, id, layer, log, command === 'simulate' ? 'simulation' : 'coordinator');
  const from = resume.checkpoint?.round ?? 0;
  if (!resume.config.output.json) process.stdout.write(`resuming run ${resume.runId} after round ${from} of ${resume.config.rounds}\n`);
  return { config: resume.config, resume };
}

/**
 * SIGINT and SIGTERM stop the run cleanly (`stop`): the round under way is abandoned and the
 * rounds done stay committed. A second signal exits at once; the store and checkpoints are
 * committed atomically, so nothing is left half-written either way.
 */
function stopOnSignals(stop: () => void, log: Logger): void {
  let signals = 0;
  const onSignal = (name: string) => {
    if (++signals > 1) {
      stopProgress();
      process.stderr.write(`starling: ${name} again: exiting now (the rounds committed so far are kept)\n`);
      process.exit(130);
    }
    log.warn(`${name}: stopping; the round under way is abandoned (${name} again exits at once)`);
    stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** The line a stopped run ends with: how to take it up again. */
function resumableLine(command: 'coordinator' | 'simulate', runId: string, rounds: number, config: RunConfig): string {
  if (config.output.store === false) return `run ${runId} stopped after round ${rounds} of ${config.rounds} (store: false, so it cannot be resumed)\n`;
  return `run ${runId} stopped after round ${rounds} of ${config.rounds}; resumable with \`${resumeCommand(command, runId, config.output.store)}\`\n`;
}

addRunFlags(
  program
    .command('coordinator')
    .description('run a coordinator server: wait for N clients, run R rounds, write the history')
    .option('--config <file>', CONFIG_HELP)
    .option('--resume <run>', RESUME_HELP),
  'coordinator',
).action(async (flags: Record<string, unknown>) => {
  warnJoinTokenFlag(flags);
  const { config, resume } = runToStart(flags, 'coordinator', logger(flags.logLevel as string | undefined, 'info'));
  const log = logger(flags.logLevel as string | undefined, config.output.logLevel);
  const coordinator = await startCoordinator(config, { log, onRound: roundPrinter(config), resume });
  if (!config.output.json) process.stdout.write(`coordinator listening on ${coordinator.url}; waiting for ${config.clients} clients\n`);
  stopOnSignals(() => coordinator.stop(), log);
  startProgress(config, resume?.history.length ?? 0, `waiting for ${config.clients} clients`);
  try {
    const result = await coordinator.done;
    stopProgress();
    if (config.output.json) process.stdout.write(`${JSON.stringify(jsonSummary('coordinator', result, config))}\n`);
    else if (result.stopped) process.stdout.write(resumableLine('coordinator', coordinator.runId, result.history.rounds.length, config));
    else process.stdout.write(`run ${result.history.runId} complete; history in ${result.dir ?? '(not written)'}\n`);
  } finally {
    stopProgress();
    await coordinator.close();
  }
});

const client = program
  .command('client')
  .description('run a client agent next to private data')
  .requiredOption('--coordinator <url>', 'coordinator address, e.g. ws://127.0.0.1:7070')
  .option(
    '--data <source>',
    '"mnist" (the embedded digits), idx:<images>,<labels> (IDX files), text:<window>:<path> (a text file) or a CSV file (csv:<path>, or the bare path)',
    'mnist',
  )
  .option('--shard <k/N>', 'with --data mnist: train on shard k of N')
  .option('--label <column>', 'with a CSV file: the label column (class indices, or class names with --classes)')
  .addOption(
    new Option(
      '--task <task>',
      "with a CSV file: regression reads the label column as a real-valued target (the run's task: the same as the coordinator's)",
    ).choices(['classification', 'regression']),
  )
  .option(
    '--classes <names>',
    "with a CSV file whose labels are names: the run's classes in index order, e.g. setosa,versicolor,virginica (the same on every client)",
  )
  .option('--clean', 'with a CSV file: drop rows with missing values or bad labels and exact duplicates (and report them) instead of failing')
  .option('--clean-range <lo,hi>', 'with --clean: also drop rows with a feature outside [lo, hi]')
  .option('--normalize <kind>', "with CSV or IDX data: minmax or zscore, fitted on this client's rows");
addRunFlags(client, 'client')
  .option('--name <name>', "name shown in the coordinator's logs")
  .option('--key <file>', "this client's identity key (starling keygen); optional when joining by token")
  .option('--coordinator-key <base64>', "the coordinator's public key: any other coordinator is refused")
  .option('--join-token-file <file>', `a file (mode 0600) holding the coordinator's join token, when it admits by token; or set ${JOIN_TOKEN_ENV}`)
  .option('--join-token <token>', 'the join token itself (visible in the process list and shell history: prefer --join-token-file)')
  .option('--insecure', 'plaintext frames, no identities (only against an --insecure coordinator)')
  .option('--retries <n>', 'connect again after a refused or dropped connection, with backoff, up to n times in a row (default 8; 0: never)')
  .option('--reconnect-initial <ms>', 'the first wait before connecting again is at most this; each further one doubles (default 500)')
  .option('--reconnect-max <ms>', 'the cap on any wait before connecting again (default 15000)')
  .option('--reconnect-give-up <s>', 'stop trying once the connection has been lost this long, whatever --retries says (default 600)')
  .addOption(runFlagOption('engine'))
  .addOption(runFlagOption('backend'))
  .addOption(runFlagOption('logLevel'))
  .action(async (flags: Record<string, unknown>) => {
    warnJoinTokenFlag(flags);
    const log = logger(flags.logLevel as string | undefined, 'info');
    // the client's run settings (how the MNIST digits are cut) meet the same schema, and its defaults, as the coordinator's
    const settings = resolveRunConfig('flags', runFlags(flags, 'client'));
    const reconnect = reconnectFromFlags(flags);
    const url = String(flags.coordinator);
    if (!/^wss?:\/\//.test(url)) throw new ConfigError(`--coordinator must be a ws:// or wss:// URL, got "${url}"`);
    const data = await openClientData({
      data: parseClientData(String(flags.data)),
      shard: flags.shard as string | undefined,
      label: flags.label as string | undefined,
      task: flags.task as 'classification' | 'regression' | undefined,
      classes: flags.classes === undefined ? undefined : parseClassNames(String(flags.classes)),
      partition: settings.data.partition,
      seed: settings.seed,
      validation: settings.data.validation,
      normalize: flags.normalize === undefined ? undefined : parseNormalizeKind(String(flags.normalize)),
      localValidation: settings.data.localValidation,
      clean: flags.clean || flags.cleanRange ? { range: flags.cleanRange === undefined ? undefined : parseRange(String(flags.cleanRange)) } : undefined,
      report: (line) => log.info(line),
    });
    if (data.holdout) log.info(`holding out ${data.holdout.indices?.length ?? data.holdout.dataset.size} rows for federated evaluation (never trained on)`);
    // the engine is picked per model spec when the first task arrives; a forced choice that cannot work fails now
    if (flags.backend) await selectBackend(flags.backend as string, log);
    const unbuilt = flags.engine === 'simd' ? kernelsUnavailable() : undefined;
    if (unbuilt) throw new ConfigError(`--engine simd: ${unbuilt}`);
    const engines = new EngineFactory({ engine: flags.engine as EngineChoice | undefined, backend: flags.backend as string | undefined, log });
    const name = (flags.name as string | undefined) ?? `${hostname()}-${flags.shard ? String(flags.shard).replace('/', 'of') : process.pid}`;
    const agent = new ClientAgent({
      url,
      name,
      trainer: new EngineTrainer(engines, data.train, data.holdout),
      log,
      security: clientSecurity(flags),
      reconnect,
      heartbeatIntervalMs: settings.server.heartbeatIntervalMs,
    });
    const outcome = await agent.run();
    log.info({ rounds: outcome.rounds }, `done after ${outcome.rounds} rounds: ${outcome.reason}`);
  });

addRunFlags(
  program
    .command('simulate')
    .description('run a coordinator and N client agents on this machine (default: 10 clients, 10 rounds, MNIST, IID)')
    .option('--config <file>', CONFIG_HELP)
    .option('--resume <run>', RESUME_HELP),
  'simulate',
)
  .option('--workers <n>', 'training worker threads (default: cores)', int('--workers'))
  .option('--attack <spec>', 'Byzantine clients send this instead of their delta: sign-flip[:scale=s], scale[:factor=s], gaussian[:sigma=σ]')
  .option('--attackers <k>', 'how many clients attack (the first k; default 0, or 1 with --attack)', int('--attackers'))
  .action(async (flags: Record<string, unknown>) => {
    const { config, resume } = runToStart(flags, 'simulate', logger(flags.logLevel as string | undefined, 'warn'));
    // warnings only, unless --log-level or the config file itself sets logLevel (the schema's default would raise it to info)
    const fileLevel = flags.config ? (readConfigFile(String(flags.config)).logLevel as string | undefined) : undefined;
    const log = logger((flags.logLevel as string | undefined) ?? fileLevel, 'warn');
    if (flags.workers !== undefined && (flags.workers as number) < 1) throw new ConfigError('--workers must be at least 1');
    // the data first: what cleaning dropped is shown before any round
    const data = await loadData(config.data, config.clients, config.seed);
    if (!config.output.json) {
      const { source, partition, testData } = config.data;
      const devices = source.kind === 'synthetic' ? 'one device per client' : formatPartition(partition);
      // the default model already fits the digits; for other data it is resized, which the line says
      const model = config.modelFromData && source.kind !== 'mnist' ? `${config.model.type} sized to the data` : config.model.type;
      if (!resume) {
        process.stdout.write(
          `simulating ${config.clients} clients × ${config.rounds} rounds on ${describeData(source)} ` + `(${model}, ${devices}, seed ${config.seed})\n`,
        );
      }
      const summary = dataSummary(config.data, data);
      for (const line of [...cleaningLines(source, data, testData), ...(summary ? [summary] : [])]) process.stdout.write(`${line}\n`);
    }
    const attackers = (flags.attackers as number | undefined) ?? (flags.attack ? 1 : 0);
    if (attackers < 0 || attackers > config.clients) throw new ConfigError(`--attackers must be between 0 and --clients (${config.clients}), got ${attackers}`);
    if (attackers > 0 && !flags.attack) throw new ConfigError('--attackers needs --attack NAME');
    const attack = flags.attack ? { attack: parseAttack(String(flags.attack)), attackers } : undefined;
    const stopping = new AbortController();
    stopOnSignals(() => stopping.abort(), log);
    const workers = (flags.workers as number | undefined) ?? Math.min(availableParallelism(), config.clients);
    startProgress(
      config,
      resume?.history.length ?? 0,
      `starting ${workers} training worker${workers === 1 ? '' : 's'}${config.server.insecure ? '' : ` and ${config.clients} client identities`}`,
    );
    const result = await simulate(config, {
      log,
      onRound: roundPrinter(config),
      // its port is ephemeral: the address is said once the coordinator listens
      onListening: config.server.dashboard ? (url) => say(`dashboard at ${url.replace('ws://', 'http://')}/dashboard\n`) : undefined,
      workers: flags.workers as number | undefined,
      attack,
      resume,
      signal: stopping.signal,
      data,
    }).finally(stopProgress);
    if (config.output.json) process.stdout.write(`${JSON.stringify(jsonSummary('simulate', result, config))}\n`);
    if (result.stopped) {
      if (!config.output.json) process.stdout.write(resumableLine('simulate', result.history.runId, result.history.rounds.length, config));
      return;
    }
    const failed = result.agents.filter((a) => a.status === 'rejected');
    for (const f of failed) log.warn(`a client agent failed: ${errorMessage((f as PromiseRejectedResult).reason)}`);
    if (!config.output.json) {
      const last = result.history.rounds.at(-1);
      process.stdout.write(
        `done: ${result.history.test ? 'validation ' : ''}${finalScore(last ?? null, result.history.test)} after ${result.history.rounds.length} rounds ` +
          `(${result.workers} workers, ${result.engine} engine); history in ${result.dir ?? '(not written)'}\n`,
      );
    }
  });

program.addCommand(tuneCommand((level) => logger(level, 'warn')));
program.addCommand(runsCommand());

program.addCommand(dataCommand());

program
  .command('keygen')
  .description('write a new Ed25519 identity key file (mode 0600) and print its public key')
  .requiredOption('--out <file>', 'where to write the key, e.g. client.key')
  .option('--force', 'replace an existing file (atomically: a symlink there is replaced, never written through)')
  .action((flags: { out: string; force?: boolean }) => {
    const id = writeIdentityFile(flags.out, { force: flags.force });
    process.stdout.write(`${toBase64(id.publicKey)}\n`);
    process.stderr.write(`wrote ${flags.out} (mode 0600); the line above is its public key, for allowlists and --coordinator-key\n`);
  });

program
  .command('doctor')
  .description('show which engines and tfjs backends are usable here and which Starling picks')
  .addOption(runFlagOption('engine'))
  .addOption(runFlagOption('backend'))
  .action(async (flags: { engine?: EngineChoice; backend?: string }) => {
    const kernels = kernelsUnavailable();
    process.stdout.write('engines:\n');
    process.stdout.write(`${kernels ? 'no  ' : 'ok  '} ${'simd'.padEnd(14)} ${kernels ?? "Starling's WebAssembly SIMD kernels loaded (mlp and cnn models)"}\n`);
    process.stdout.write(`ok   ${'tfjs'.padEnd(14)} every model, on the backend below\n`);
    process.stdout.write('\ntfjs backends:\n');
    for (const p of probeAll()) process.stdout.write(`${p.usable ? 'ok  ' : 'no  '} ${p.name.padEnd(14)} ${p.reason}\n`);
    const chosen = await selectBackend(flags.backend);
    const decision = decideEngine(DEFAULT_MODEL, flags.engine, flags.backend);
    process.stdout.write(`\nselected backend: ${chosen} (first usable in the order ${BACKENDS.join(' → ')})\n`);
    process.stdout.write(`selected engine for the default MLP: ${decision.engine} (${decision.reason})\n`);
    process.stdout.write(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  });

// a reader that stops early (`starling doctor | head`) is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // the message may carry text a peer sent (a refusal, a close reason): escaped like every log line; a config
  // error is this process's own text about the user's own settings, one problem a line, and keeps its lines
  const message = errorMessage(err);
  const shown = err instanceof ConfigError ? message.split('\n').map(escapeControls).join('\n') : escapeControls(message);
  process.stderr.write(`starling: ${shown}\n`);
  // a StarlingError's code is listed in docs/errors.md; anything else is a bug, whose stack STARLING_DEBUG shows
  if (err instanceof StarlingError) process.stderr.write(`  (${err.code}: docs/errors.md)\n`);
  else if (err instanceof Error && process.env.STARLING_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

/** The data of a run, as the first line of `simulate` names it. */
function describeData(data: DataSpec): string {
  if (data.kind === 'mnist') return 'MNIST';
  if (data.kind === 'text') return `the text of ${data.path}`;
  if (data.kind === 'csv') return data.path;
  return formatDataSpec(data);
}
