import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskFailureKind } from '../shared/errors.ts';
import type { RoundRecord } from './round-loop.ts';
import type { FitFailure, ResultRecord } from './strategies/strategy.ts';
import type { Traffic } from './transport.ts';

/** What the metrics read from the server when they are scraped. */
export interface MetricsSources {
  /** WebSocket connections open (handshaking or not), and clients authenticated and ready for tasks. */
  sessions(): { readonly open: number; readonly ready: number };
  traffic(): Traffic;
}

export interface RunLabels {
  readonly runId: string;
  readonly strategy: string;
  readonly roundsPlanned: number;
}

/** Seconds from a round of a few milliseconds to one at the default ten-minute deadline. */
const ROUND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The phases of RoundRecord.timings, as `phase` label values. */
const PHASES = [
  ['collect', 'collect'],
  ['slowestClientTrain', 'slowest_client_train'],
  ['aggregate', 'aggregate'],
  ['evaluate', 'evaluate'],
  ['federatedEvaluate', 'federated_evaluate'],
] as const;

/**
 * A coordinator's Prometheus metrics (GET /metrics, prom-client's text format), in a registry
 * of its own so that several coordinators in one process do not mix: rounds completed and
 * skipped, round and phase durations (histograms), clients connected and ready, results and
 * failures by kind, bytes in and out, the last central accuracy and loss, ε spent under
 * differential privacy, and the process's own (CPU, memory, event-loop lag, GC). Names follow
 * Prometheus's conventions: `starling_…_total` counters, `_seconds` and `_bytes` units.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly roundsCompleted: Counter;
  private readonly roundsSkipped: Counter;
  private readonly roundSeconds: Histogram;
  private readonly phaseSeconds: Histogram;
  private readonly round: Gauge;
  private readonly results: Counter;
  private readonly failures: Counter<'reason'>;
  /** Gauges shown only once they have a value (no accuracy for a regression model, no ε without DP). */
  private readonly later = new Map<string, Gauge>();

  constructor(sources: MetricsSources, labels: RunLabels) {
    const registers = [this.registry];
    new Gauge({
      name: 'starling_run_info',
      help: 'The run this coordinator serves (always 1; its id and strategy as labels).',
      labelNames: ['run_id', 'strategy'],
      registers,
    }).set({ run_id: labels.runId, strategy: labels.strategy }, 1);
    new Gauge({ name: 'starling_rounds_planned', help: 'Rounds the run is configured for.', registers }).set(labels.roundsPlanned);
    this.round = new Gauge({ name: 'starling_round', help: 'The last round completed (0 before the first).', registers });
    this.round.set(0);
    this.roundsCompleted = new Counter({ name: 'starling_rounds_completed_total', help: 'Rounds completed, skipped ones included.', registers });
    this.roundsSkipped = new Counter({
      name: 'starling_rounds_skipped_total',
      help: 'Rounds that left the model unchanged (too few results, secure aggregation aborted, a model not finite).',
      registers,
    });
    this.roundSeconds = new Histogram({
      name: 'starling_round_duration_seconds',
      help: "A round's wall-clock seconds, from its tasks going out to its evaluated model.",
      buckets: ROUND_BUCKETS,
      registers,
    });
    this.phaseSeconds = new Histogram({
      name: 'starling_round_phase_seconds',
      help: "Where a round's seconds went: collect (until the last result), slowest_client_train, aggregate, evaluate, federated_evaluate.",
      labelNames: ['phase'],
      buckets: ROUND_BUCKETS,
      registers,
    });
    this.results = new Counter({ name: 'starling_client_results_total', help: 'Client results accepted into rounds.', registers });
    this.failures = new Counter({
      name: 'starling_client_failures_total',
      help: 'Tasks that came back without a result, by reason: deadline, disconnected, protocol, refused, diverged, client_error, rejected, dropout, other.',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'starling_clients_connected',
      help: 'WebSocket connections open, authenticated or not.',
      registers,
      collect() {
        this.set(sources.sessions().open);
      },
    });
    new Gauge({
      name: 'starling_clients_ready',
      help: 'Clients authenticated and ready for tasks.',
      registers,
      collect() {
        this.set(sources.sessions().ready);
      },
    });
    // counters of what the transport has counted all along: each scrape adds what came since the last
    // (a count that went down — a transport counting afresh — adds what it holds now: a counter never falls)
    const counted = { bytesIn: 0, bytesOut: 0 };
    const since = (key: keyof typeof counted, now: number): number => {
      const added = now >= counted[key] ? now - counted[key] : now;
      counted[key] = now;
      return added;
    };
    new Counter({
      name: 'starling_received_bytes_total',
      help: 'Bytes of WebSocket frames received.',
      registers,
      collect() {
        this.inc(since('bytesIn', sources.traffic().bytesIn));
      },
    });
    new Counter({
      name: 'starling_sent_bytes_total',
      help: 'Bytes of WebSocket frames sent.',
      registers,
      collect() {
        this.inc(since('bytesOut', sources.traffic().bytesOut));
      },
    });
  }

  /** A round's results and failures, as they are collected. */
  onClients(results: readonly ResultRecord[], failures: readonly FitFailure[]): void {
    this.results.inc(results.length);
    for (const f of failures) this.failures.inc({ reason: f.kind satisfies TaskFailureKind });
  }

  /** A completed round's record. */
  onRound(r: RoundRecord): void {
    this.round.set(r.round);
    this.roundsCompleted.inc();
    if (r.skipped) this.roundsSkipped.inc();
    this.roundSeconds.observe(r.seconds);
    for (const [key, phase] of PHASES) if (key !== 'federatedEvaluate' || r.federated) this.phaseSeconds.observe({ phase }, r.timings[key]);
    if (r.accuracy !== null) this.set('starling_model_accuracy', "The last round's central test accuracy (classifiers).", r.accuracy);
    if (r.loss !== null) this.set('starling_model_loss', "The last round's central test loss (a regression model's mean squared error).", r.loss);
    if (r.epsilon !== undefined) this.set('starling_privacy_epsilon', "Differential privacy: the ε spent so far (RDP accountant, at the run's δ).", r.epsilon);
  }

  private set(name: string, help: string, value: number): void {
    let gauge = this.later.get(name);
    if (!gauge) {
      gauge = new Gauge({ name, help, registers: [this.registry] });
      this.later.set(name, gauge);
    }
    gauge.set(value);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: this coordinator's metrics, then the process's. */
  render(): Promise<string> {
    return Registry.merge([this.registry, processRegistry()]).metrics();
  }
}

let processMetrics: Registry | undefined;

/**
 * The process's own metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * nodejs_eventloop_lag_seconds, nodejs_gc_duration_seconds, …), collected once per process: each
 * collection installs observers nothing removes, so one per coordinator would pile up in a
 * process that starts many (tune, a program).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
