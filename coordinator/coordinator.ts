import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { RunConfig } from '../shared/config.ts';
import { formatDataSpec } from '../shared/data/source.ts';
import { loadData, type LoadedData } from '../shared/data/run-data.ts';
import { fitModelToData } from '../shared/config/model-from-data.ts';
import type { Engine, EvalMetrics } from '../shared/engine/engine.ts';
import { EngineFactory } from '../shared/engine/factory.ts';
import { CheckpointError, ConfigError, errorMessage } from '../shared/errors.ts';
import type { Admission } from '../shared/crypto/handshake.ts';
import { readAllowlist, readIdentityFile, toBase64 } from '../shared/crypto/identity-file.ts';
import { JOIN_TOKEN_ENV, resolveJoinToken } from '../shared/crypto/join-token.ts';
import type { Identity } from '../shared/crypto/primitives.ts';
import type { Logger } from '../shared/log.ts';
import { initWeights, inputSize, outputClasses, paramCount } from '../shared/models/registry.ts';
import { loadInitialModel } from '../shared/models/initial-model.ts';
import { formatDpSpec } from '../shared/privacy/dp-spec.ts';
import { fitConfig } from '../shared/protocol/fit-config.ts';
import { formatStrategySpec } from '../shared/strategy-spec.ts';
import { CODE_VERSION } from '../shared/version.ts';
import { trainableLayout } from '../shared/trainable.ts';
import { scheduledRate } from '../shared/optimizers/schedule.ts';
import { publicConfig, writeRun, sha256, peakRssBytes, type RunHistory } from './history.ts';
import { RunRecorder } from './store/run-recorder.ts';
import type { ResumePoint } from './resume.ts';
import type { Checkpoint } from './store/checkpoint-file.ts';
import type { FitFailure, ResultRecord, Strategy, StrategyContext } from './strategies/strategy.ts';
import { runRounds, type RoundRecord } from './round-loop.ts';
import { CoordinatorMetrics } from './metrics.ts';
import { DashboardFeed } from './dashboard/feed.ts';
import { CoordinatorServer } from './server.ts';
import { SECAGG_PLUS_ABOVE } from './secagg-round.ts';
import { maskWorkers } from '../shared/secagg/index.ts';
import type { ServedTransport } from './transport.ts';
import { defaultMaxPayloadBytes, defaultReceiveBudgetBytes, largestAnswerBytes } from './frame-limits.ts';
import { createAggregation, type RunAggregation } from './strategies/index.ts';
import type { PrivacyLedger } from './strategies/combine/privacy-ledger.ts';
import { secretRng } from './strategies/sampling.ts';
import type { NoiseSource } from '../shared/privacy/index.ts';

export interface CoordinatorOptions {
  readonly log: Logger;
  readonly onRound?: (record: RoundRecord) => void;
  /** Each round's results and failures by client (a failure's `kind` says why in a word), as they are collected, before onRound. */
  readonly onClients?: (round: number, results: readonly ResultRecord[], failures: readonly FitFailure[]) => void;
  /** Engine for central evaluation; chosen by `config.engine` / `config.backend` when absent. */
  readonly engine?: Engine & { backend?: string };
  /** Write history.json and final weights under `config.out` (default true). */
  readonly writeHistory?: boolean;
  /** Identity and admission given directly (simulations, tests) instead of `config.key` / `config.allow` files. */
  readonly security?: { readonly identity: Identity; readonly admission: Admission };
  /** With a validation split: score the kept model on the test split at the end (default true; tuning trials never look at it). */
  readonly scoreTest?: boolean;
  /** Asked after each round: true ends the run there. */
  readonly shouldStop?: () => boolean;
  /** The noise of central differential privacy; a CSPRNG keyed from crypto.randomBytes when absent (simulations pass a seeded one). */
  readonly noise?: NoiseSource;
  /**
   * Under central DP, draw each round's clients from the run seed (simulations: runs reproduce)
   * instead of the OS's CSPRNG. Anyone with the config can then replay who trained when, so ε's
   * amplification by sampling does not hold: rounds and history.json add each client's unamplified ε.
   */
  readonly replayableSampling?: boolean;
  /** The run's data, already loaded (loadData of config.data): a simulation reads it once for its clients and the coordinator. */
  readonly data?: LoadedData;
  /** Continue this run from its last good checkpoint (coordinator/resume.ts openResumePoint) instead of starting a new one. */
  readonly resume?: ResumePoint;
  /**
   * A strategy of the program's own, run instead of the one `config.strategy` names. Its
   * snapshot and restore carry its state through checkpoints, so a resumed run must be given
   * the same strategy again.
   */
  readonly strategy?: StrategyChoice;
  /**
   * The initial global model in `config.model`'s flat layout (a tfjs model object's own
   * weights, from tfjsModelSpec); `init:` and a checkpoint take precedence. Seeded weights when absent.
   */
  readonly initialWeights?: Float32Array;
  /**
   * Serve the run over this transport, made for the run's id, instead of listening for
   * WebSocket clients: a simulation's in-memory transport (simulations/memory-transport.ts).
   * Nothing crosses a process boundary then, so no identity or channel is set up.
   */
  readonly transport?: (runId: string) => ServedTransport;
}

/** A strategy object, or a factory given the run's client-sampling context (to build on createStrategy). */
export type StrategyChoice = Strategy | ((ctx: StrategyContext) => Strategy);

/**
 * The aggregation of a strategy the program passed. Differential privacy replaces a
 * strategy's combiner with its noised release, which would silently drop the program's:
 * refused. So is a combiner that needs every update under secure aggregation, which hides them.
 */
function programAggregation(choice: StrategyChoice, ctx: StrategyContext, config: RunConfig): RunAggregation {
  if (config.privacy.dp) throw new ConfigError('dp cannot be combined with a strategy passed in the options: the DP release replaces its combiner');
  const strategy = typeof choice === 'function' ? choice(ctx) : choice;
  if (config.secagg && strategy.combiner.needsEveryUpdate)
    throw new ConfigError(`strategy ${strategy.name} needs every individual update, which secure aggregation hides`);
  return { strategy };
}

/**
 * The secure channel's material from the options or the config's files; undefined only when insecure.
 * The join token comes from joinToken, joinTokenFile or STARLING_JOIN_TOKEN (shared/crypto/join-token.ts).
 */
export function coordinatorSecurity(config: RunConfig, given?: CoordinatorOptions['security']): CoordinatorOptions['security'] {
  const { insecure, host, key, allow, joinToken: token, joinTokenFile: file } = config.server;
  if (insecure) {
    if (!isLoopback(host)) throw new ConfigError(`--insecure sends models in the clear; it is refused when listening on ${host} (loopback only)`);
    return undefined;
  }
  if (given) return given;
  if (!key)
    throw new ConfigError(
      'the coordinator needs an identity: pass --key FILE (make one with `npx starling keygen --out coordinator.key`), or --insecure on loopback',
    );
  const identity = readIdentityFile(key);
  const allowlist = allow ? readAllowlist(allow) : undefined;
  const joinToken = resolveJoinToken({ token, file });
  if (!allowlist && !joinToken)
    throw new ConfigError(`no client could join: pass --allow FILE (client public keys) and/or a join token (--join-token-file FILE, or ${JOIN_TOKEN_ENV})`);
  return { identity, admission: { allowlist, joinToken } };
}

/**
 * The frame cap and receive budget of a run: maxPayloadBytes sized from the model unless set
 * (a set one must still fit the run's largest legitimate answer), and the budget from it.
 */
export function frameLimits(config: RunConfig, trainable: number): { maxPayloadBytes: number; receiveBudgetBytes: number } {
  const secure = config.secagg !== undefined;
  const needed = largestAnswerBytes(trainable, config.clients, secure);
  const { maxPayloadBytes: given, receiveBudgetBytes: budget } = config.server;
  if (given !== undefined && given < needed) {
    const among = secure ? `, secure aggregation among ${config.clients} clients` : '';
    throw new ConfigError(
      `maxPayloadBytes ${given} is too small for this run: a client's answer can be ${needed} bytes (${trainable} trainable values${among}); ` +
        'leave it unset to size it from the model',
    );
  }
  const maxPayloadBytes = given ?? defaultMaxPayloadBytes(needed);
  const receiveBudgetBytes = budget ?? defaultReceiveBudgetBytes(maxPayloadBytes, config.clients);
  if (receiveBudgetBytes < maxPayloadBytes)
    throw new ConfigError(
      `receiveBudgetBytes ${receiveBudgetBytes} is smaller than one client's answer (maxPayloadBytes ${maxPayloadBytes}): no task could be sent`,
    );
  return { maxPayloadBytes, receiveBudgetBytes };
}

/** Restores a checkpoint's strategy state; one that does not fit this run's strategy is an E_CHECKPOINT error naming the file. */
function restoreStrategy(strategy: Strategy, checkpoint: Checkpoint): void {
  try {
    strategy.restore(checkpoint.strategy);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`the checkpoint of round ${checkpoint.round} does not fit this run's strategy: ${errorMessage(e)}`, { cause: e });
  }
}

/** history.json's privacy field: the final (ε, δ), whether the sample was secret, and with a replayable one each client's unamplified ε. */
function privacySummary(privacy: PrivacyLedger | undefined): Pick<RunHistory, 'privacy'> {
  if (!privacy) return {};
  const p = privacy.report();
  const clients = privacy.byClient();
  return {
    privacy: {
      epsilon: p.epsilon,
      delta: p.delta,
      samplingSecret: p.samplingSecret,
      ...(p.epsilonUnamplifiedMax !== undefined ? { epsilonUnamplifiedMax: p.epsilonUnamplifiedMax } : {}),
      ...(p.epsilonReplaceOne !== undefined ? { epsilonReplaceOne: p.epsilonReplaceOne } : {}),
      ...(clients ? { clients } : {}),
    },
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface RunningCoordinator {
  readonly url: string;
  readonly port: number;
  readonly runId: string;
  /** Settles when the run ends: all rounds done and clients told, stopped (`stop`), or a fatal error. */
  readonly done: Promise<CoordinatorResult>;
  /**
   * Stops the run cleanly: the round under way is abandoned, the rounds done stay committed
   * with their checkpoints, history.json and the last model are written, the store marks the
   * run stopped, and the clients' connections close as a restart would (they may reconnect).
   * `done` then resolves with `stopped` set; `--resume <run id>` continues the run.
   */
  stop(): void;
  /** Closes the server (also after `done`). */
  close(): Promise<void>;
}

export interface CoordinatorResult {
  readonly history: RunHistory;
  readonly weights: Float32Array;
  readonly dir: string | undefined;
  /** The run was stopped before its end (RunningCoordinator.stop) and can be resumed. */
  readonly stopped?: boolean;
}

/**
 * Starts a coordinator: listens, waits for `config.clients` clients, runs
 * `config.rounds` rounds, evaluates each new model centrally (and, with
 * `localValidation`, on the clients' held-out rows), writes the history,
 * tells the clients the run is over.
 */
export async function startCoordinator(given: RunConfig, opts: CoordinatorOptions): Promise<RunningCoordinator> {
  // the run's data: central evaluation scores on it, and a run that names no model sizes the default MLP to it
  const wanted = given.data.evaluate === 'test' || (given.modelFromData && given.data.source.kind !== 'mnist');
  const loaded = wanted ? (opts.data ?? (await loadData(given.data, given.clients, given.seed))) : undefined;
  const config = loaded ? fitModelToData(given, loaded.train, given.data.source.kind === 'text') : { ...given, modelFromData: false };
  // a deployed run's clients each declare the class order (--classes): the coordinator's must be declared too, to be the same
  if (loaded?.classNames && !given.data.classes && !opts.replayableSampling) {
    throw new ConfigError(
      `classes: the labels of ${formatDataSpec(given.data.source)} are names (${loaded.classNames.join(', ')}): declare their order ` +
        'with classes: [a, b, c] (--classes a,b,c), the list every client gives with --classes, so each name is the same class everywhere',
    );
  }
  const { dp } = config.privacy;
  // central DP's ε is amplified by sampling only if nobody can know the sample: it is drawn from the OS's CSPRNG,
  // never from the run seed, and recorded nowhere (simulations keep the seeded sample, and say what that means)
  const samplingSecret = dp?.mode === 'central' && opts.replayableSampling !== true;
  const strategyContext = {
    clients: config.clients,
    sampling: {
      fraction: config.strategy.fractionFit,
      min: config.strategy.minFitClients,
      seed: config.seed,
      ...(samplingSecret ? { random: secretRng } : {}),
    },
    evaluateSampling: { fraction: config.strategy.fractionEvaluate, min: 1, seed: config.seed },
  };
  // the strategy, and with DP its release and privacy ledger; robust strategies are refused under secagg or DP (they need every update)
  const { strategy, privacy, chargeUnrecorded, releaseRate } = opts.strategy
    ? programAggregation(opts.strategy, strategyContext, config)
    : createAggregation(config.strategy.spec, dp, {
        ctx: strategyContext,
        secagg: config.secagg !== undefined,
        delta: config.privacy.delta,
        noise: opts.noise,
        samplingSecret,
      });
  const resume = opts.resume;
  const strategyName = opts.strategy ? strategy.name : formatStrategySpec(config.strategy.spec);
  // a program's own strategy is not in the config: a resume must be handed the same one again
  if (resume && resume.strategy !== strategyName) {
    throw new ConfigError(
      `run ${resume.runId} ran strategy ${resume.strategy}; it cannot continue with ${strategyName} ` +
        "(a strategy the run's program passed in its options must be passed again to resume it)",
    );
  }
  if (resume?.checkpoint) restoreStrategy(strategy, resume.checkpoint);
  // rounds after the checkpoint that released noised updates release again when run again with fresh noise: the account
  // charges them once more. Only seeded noise (a simulation's: opts.noise with a position) repeats itself exactly.
  const reproducible = opts.noise?.position() !== undefined;
  const uncharged = resume?.unchargedReleases ?? [];
  if (dp && chargeUnrecorded && !reproducible && uncharged.length > 0) {
    chargeUnrecorded(uncharged);
    opts.log.warn(
      { releases: uncharged.length },
      `resuming a differentially private run: ${uncharged.length} round(s) after its checkpoint released noised updates ` +
        'that its account does not hold; they are charged now, so the ε reported covers them',
    );
  }
  const security = opts.transport ? undefined : coordinatorSecurity(config, opts.security);
  const log = opts.log;
  const { secagg } = config;
  if (secagg) {
    const secaggPlus =
      secagg.neighbours !== undefined
        ? `, SecAgg+ with ${secagg.neighbours} neighbours`
        : `, all pairs up to ${SECAGG_PLUS_ABOVE} clients a round and SecAgg+ with 2⌈log₂ n⌉ neighbours above`;
    // the mask workers start now, not during round 1's phases (they never keep the process alive)
    maskWorkers().warm();
    const mean = secagg.maxExamples !== undefined ? `an example-weighted mean, weights capped at ${secagg.maxExamples} examples` : 'an unweighted mean';
    log.info(
      { secagg: true, threshold: secagg.threshold, clip: secagg.clip, neighbours: secagg.neighbours },
      `secure aggregation: t = ${secagg.threshold ?? '⌈2n/3⌉ (⌈2(k+1)/3⌉ of a neighbourhood)'}, clip C = ${secagg.clip}${secaggPlus} (${mean} of the clients' clipped deltas)`,
    );
  }
  if (dp) log.info({ dp: formatDpSpec(dp) }, `differential privacy: ${formatDpSpec(dp)} (ε reported at δ = ${config.privacy.delta})`);
  if (dp?.mode === 'central' && !samplingSecret) {
    log.warn(
      { dp: formatDpSpec(dp) },
      'central DP with a replayable client sample (seeded from the run seed): anyone with the config knows who trained when, ' +
        'so the amplified ε assumes a secrecy this run does not have; ' +
        "each round also reports epsilonUnamplifiedMax, and history.json each client's unamplified ε",
    );
  }
  // transfer learning: the initial model from a saved one (Starling's, or a tfjs model.json), checked in full before listening
  const initial = config.init && !resume?.checkpoint ? loadInitialModel(config.init) : undefined;
  if (opts.initialWeights && opts.initialWeights.length !== paramCount(config.model))
    throw new ConfigError(`initialWeights holds ${opts.initialWeights.length} values; the model has ${paramCount(config.model)} parameters`);
  const layout = trainableLayout(config.model, config.freeze);
  if (initial) log.info({ init: initial.file }, `starting from the saved model ${initial.file}`);
  if (!layout.all)
    log.info({ frozen: config.freeze }, `frozen: ${config.freeze.join(', ')} (${layout.trainableCount} of ${layout.totalCount} parameters train)`);
  const runId = resume?.runId ?? `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const runDir = resume?.dir ?? join(config.output.out, runId);
  // with a validation split, rounds are scored on it and the test split only once, at the end
  const data = config.data.evaluate === 'test' ? loaded : undefined;
  const evaluation = data ? (data.validation ?? data.test) : undefined;
  const classes = outputClasses(config.model) ?? evaluation?.classes;
  if (evaluation && (inputSize(config.model) !== evaluation.features || classes !== evaluation.classes)) {
    throw new ConfigError(
      `evaluating on ${formatDataSpec(config.data.source)} needs a model with ${evaluation.features} inputs and ${evaluation.classes} outputs, ` +
        `got ${inputSize(config.model)} and ${classes} (or set evaluate: none)`,
    );
  }
  const engine = evaluation
    ? (opts.engine ?? (await new EngineFactory({ engine: config.engine, backend: config.backend, log }).forSpec(config.model)))
    : undefined;
  let round = resume?.checkpoint?.round ?? 0;
  const limits = frameLimits(config, layout.trainableCount);
  // the run store: opened (or refused with E_STORE) before anything listens
  const startedAt = resume?.startedAt ?? new Date().toISOString();
  const recorder =
    opts.writeHistory === false || config.output.store === false
      ? undefined
      : resume
        ? RunRecorder.reopen(config.output.store, runId, resume.checkpoint?.round ?? 0, runDir, log)
        : RunRecorder.start(
            config.output.store,
            {
              id: runId,
              startedAt,
              config: publicConfig(config),
              seed: config.seed,
              roundsPlanned: config.rounds,
              data: formatDataSpec(config.data.source),
              model: config.model.type,
              strategy: strategyName,
              codeVersion: CODE_VERSION,
              kind: opts.replayableSampling ? 'simulation' : 'coordinator',
              // absolute, so a run resumed from another working directory finds its files
              dir: resolve(runDir),
            },
            log,
          );
  const net = config.server;
  const failed = (e: unknown) => recorder?.finish({ status: 'failed', finishedAt: new Date().toISOString(), error: errorMessage(e) });
  // GET /metrics reads the server it is served by (sessions, traffic) when scraped
  let listening: CoordinatorServer | undefined;
  const metrics =
    net.metricsEndpoint && !opts.transport
      ? new CoordinatorMetrics(
          { sessions: () => listening?.sessionCounts() ?? { open: 0, ready: 0 }, traffic: () => listening?.traffic() ?? { bytesIn: 0, bytesOut: 0 } },
          { runId, strategy: strategyName, roundsPlanned: config.rounds },
        )
      : undefined;
  if (net.metricsEndpoint && opts.transport) log.warn('metricsEndpoint: the in-memory transport serves no HTTP, so there is no GET /metrics');
  if (net.dashboard && opts.transport) log.warn('dashboard: the in-memory transport serves no HTTP, so there is no dashboard (--transport ws serves one)');
  // the dashboard has no authentication of its own: it is served on loopback only (a remote one is reached through an SSH tunnel)
  if (net.dashboard && !opts.transport && !isLoopback(net.host))
    throw new ConfigError(`--dashboard is served on loopback only (it has no authentication of its own), and the coordinator listens on ${net.host}`);
  const dashboard =
    net.dashboard && !opts.transport
      ? new DashboardFeed(
          {
            runId,
            strategy: strategyName,
            model: config.model.type,
            data: formatDataSpec(config.data.source),
            roundsPlanned: config.rounds,
            secure: security !== undefined,
            privacy: dp !== undefined,
          },
          () => listening?.connected().map((c) => c.name) ?? [],
          resume?.history,
        )
      : undefined;
  const served = opts.transport
    ? Promise.resolve().then(() => opts.transport!(runId))
    : CoordinatorServer.listen({
        host: net.host,
        port: net.port,
        runId,
        ...limits,
        handshakeTimeoutMs: net.handshakeTimeoutMs,
        frameTimeoutMs: net.frameTimeoutMs,
        heartbeatIntervalMs: net.heartbeatIntervalMs,
        maxUnauthenticated: net.maxUnauthenticated,
        maxUnauthenticatedPerAddress: net.maxUnauthenticatedPerAddress,
        statusEndpoint: net.statusEndpoint,
        log,
        security,
        status: () => ({ round, rounds: config.rounds, secure: security !== undefined }),
        metrics,
        dashboard,
      }).then((s) => {
        listening = s;
        return s;
      });
  const server = await served.catch(async (e: unknown) => {
    await failed(e);
    throw e;
  });
  if (opts.transport) log.info({ runId }, `coordinator serving ${config.clients} in-memory clients`);
  else {
    log.info({ url: server.url, runId }, `coordinator listening on ${server.url}, waiting for ${config.clients} clients`);
    if (security) log.info({ key: toBase64(security.identity.publicKey) }, `coordinator public key ${toBase64(security.identity.publicKey)}`);
    else log.warn('insecure mode: frames travel in the clear and anyone may join');
  }
  const stopping = new AbortController();

  const done = (async (): Promise<CoordinatorResult> => {
    const initialWeights = resume?.checkpoint?.weights ?? initial?.weights ?? opts.initialWeights ?? initWeights(config.model, config.seed);
    const { weights, history, bestRound, stopped } = await runRounds({
      transport: server,
      strategy,
      privacy,
      spec: config.model,
      initialWeights,
      rounds: config.rounds,
      train: fitConfig({ ...config.train, frozen: config.freeze }),
      ...(layout.all ? {} : { trainable: layout }),
      seed: config.seed,
      minFitClients: config.strategy.minFitClients,
      targetAccuracy: config.targetAccuracy,
      patience: config.patience,
      learningRate:
        config.schedule.type === 'constant' && config.schedule.warmupRounds === 0
          ? undefined
          : (r) => scheduledRate(config.schedule, config.train.lr, r, config.rounds),
      roundTimeoutMs: net.roundTimeoutMs,
      waitForClientsTimeoutMs: net.waitForClientsTimeoutMs,
      evaluate: engine && evaluation ? (w) => engine.evaluate(config.model, w, { dataset: evaluation }) : undefined,
      federatedEvaluation: config.data.localValidation !== undefined,
      onClients:
        recorder || metrics || dashboard || opts.onClients
          ? (n, results, failures) => {
              recorder?.onClients(n, results, failures);
              metrics?.onClients(results, failures);
              dashboard?.onClients(n, results, failures);
              opts.onClients?.(n, results, failures);
            }
          : undefined,
      // with DP, each round's release is noted before its tasks go out: a resume charges any no checkpoint holds
      onRoundStart: recorder && releaseRate ? (n) => recorder.onRelease(n, releaseRate(n)) : undefined,
      onRound: (r, model) => {
        round = r.round;
        recorder?.onRound(r, { runId, round: r.round, weights: model.weights, best: model.best, strategy: strategy.snapshot() });
        metrics?.onRound(r);
        dashboard?.onRound(r);
        opts.onRound?.(r);
      },
      firstRoundClients: config.clients,
      ...(resume ? { resume: { history: resume.history, best: resume.checkpoint?.best } } : {}),
      signal: stopping.signal,
      shouldStop: opts.shouldStop,
      log,
      ...(secagg ? { secagg: { runId, clip: secagg.clip, weightCap: secagg.maxExamples, threshold: secagg.threshold, neighbours: secagg.neighbours } } : {}),
      maxUpdateNorm: config.strategy.maxUpdateNorm,
      maxUpdateNormAction: config.strategy.maxUpdateNormAction,
    });
    // stopped: the clients' connections close as in a restart, so they may come back to the resumed run
    if (stopped) await server.close();
    else await server.finish('run complete', history.length);
    const finalTest =
      data?.validation && engine && opts.scoreTest !== false && !stopped ? await engine.evaluate(config.model, weights, { dataset: data.test }) : undefined;
    if (finalTest) {
      const [name, value] = finalTest.mae !== undefined ? ['mae', finalTest.mae] : ['accuracy', finalTest.accuracy];
      log.info(testScores(finalTest), `test ${name} of the ${bestRound !== undefined ? 'best' : 'final'} model: ${value}`);
    }
    const record: RunHistory = {
      runId,
      startedAt,
      finishedAt: new Date().toISOString(),
      config,
      strategy: strategy.toConfig(),
      backend: engine?.backend ?? null,
      paramCount: paramCount(config.model),
      ...(layout.all ? {} : { trainableParamCount: layout.trainableCount }),
      rounds: history,
      ...(bestRound !== undefined ? { bestRound } : {}),
      evaluatedOn: data ? (data.validation ? 'validation' : 'test') : 'none',
      ...(finalTest ? { test: testScores(finalTest) } : {}),
      finalWeightsSha256: sha256(weights),
      peakRssBytes: peakRssBytes(),
      ...privacySummary(privacy),
    };
    const dir = opts.writeHistory === false ? undefined : runDir;
    if (dir) writeRun(dir, record, weights);
    await recorder?.finish({ status: stopped ? 'stopped' : 'complete', finishedAt: record.finishedAt, finalWeightsSha256: record.finalWeightsSha256 });
    // the pages are told once everything is written (a failure before this tells them 'failed')
    dashboard?.end(stopped ? 'stopped' : 'complete');
    return { history: record, weights, dir, ...(stopped ? { stopped } : {}) };
  })().catch(async (e: unknown) => {
    dashboard?.end('failed');
    // recorded before `done` rejects: the caller may exit as soon as it does
    await failed(e);
    throw e;
  });
  // the caller awaits `done`; this keeps an early failure from being reported as unhandled first
  done.catch(() => {});

  return { url: server.url, port: server.port, runId, done, close: () => server.close(), stop: () => stopping.abort() };
}

/** The kept model's scores on the test split, as history records them: what the model reports, nothing undefined. */
function testScores(m: EvalMetrics): { accuracy?: number; loss: number; mae?: number; r2?: number } {
  return {
    ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}),
    loss: m.loss,
    ...(m.mae !== undefined ? { mae: m.mae } : {}),
    ...(m.r2 !== undefined ? { r2: m.r2 } : {}),
  };
}
