import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { RunConfig } from '../../shared/config.ts';
import { loadData } from '../../shared/data/run-data.ts';
import { EngineFactory } from '../../shared/engine/factory.ts';
import { ConfigError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { silentLogger } from '../../shared/log.ts';
import { loadSavedModel, readManifest, saveModel } from '../../shared/models/saved-model.ts';
import { atomicWrite } from '../../shared/atomic-file.ts';
import { checkAsha, jobKey, nextPromotion, type RungResult } from '../../shared/tuning/asha.ts';
import { assignmentKey, createSampler, type Assignment, type Observation, type SearchSpace } from '../../shared/tuning/index.ts';
import { simulate } from '../simulate.ts';
import { trialConfig, trialLayer } from './apply.ts';
import { OLD_RECORD_FILE, RECORD_DIR_MODE, RECORD_FILE_MODE, type ResultLine, STORE_FILE, SearchRecord } from './record.ts';

export type SearchMethod = 'grid' | 'random' | 'bayes';

export interface TuneOptions {
  readonly space: SearchSpace;
  /** The fixed run settings every trial shares (a run-config layer: clients, partition, data, rounds …). */
  readonly base: Record<string, unknown>;
  readonly method: SearchMethod;
  /** Trials to start at most (a finished grid may stop sooner). */
  readonly trials: number;
  readonly seed: number;
  /** Round counts of the ASHA rungs; absent: every trial runs the base config's rounds. */
  readonly rungs?: readonly number[];
  readonly eta?: number;
  /** grid: points per continuous parameter (default 3). */
  readonly gridPoints?: number;
  /** Trials run at once (default: the cores); the cores are shared out among them as training workers. */
  readonly parallel?: number;
  /** Epoch milliseconds after which no trial starts and running ones stop after their round. */
  readonly deadline?: number;
  /** The clock the deadline is read from (tests drive their own). */
  readonly now?: () => number;
  /** Folder of the record (the store starling.db), the best config (best.yaml) and the best model. */
  readonly out: string;
  readonly log?: Logger;
  readonly onResult?: (r: TrialReport) => void;
  /** Runs one trial (tests inject faults); the default is `simulate`, the same code path as `starling simulate`. */
  readonly runTrial?: (config: RunConfig, options: { workers: number; shouldStop: () => boolean }) => Promise<TrialRun>;
}

/** What a trial run gives back: its rounds' validation accuracies and the final model. */
export interface TrialRun {
  readonly accuracies: readonly (number | null)[];
  readonly weights: Float32Array;
}

export interface TrialReport extends ResultLine {
  readonly assignment: Assignment;
  /** True when this result is the best so far at the highest rung reached. */
  readonly best: boolean;
}

export interface TuneResult {
  readonly results: readonly TrialReport[];
  readonly best?: {
    readonly trial: number;
    readonly assignment: Assignment;
    readonly score: number;
    readonly rounds: number;
    readonly configFile: string;
    readonly modelDir: string;
  };
  /** The kept best model's score on the test split, computed once, at the end. */
  readonly test?: { readonly accuracy: number; readonly loss: number };
  /** Rounds this search ran (all sessions), and what running every started trial to the last rung would cost. */
  readonly roundsSpent: number;
  readonly fullRounds: number;
  readonly stoppedByBudget: boolean;
  /** Results taken from the record of an earlier session. */
  readonly resumed: number;
}

interface Job {
  readonly trial: number;
  readonly rung: number;
}

/**
 * Tunes a federated run: trials (each a real simulation, `simulate`'s code path)
 * are proposed by the method, scored on the validation split (never the test
 * split), optionally stopped early by ASHA over rounds, run `parallel` at a time,
 * recorded in the store as they go so an interrupted search resumes; the best configuration
 * is written as a run config and its model scored once on the test split.
 */
export async function tune(options: TuneOptions): Promise<TuneResult> {
  const log = options.log ?? silentLogger;
  const { rungs, asha, baseConfig } = checkSearch(options);
  // every objective a search ranks trials by is an accuracy, which a regression run does not report
  if (baseConfig.data.task === 'regression') throw new ConfigError('task: tune ranks trials by accuracy; a regression run reports none');
  // the data must allow a validation split (synthetic data does not): one load says so before any trial
  await loadData(baseConfig.data, baseConfig.clients, baseConfig.seed);
  const parallel = Math.max(1, Math.min(options.parallel ?? availableParallelism(), availableParallelism(), options.trials));
  const workers = Math.max(1, Math.floor(availableParallelism() / parallel));
  const identity = JSON.stringify({
    method: options.method,
    seed: options.seed,
    trials: options.trials,
    rungs,
    eta: asha.eta,
    gridPoints: options.gridPoints,
    space: options.space,
    base: options.base,
  });
  const release = lockFolder(options.out);
  let record: SearchRecord | undefined;
  try {
    // a search begun by a Starling that kept its record in trials.jsonl resumes from it
    record = SearchRecord.open(join(options.out, STORE_FILE), identity, { importFrom: join(options.out, OLD_RECORD_FILE) });
    return await search(options, { rungs, asha, parallel, workers, log, record });
  } finally {
    record?.close();
    release();
  }
}

interface SearchContext {
  readonly rungs: readonly number[];
  readonly asha: { readonly rungs: readonly number[]; readonly eta: number };
  readonly parallel: number;
  readonly workers: number;
  readonly log: Logger;
  readonly record: SearchRecord;
}

async function search(options: TuneOptions, c: SearchContext): Promise<TuneResult> {
  const { rungs, asha, parallel, workers, log, record } = c;
  // the state, rebuilt from the record on resume
  const assignments = new Map<number, Assignment>();
  const results: ResultLine[] = [];
  for (const line of record.lines) {
    if (line.kind === 'trial') assignments.set(line.trial, line.assignment);
    // a trial the budget stopped was not scored: it runs again
    if (line.kind === 'result' && line.status !== 'stopped') results.push(line);
  }
  const resumed = results.length;
  if (resumed) log.info({ results: resumed, trials: assignments.size }, `resuming ${record.file}: ${resumed} results of ${assignments.size} trials recorded`);
  const reports: TrialReport[] = [];
  const keys = new Set([...assignments.values()].map(assignmentKey));
  const sampler = createSampler(options.method, options.space, { seed: options.seed, gridPoints: options.gridPoints });
  const running = new Map<string, Promise<void>>();
  const started = () => new Set([...results.map((r) => jobKey(r.trial, r.rung)), ...running.keys()]);
  const now = options.now ?? Date.now;
  const past = () => options.deadline !== undefined && now() >= options.deadline;
  let exhausted = false;
  let fatal: unknown;
  let best = bestOf(results, assignments);

  const nextJob = (): Job | undefined => {
    if (past() || fatal !== undefined) return undefined;
    const taken = started();
    if (rungs.length > 1) {
      const promotion = nextPromotion(results.map(toRung), asha, taken);
      if (promotion) return promotion;
    }
    // trials recorded but never finished at rung 0 (an interrupted session)
    for (const trial of assignments.keys()) if (!taken.has(jobKey(trial, 0))) return { trial, rung: 0 };
    if (assignments.size >= options.trials || exhausted) return undefined;
    // one observation per trial, at the first rung every trial reaches (mixing rungs would mix fidelities);
    // a failed trial counts as the worst score (NaN), so the method steers away rather than proposing it again
    const history: Observation[] = results
      .filter((r) => r.rung === 0)
      .map((r) => ({ assignment: assignments.get(r.trial)!, score: r.status === 'ok' ? r.score! : Number.NaN }));
    const pending = [...running.keys()].map((k) => assignments.get(Number(k.split(':')[0]))!);
    for (let attempt = 0; attempt < 100; attempt++) {
      const a = sampler.next(history, pending);
      if (a === undefined) break;
      const key = assignmentKey(a);
      if (keys.has(key)) continue; // already tried (in this session or a resumed one)
      const trial = assignments.size;
      keys.add(key);
      assignments.set(trial, a);
      record.append({ kind: 'trial', trial, assignment: a });
      return { trial, rung: 0 };
    }
    exhausted = true;
    return undefined;
  };

  const run = async (job: Job): Promise<void> => {
    const assignment = assignments.get(job.trial)!;
    const rounds = rungs[job.rung]!;
    const t0 = performance.now();
    let line: ResultLine;
    let weights: Float32Array | undefined;
    let config: RunConfig | undefined;
    let budgetHit = false;
    try {
      config = { ...trialConfig(options.base, options.space.params, assignment), rounds };
      assertScoredOnValidation(config);
      const shouldStop = () => (budgetHit ||= past());
      const out = await (options.runTrial ?? simulateTrial)(config, { workers, shouldStop });
      const seconds = (performance.now() - t0) / 1000;
      const last = out.accuracies.at(-1);
      if (out.accuracies.length < rounds && budgetHit)
        line = { kind: 'result', trial: job.trial, rung: job.rung, rounds: out.accuracies.length, status: 'stopped', seconds };
      else if (out.accuracies.length !== rounds) throw new Error(`the run ended after ${out.accuracies.length} of ${rounds} rounds`);
      else if (last === null || last === undefined) throw new Error('the run reported no validation accuracy');
      else {
        line = { kind: 'result', trial: job.trial, rung: job.rung, rounds, status: 'ok', score: last, seconds };
        weights = out.weights;
      }
    } catch (e) {
      line = { kind: 'result', trial: job.trial, rung: job.rung, rounds, status: 'failed', error: errorMessage(e), seconds: (performance.now() - t0) / 1000 };
      log.warn({ trial: job.trial, err: line.error }, `trial ${job.trial} failed: ${line.error}`);
    }
    const wasBest = line.status === 'ok' && isBetter(line, best);
    try {
      // the best model and config are on disk before the record names the trial best
      if (wasBest && weights && config) {
        saveModel(join(options.out, 'best-model'), config.model, weights, { trial: line.trial, rounds, score: line.score });
        writeBestConfig(options, assignment, rounds);
        best = { trial: line.trial, rung: line.rung, score: line.score!, rounds };
      }
      record.append(line);
    } catch (e) {
      fatal ??= e; // the search cannot keep its record: stop starting trials, report once the running ones end
      return;
    }
    if (line.status !== 'stopped') results.push(line);
    const report = { ...line, assignment, best: wasBest };
    reports.push(report);
    options.onResult?.(report);
    abortIfHopeless(results);
  };

  /** The first trials all failing with one configuration error means every trial will: stop with it. */
  const abortIfHopeless = (rs: readonly ResultLine[]) => {
    const first = rs.slice(0, Math.min(3, options.trials));
    if (
      first.length === Math.min(3, options.trials) &&
      first.every((r) => r.status === 'failed' && r.error === first[0]!.error && /invalid run config|^data:|validation:/.test(r.error ?? ''))
    ) {
      fatal ??= new ConfigError(`every trial fails the same way, so the search stopped: ${first[0]!.error}`);
    }
  };

  for (;;) {
    for (let job = running.size < parallel ? nextJob() : undefined; job; job = running.size < parallel ? nextJob() : undefined) {
      const key = jobKey(job.trial, job.rung);
      running.set(
        key,
        run(job).finally(() => running.delete(key)),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (fatal !== undefined) throw fatal;

  const all = record.lines.filter((l): l is ResultLine => l.kind === 'result');
  const roundsSpent = all.reduce((s, l) => s + l.rounds, 0);
  const fullRounds = assignments.size * rungs[rungs.length - 1]!;
  const stoppedByBudget = past();
  if (!best) return { results: reports, roundsSpent, fullRounds, stoppedByBudget, resumed };
  const configFile = join(options.out, 'best.yaml');
  const modelDir = join(options.out, 'best-model');
  const bestConfig = { ...trialConfig(options.base, options.space.params, assignments.get(best.trial)!), rounds: best.rounds };
  await ensureBestSaved(options, bestConfig, best, assignments.get(best.trial)!, modelDir);
  const test = await scoreTestOnce(bestConfig, modelDir);
  return {
    results: reports,
    best: { trial: best.trial, assignment: assignments.get(best.trial)!, score: best.score, rounds: best.rounds, configFile, modelDir },
    test,
    roundsSpent,
    fullRounds,
    stoppedByBudget,
    resumed,
  };
}

/** Run-config keys a search may not tune: they decide how a trial is scored, or are not about the model. */
const RESERVED_PATHS = ['rounds', 'validation', 'evaluate', 'seed', 'patience', 'targetAccuracy', 'data', 'out', 'json', 'logLevel', 'host', 'port'];

/**
 * Everything about a search that can be checked before any trial runs: trials are
 * scored on a validation split after a fixed number of rounds, so the base settings
 * must hold one and nothing may end a run early or change how it is scored; every
 * parameter's path must be a run-config field (tried with a value of its range).
 */
function checkSearch(options: TuneOptions): { rungs: readonly number[]; asha: { rungs: readonly number[]; eta: number }; baseConfig: RunConfig } {
  const baseConfig = trialConfig(options.base, [], {});
  assertScoredOnValidation(baseConfig);
  if (baseConfig.patience !== undefined || baseConfig.targetAccuracy !== undefined) {
    throw new ConfigError(
      'trials are scored after a fixed number of rounds: drop patience and targetAccuracy from the base settings (ASHA stops bad trials early)',
    );
  }
  const problems: string[] = [];
  for (const p of options.space.params) {
    const root = p.path.split('.')[0]!;
    if (RESERVED_PATHS.includes(root)) {
      problems.push(`  ${p.name}: path ${p.path} cannot be tuned (${RESERVED_PATHS.join(', ')} decide how trials are run and scored)`);
      continue;
    }
    try {
      trialConfig(options.base, [p], { [p.name]: p.type === 'choice' ? p.values[0] : p.low });
    } catch (e) {
      problems.push(`  ${p.name}: ${errorMessage(e).replace(/\n\s*/g, ' ')}`);
    }
  }
  if (problems.length) throw new ConfigError(`the search space does not fit the run config:\n${problems.join('\n')}`);
  const rungs = options.rungs ?? [baseConfig.rounds];
  const asha = { rungs, eta: options.eta ?? 3 };
  try {
    checkAsha(asha);
  } catch (e) {
    throw new ConfigError(`--rungs/--eta: ${errorMessage(e)}`);
  }
  return { rungs, asha, baseConfig };
}

function assertScoredOnValidation(config: RunConfig): void {
  if (!(config.data.validation > 0) || config.data.evaluate !== 'test') {
    throw new ConfigError('tuning scores every trial on a validation split: set validation (e.g. 0.1) and keep evaluate: test in the base settings');
  }
}

/** Folders this process is searching in now (its own lock files carry its pid). */
const lockedHere = new Set<string>();

/** One search per folder at a time: a lock file holding the pid (a stale one, whose process is gone, is taken over). */
function lockFolder(out: string): () => void {
  mkdirSync(out, { recursive: true, mode: RECORD_DIR_MODE });
  const file = join(out, '.lock');
  if (lockedHere.has(file)) throw new ConfigError(`${out} is in use by another starling tune (pid ${process.pid}); wait for it or choose another --out`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      lockedHere.add(file);
      return () => {
        lockedHere.delete(file);
        rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ConfigError(`${out} is in use by another starling tune (pid ${pid}); wait for it or choose another --out`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new ConfigError(`cannot lock ${out}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The saved best model and config are the recorded best trial's: a crash between
 * saving a newer best and recording it leaves them ahead of the record, and then
 * the recorded best is run again (same seed, same bytes) to put them back.
 */
async function ensureBestSaved(options: TuneOptions, config: RunConfig, best: Best, assignment: Assignment, modelDir: string): Promise<void> {
  let savedTrial: unknown;
  try {
    savedTrial = readManifest(modelDir).manifest.source?.trial;
  } catch {
    savedTrial = undefined;
  }
  if (savedTrial === best.trial && existsSync(join(options.out, 'best.yaml'))) return;
  const out = await (options.runTrial ?? simulateTrial)(config, { workers: availableParallelism(), shouldStop: () => false });
  saveModel(modelDir, config.model, out.weights, { trial: best.trial, rounds: best.rounds, score: out.accuracies.at(-1) });
  writeBestConfig(options, assignment, best.rounds);
}

interface Best {
  readonly trial: number;
  readonly rung: number;
  readonly score: number;
  readonly rounds: number;
}

const toRung = (r: ResultLine): RungResult => ({ trial: r.trial, rung: r.rung, score: r.status === 'ok' ? r.score! : null });

/** Better means: a higher rung (more rounds, a fairer comparison), then a higher score, then the earlier trial. */
function isBetter(r: ResultLine, best: Best | undefined): boolean {
  if (!best) return true;
  if (r.rung !== best.rung) return r.rung > best.rung;
  return r.score! > best.score;
}

function bestOf(results: readonly ResultLine[], assignments: ReadonlyMap<number, Assignment>): Best | undefined {
  let best: Best | undefined;
  for (const r of results)
    if (r.status === 'ok' && assignments.has(r.trial) && isBetter(r, best)) best = { trial: r.trial, rung: r.rung, score: r.score!, rounds: r.rounds };
  return best;
}

/** The best configuration as a run config file `coordinator --config` and `simulate --config` accept as is. */
function writeBestConfig(options: TuneOptions, assignment: Assignment, rounds: number): void {
  const layer: Record<string, unknown> = { ...trialLayer(options.base, options.space.params, assignment), rounds };
  const header = `# The best configuration found by starling tune (${options.method}); every trial's validation accuracy is in ${STORE_FILE} (trial_results).\n`;
  atomicWrite(join(options.out, 'best.yaml'), header + toYaml(layer), RECORD_FILE_MODE);
}

/** The kept best model on the test split: the one look at it, at the end. */
async function scoreTestOnce(config: RunConfig, modelDir: string): Promise<{ accuracy: number; loss: number }> {
  const saved = loadSavedModel(modelDir);
  const { test } = await loadData(config.data, config.clients, config.seed);
  const engine = await new EngineFactory({ engine: config.engine, backend: config.backend }).forSpec(saved.spec);
  const r = await engine.evaluate(saved.spec, saved.weights, { dataset: test });
  return { accuracy: r.accuracy ?? 0, loss: r.loss };
}

/** A trial is `starling simulate` with the trial's config, scored on the validation split, never looking at the test split. */
async function simulateTrial(config: RunConfig, options: { workers: number; shouldStop: () => boolean }): Promise<TrialRun> {
  const r = await simulate(config, {
    log: silentLogger,
    writeHistory: false,
    scoreTest: false,
    workers: Math.min(options.workers, config.clients),
    shouldStop: options.shouldStop,
  });
  return { accuracies: r.history.rounds.map((x) => x.accuracy), weights: r.weights };
}
