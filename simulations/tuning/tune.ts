import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { RunConfig } from '../../shared/config.ts';
import { loadData } from '../../shared/data/source.ts';
import { EngineFactory } from '../../shared/engine/factory.ts';
import { ConfigError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { silentLogger } from '../../shared/log.ts';
import { loadSavedModel, saveModel } from '../../shared/models/saved-model.ts';
import { atomicWrite } from '../../shared/atomic-file.ts';
import { checkAsha, jobKey, nextPromotion, type RungResult } from '../../shared/tuning/asha.ts';
import { assignmentKey, createSampler, type Assignment, type Observation, type SearchSpace } from '../../shared/tuning/index.ts';
import { simulate } from '../simulate.ts';
import { trialConfig, trialLayer } from './apply.ts';
import { SearchRecord, type ResultLine } from './record.ts';

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
  /** Trials run at once (default: the cores); the cores are shared out among them as training workers. */
  readonly parallel?: number;
  /** Epoch milliseconds after which no trial starts and running ones stop after their round. */
  readonly deadline?: number;
  /** Folder of the record (trials.jsonl), the best config (best.yaml) and the best model. */
  readonly out: string;
  readonly log?: Logger;
  readonly onResult?: (r: TrialReport) => void;
  /** Runs one trial (tests inject faults); the default is `simulate`, the same code path as `starling simulate`. */
  readonly runTrial?: (config: RunConfig, o: { workers: number; shouldStop: () => boolean }) => Promise<TrialRun>;
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
  readonly best?: { readonly trial: number; readonly assignment: Assignment; readonly score: number; readonly rounds: number; readonly configFile: string; readonly modelDir: string };
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
 * recorded line by line so an interrupted search resumes; the best configuration
 * is written as a run config and its model scored once on the test split.
 */
export async function tune(o: TuneOptions): Promise<TuneResult> {
  const log = o.log ?? silentLogger;
  const baseConfig = trialConfig(o.base, [], {});
  if (!(baseConfig.validation > 0) || baseConfig.evaluate !== 'test') {
    throw new ConfigError('tuning scores every trial on a validation split: set validation (e.g. 0.1) and keep evaluate: test in the base settings');
  }
  const rungs = o.rungs ?? [baseConfig.rounds];
  const asha = { rungs, eta: o.eta ?? 3 };
  checkAsha(asha);
  const parallel = Math.max(1, Math.min(o.parallel ?? availableParallelism(), availableParallelism(), o.trials));
  const workers = Math.max(1, Math.floor(availableParallelism() / parallel));
  const identity = JSON.stringify({ method: o.method, seed: o.seed, trials: o.trials, rungs, eta: asha.eta, space: o.space, base: o.base });
  const record = SearchRecord.open(join(o.out, 'trials.jsonl'), identity);

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
  const sampler = createSampler(o.method, o.space, { seed: o.seed });
  const running = new Map<string, Promise<void>>();
  const started = () => new Set([...results.map((r) => jobKey(r.trial, r.rung)), ...running.keys()]);
  const past = () => o.deadline !== undefined && Date.now() >= o.deadline;
  let exhausted = false;
  let best = bestOf(results, assignments);

  const nextJob = (): Job | undefined => {
    if (past()) return undefined;
    const taken = started();
    if (rungs.length > 1) {
      const promotion = nextPromotion(results.map(toRung), asha, taken);
      if (promotion) return promotion;
    }
    // trials recorded but never finished at rung 0 (an interrupted session)
    for (const trial of assignments.keys()) if (!taken.has(jobKey(trial, 0))) return { trial, rung: 0 };
    if (assignments.size >= o.trials || exhausted) return undefined;
    // a failed trial counts as the worst score (NaN), so the method steers away rather than proposing it again
    const history: Observation[] = results.map((r) => ({ assignment: assignments.get(r.trial)!, score: r.status === 'ok' ? r.score! : Number.NaN }));
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
    try {
      config = { ...trialConfig(o.base, o.space.params, assignment), rounds };
      const out = await (o.runTrial ?? simulateTrial)(config, { workers, shouldStop: past });
      const seconds = (performance.now() - t0) / 1000;
      const last = out.accuracies.at(-1);
      if (out.accuracies.length < rounds) line = { kind: 'result', trial: job.trial, rung: job.rung, rounds: out.accuracies.length, status: 'stopped', seconds };
      else if (last === null || last === undefined) throw new Error('the run reported no validation accuracy');
      else {
        line = { kind: 'result', trial: job.trial, rung: job.rung, rounds, status: 'ok', score: last, seconds };
        weights = out.weights;
      }
    } catch (e) {
      line = { kind: 'result', trial: job.trial, rung: job.rung, rounds, status: 'failed', error: errorMessage(e), seconds: (performance.now() - t0) / 1000 };
      log.warn({ trial: job.trial, err: line.error }, `trial ${job.trial} failed: ${line.error}`);
    }
    record.append(line);
    if (line.status !== 'stopped') results.push(line);
    const wasBest = line.status === 'ok' && isBetter(line, best);
    if (wasBest && weights && config) {
      best = { trial: line.trial, rung: line.rung, score: line.score!, rounds };
      saveModel(join(o.out, 'best-model'), config.model, weights, { trial: line.trial, rounds, score: line.score });
      writeBestConfig(o, assignment, rounds);
    }
    const report = { ...line, assignment, best: wasBest };
    reports.push(report);
    o.onResult?.(report);
  };

  for (;;) {
    for (let job = running.size < parallel ? nextJob() : undefined; job; job = running.size < parallel ? nextJob() : undefined) {
      const key = jobKey(job.trial, job.rung);
      running.set(key, run(job).finally(() => running.delete(key)));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  const all = record.lines.filter((l): l is ResultLine => l.kind === 'result');
  const roundsSpent = all.reduce((s, l) => s + l.rounds, 0);
  const fullRounds = assignments.size * rungs[rungs.length - 1]!;
  const stoppedByBudget = past();
  if (!best) return { results: reports, roundsSpent, fullRounds, stoppedByBudget, resumed };
  const configFile = join(o.out, 'best.yaml');
  const modelDir = join(o.out, 'best-model');
  const test = await scoreTestOnce(trialConfig(o.base, o.space.params, assignments.get(best.trial)!), modelDir);
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
  for (const r of results) if (r.status === 'ok' && assignments.has(r.trial) && isBetter(r, best)) best = { trial: r.trial, rung: r.rung, score: r.score!, rounds: r.rounds };
  return best;
}

/** The best configuration as a run config file `coordinator --config` and `simulate --config` accept as is. */
function writeBestConfig(o: TuneOptions, assignment: Assignment, rounds: number): void {
  const layer: Record<string, unknown> = { ...trialLayer(o.base, o.space.params, assignment), rounds };
  // train.frozen is the coordinator's to fill (from freeze:), never a file's
  if (layer.train && typeof layer.train === 'object') delete (layer.train as Record<string, unknown>).frozen;
  const header = `# The best configuration found by starling tune (${o.method}); validation accuracy is in trials.jsonl.\n`;
  atomicWrite(join(o.out, 'best.yaml'), header + toYaml(layer));
}

/** The kept best model on the test split: the one look at it, at the end. */
async function scoreTestOnce(config: RunConfig, modelDir: string): Promise<{ accuracy: number; loss: number }> {
  const saved = loadSavedModel(modelDir);
  const { test } = loadData(config.data, config.clients, config.seed, config.validation);
  const engine = await new EngineFactory({ engine: config.engine, backend: config.backend }).forSpec(saved.spec);
  const r = await engine.evaluate(saved.spec, saved.weights, { dataset: test });
  return { accuracy: r.accuracy, loss: r.loss };
}

/** A trial is `starling simulate` with the trial's config, scored on the validation split, never looking at the test split. */
async function simulateTrial(config: RunConfig, o: { workers: number; shouldStop: () => boolean }): Promise<TrialRun> {
  const r = await simulate(config, { log: silentLogger, writeHistory: false, scoreTest: false, workers: Math.min(o.workers, config.clients), shouldStop: o.shouldStop });
  return { accuracies: r.history.rounds.map((x) => x.accuracy), weights: r.weights };
}
