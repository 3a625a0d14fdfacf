import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import { type RunSummary, RunStore, type StoredRun } from '../coordinator/store/run-store.ts';
import { atomicWrite } from '../shared/atomic-file.ts';
import { errorMessage, StarlingError } from '../shared/errors.ts';
import { curveChart } from './curve-chart.ts';
import { svgChart } from '../shared/plot/svg-chart.ts';

const DEFAULT_STORE = 'runs/starling.db';

/** What `runs compare --metric` compares: a field of every round record. */
const METRICS = ['accuracy', 'loss', 'trainLoss', 'trainAccuracy', 'epsilon', 'seconds'] as const;
type Metric = (typeof METRICS)[number];
/** The metrics whose best value is the smallest. */
const LOWER_IS_BETTER: ReadonlySet<Metric> = new Set(['loss', 'trainLoss', 'epsilon', 'seconds']);
const DIGITS: Record<Metric, number> = { accuracy: 4, loss: 4, trainLoss: 4, trainAccuracy: 4, epsilon: 3, seconds: 2 };
/** The runs' labels in `runs compare`, in the order given. */
const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `starling runs`: what the run store holds, read-only (it works on a store a crashed run left). */
export function runsCommand(): Command {
  const runs = new Command('runs').description('list, show, compare, plot and export the runs in a run store');
  runs
    .command('list')
    .description('every run, newest first: id, started, status, rounds, best accuracy, data, model, strategy')
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .option('--json', 'one JSON object per run')
    .action((flags: { store: string; json?: boolean }) => {
      const list = withStore(flags.store, (store) => store.listRuns());
      if (flags.json) {
        for (const r of list) process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write(`no runs in ${flags.store}\n`);
        return;
      }
      process.stdout.write(table(['run', 'started', 'status', 'rounds', 'best acc', 'data', 'model', 'strategy'], list.map(listRow)));
      if (list.some((r) => r.status === 'stopped' || r.status === 'interrupted' || r.status === 'failed'))
        process.stdout.write(
          '\na stopped, interrupted or failed run continues with `starling coordinator --resume <run>` (or `starling simulate --resume <run>`)\n',
        );
    });
  runs
    .command('show <id>')
    .description("a run's config and its round table (the id, or a unique prefix of it)")
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .option('--json', 'the run as one JSON object: summary, config, rounds')
    .action((id: string, flags: { store: string; json?: boolean }) => {
      const run = withStore(flags.store, (store) => findRun(store, id));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(run)}\n`);
        return;
      }
      const s = run.summary;
      process.stdout.write(
        `run ${s.id}: ${s.status}${s.error ? ` (${s.error})` : ''}, ${s.rounds}/${s.roundsPlanned} rounds, started ${s.startedAt}` +
          `${s.resumes ? `, resumed ${s.resumes} time${s.resumes === 1 ? '' : 's'}` : ''}` +
          `${s.finishedAt ? `, finished ${s.finishedAt}` : ''}\n${s.data}, ${s.model}, ${s.strategy}${s.dir ? `; files in ${s.dir}` : ''}\n\n`,
      );
      for (const [key, value] of Object.entries(run.config)) process.stdout.write(`  ${key}: ${JSON.stringify(value)}\n`);
      // a regression run's rounds are read by their MAE; its accuracy is null throughout
      const regression = run.rounds.some((r) => r.mae !== undefined);
      const header = ['round', regression ? 'mae' : 'accuracy', 'loss', 'seconds', 'clients', 'failed', 'train loss', 'note'];
      process.stdout.write(
        `\n${table(
          header,
          run.rounds.map((r) => roundRow(r, regression)),
        )}`,
      );
    });
  runs
    .command('compare <ids...>')
    .description('two or more runs side by side (ids or unique prefixes): a metric by round, as a table and as curves, and each run at its best')
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .addOption(new Option('--metric <name>', 'the metric to compare').choices(METRICS).default('accuracy'))
    .option('--json', 'one JSON object: runs (each with its label), metric, rounds (each with its value per label)')
    .action((ids: string[], flags: { store: string; metric: Metric; json?: boolean }) => {
      if (ids.length < 2) throw new StarlingError('E_CONFIG', `runs compare needs two or more runs, got ${ids.length} (see starling runs list)`);
      if (ids.length > LABELS.length) throw new StarlingError('E_CONFIG', `runs compare takes at most ${LABELS.length} runs, got ${ids.length}`);
      const found = withStore(flags.store, (store) => ids.map((id) => findRun(store, id)));
      found.forEach((run, i) => {
        const j = found.findIndex((other) => other.summary.id === run.summary.id);
        if (j !== i)
          throw new StarlingError(
            'E_CONFIG',
            `${JSON.stringify(ids[j])} and ${JSON.stringify(ids[i])} name the same run, ${run.summary.id}: compare different runs`,
          );
      });
      process.stdout.write(flags.json ? `${JSON.stringify(comparison(found, flags.metric))}\n` : compareText(found, flags.metric));
    });
  runs
    .command('plot <ids...>')
    .description('learning curves of one or more runs as an SVG file: a panel per metric (default accuracy and loss), a line per run')
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .requiredOption('--out <file>', 'the SVG file to write (atomically)')
    .addOption(new Option('--metric <names...>', 'the metrics to draw, a panel each').choices(METRICS).default(['accuracy', 'loss']))
    .action((ids: string[], flags: { store: string; out: string; metric: Metric[] }) => {
      if (!flags.out.toLowerCase().endsWith('.svg'))
        throw new StarlingError('E_CONFIG', `runs plot writes SVG: --out must end in .svg, got ${JSON.stringify(flags.out)}`);
      const found = withStore(flags.store, (store) => ids.map((id) => findRun(store, id)));
      const svg = plotRuns(found, [...new Set(flags.metric)]);
      try {
        atomicWrite(flags.out, svg, 0o644);
      } catch (e) {
        throw new StarlingError('E_CONFIG', `cannot write ${flags.out}: ${errorMessage(e)}`, { cause: e });
      }
      process.stderr.write(`wrote ${flags.out}: ${found.length} run${found.length === 1 ? '' : 's'}, ${flags.metric.join(' and ')} by round\n`);
    });
  runs
    .command('export <id>')
    .description("a run's rounds as CSV (one line per round), or the whole run as JSON (its config, rounds and every client's result)")
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .addOption(new Option('--format <format>', "csv: the rounds' fields, a line per round; json: the whole run").choices(['csv', 'json']).makeOptionMandatory())
    .option('--out <file>', 'write it to FILE (atomically, mode 0600) rather than to stdout')
    .action((id: string, flags: { store: string; format: 'csv' | 'json'; out?: string }) => {
      const { text, run } = withStore(flags.store, (store) => {
        const run = findRun(store, id);
        if (flags.format === 'csv') return { text: roundsCsv(run.rounds), run };
        const rounds = run.rounds.map((r) => ({ ...r, clientResults: store.clientResults(run.summary.id, r.round) }));
        return { text: `${JSON.stringify({ summary: run.summary, config: run.config, rounds }, null, 2)}\n`, run };
      });
      if (!flags.out) {
        process.stdout.write(text);
        return;
      }
      try {
        atomicWrite(flags.out, text, 0o600);
      } catch (e) {
        throw new StarlingError('E_CONFIG', `cannot write ${flags.out}: ${errorMessage(e)}`, { cause: e });
      }
      process.stderr.write(`wrote ${flags.out} (mode 0600): run ${run.summary.id}, ${run.rounds.length} rounds, ${flags.format}\n`);
    });
  return runs;
}

/** The run `idOrPrefix` names, or an error that says whether no run or several runs have that prefix. */
function findRun(store: RunStore, idOrPrefix: string): StoredRun {
  const run = store.getRun(idOrPrefix);
  if (run) return run;
  // as the store's LIKE matches: ASCII letters in either case
  const matches = store.listRuns().filter((r) => r.id.toLowerCase().startsWith(idOrPrefix.toLowerCase()));
  if (matches.length > 1) {
    const named = matches
      .map((r) => r.id)
      .sort()
      .slice(0, 5);
    throw new StarlingError(
      'E_CONFIG',
      `${JSON.stringify(idOrPrefix)} is the prefix of ${matches.length} runs in ${store.path} (${named.join(', ')}${matches.length > 5 ? ', …' : ''}): ` +
        'give more of the id',
    );
  }
  throw new StarlingError('E_CONFIG', `no run ${JSON.stringify(idOrPrefix)} in ${store.path} (see starling runs list)`);
}

/** Opens the store read-only for `read`; a missing file is named, not created. */
function withStore<T>(path: string, read: (store: RunStore) => T): T {
  if (!existsSync(path)) throw new StarlingError('E_STORE', `no run store at ${path} (a coordinator or simulate writes one; --store FILE names another)`);
  const store = RunStore.open(path, { readonly: true });
  try {
    return read(store);
  } finally {
    store.close();
  }
}

const fixed = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));

function listRow(r: RunSummary): string[] {
  return [r.id, r.startedAt.replace('T', ' ').slice(0, 19), r.status, `${r.rounds}/${r.roundsPlanned}`, fixed(r.bestAccuracy), r.data, r.model, r.strategy];
}

function roundRow(r: RoundRecord, regression: boolean): string[] {
  const note = r.skipped ? `skipped: ${r.skipReason ?? ''}` : r.epsilon !== undefined ? `ε ${r.epsilon.toFixed(3)}` : '';
  return [
    String(r.round),
    fixed(regression ? r.mae : r.accuracy),
    fixed(r.loss),
    r.seconds.toFixed(2),
    String(r.clients),
    String(r.failures),
    fixed(r.trainLoss),
    note,
  ];
}

/** Columns padded to their widest cell, the header first. */
function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map(
      (cells) =>
        `${cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** What each metric is called on a chart's axis. */
const AXIS: Record<Metric, string> = {
  accuracy: 'central test accuracy',
  loss: 'central test loss',
  trainLoss: "clients' training loss",
  trainAccuracy: "clients' training accuracy",
  epsilon: 'ε spent',
  seconds: 'seconds per round',
};

/** `runs plot`'s SVG: a panel per metric, a line per run (labelled by id), by round. */
export function plotRuns(found: readonly StoredRun[], metrics: readonly Metric[]): string {
  const panels = metrics.map((metric) => ({
    title: AXIS[metric],
    xLabel: 'round',
    yLabel: metric,
    series: found.map((run) => ({
      label: `${run.summary.id} (${run.summary.strategy})`,
      points: run.rounds.map((r) => ({ x: r.round, y: metricOf(r, metric) })),
    })),
  }));
  return svgChart(panels, `${metrics.join(' and ')} by round of ${found.map((r) => r.summary.id).join(', ')}`);
}

const metricOf = (r: RoundRecord, metric: Metric): number | null => {
  const v = r[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

interface RoundValue {
  readonly round: number;
  readonly value: number;
}

/** The best value of `metric` in a run and the first round that reached it; null when no round has one. */
function bestOf(rounds: readonly RoundRecord[], metric: Metric): RoundValue | null {
  let best: RoundValue | null = null;
  for (const r of rounds) {
    const value = metricOf(r, metric);
    if (value === null) continue;
    if (!best || (LOWER_IS_BETTER.has(metric) ? value < best.value : value > best.value)) best = { round: r.round, value };
  }
  return best;
}

/** The last round with a value of `metric` (for ε: what the run has spent). */
function lastOf(rounds: readonly RoundRecord[], metric: Metric): RoundValue | null {
  for (let i = rounds.length - 1; i >= 0; i--) {
    const value = metricOf(rounds[i]!, metric);
    if (value !== null) return { round: rounds[i]!.round, value };
  }
  return null;
}

/** `runs compare --json`: each run under its label, and the metric's value of every run in every round any of them reached. */
function comparison(found: readonly StoredRun[], metric: Metric) {
  const roundNumbers = [...new Set(found.flatMap((run) => run.rounds.map((r) => r.round)))].sort((a, b) => a - b);
  const byRound = found.map((run) => new Map(run.rounds.map((r) => [r.round, metricOf(r, metric)])));
  return {
    runs: found.map((run, i) => ({ label: LABELS[i]!, ...run.summary, best: bestOf(run.rounds, metric), last: lastOf(run.rounds, metric) })),
    metric,
    rounds: roundNumbers.map((round) => ({
      round,
      values: Object.fromEntries(found.map((_, i) => [LABELS[i]!, byRound[i]!.get(round) ?? null])) as Record<string, number | null>,
    })),
  };
}

/** `runs compare` in the terminal: the runs, the metric by round, the curves, and each run's best. */
function compareText(found: readonly StoredRun[], metric: Metric): string {
  const c = comparison(found, metric);
  const labels = c.runs.map((r) => r.label);
  const format = (v: number | null | undefined) => fixed(v, DIGITS[metric]);
  const header = table(
    ['', 'run', 'status', 'rounds', 'data', 'model', 'strategy'],
    c.runs.map((r) => [r.label, r.id, r.status, `${r.rounds}/${r.roundsPlanned}`, r.data, r.model, r.strategy]),
  );
  const values = table(
    ['round', ...labels],
    c.rounds.map((r) => [String(r.round), ...labels.map((l) => format(r.values[l]))]),
  );
  const chart = curveChart(
    c.runs.map((r) => ({ mark: r.label, points: c.rounds.map((row) => ({ x: row.round, y: row.values[r.label] ?? null })) })),
    { format: (v) => v.toFixed(DIGITS[metric]) },
  );
  const legend = `${labels.join(', ')}: the runs above, upper case at a round's value, lower case between rounds, * where curves meet`;
  const summary =
    metric === 'epsilon'
      ? `ε spent: ${c.runs.map((r) => `${r.label} ${r.last ? `${format(r.last.value)} (round ${r.last.round})` : 'n/a'}`).join(', ')}`
      : `best ${metric}${LOWER_IS_BETTER.has(metric) ? ' (lowest)' : ''}: ` +
        c.runs.map((r) => `${r.label} ${r.best ? `${format(r.best.value)} (round ${r.best.round})` : 'n/a'}`).join(', ');
  return `${header}\n${metric} by round:\n${values}\n${chart.join('\n')}\n${legend}\n\n${summary}\n`;
}

/** The columns of `runs export --format csv`: a header and each round's flat fields. */
const CSV_COLUMNS: readonly (readonly [string, (r: RoundRecord) => unknown])[] = [
  ['round', (r) => r.round],
  ['accuracy', (r) => r.accuracy],
  ['loss', (r) => r.loss],
  ['seconds', (r) => r.seconds],
  ['bytesIn', (r) => r.bytesIn],
  ['bytesOut', (r) => r.bytesOut],
  ['clients', (r) => r.clients],
  ['failures', (r) => r.failures],
  ['partial', (r) => r.partial],
  ['trainLoss', (r) => r.trainLoss],
  ['trainAccuracy', (r) => r.trainAccuracy],
  ['epsilon', (r) => r.epsilon],
  ['delta', (r) => r.delta],
  ['skipped', (r) => r.skipped],
  ['skipReason', (r) => r.skipReason],
  ['timings.collect', (r) => r.timings?.collect],
  ['timings.aggregate', (r) => r.timings?.aggregate],
  ['timings.evaluate', (r) => r.timings?.evaluate],
  ['federated.accuracy', (r) => r.federated?.metrics.accuracy],
];

/** The rounds as CSV: a header line, then a line per round; an empty cell for a value that is null or absent. */
export function roundsCsv(rounds: readonly RoundRecord[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name), ...rounds.map((r) => CSV_COLUMNS.map(([, get]) => csvCell(get(r))))];
  return lines.map((cells) => `${cells.join(',')}\n`).join('');
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, its quotes doubled. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
