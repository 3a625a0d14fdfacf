import { Command } from 'commander';
import { resolveRunConfig, runConfigInputSchema, type RunConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { formatDrops, type CleanReport } from '../shared/data/clean.ts';
import { inspectData, type DataInspection } from '../shared/data/inspect.ts';
import { formatPartition } from '../shared/data/partition.ts';
import type { LoadedData } from '../shared/data/run-data.ts';
import { formatDataSpec, type DataSpec } from '../shared/data/source.ts';
import { runFlagOption } from './flags.ts';

/** The data settings `data inspect` takes: the run-config flags that say how a run reads and cuts its data. */
const INSPECT_FLAGS = ['data', 'task', 'label', 'classes', 'clean', 'cleanRange', 'normalize', 'testData', 'testFraction', 'validation', 'partition'] as const;

/** `starling data inspect`: the data as a run would read and cut it, before any run. */
export function dataCommand(): Command {
  const inspect = new Command('inspect').description(
    "show how a run reads the data (what cleaning drops, and why) and cuts it: the splits, then each client's size and label histogram",
  );
  for (const key of INSPECT_FLAGS) inspect.addOption(runFlagOption(key));
  inspect
    .addOption(runFlagOption('clients', 'number of clients (default 10)'))
    .addOption(runFlagOption('seed', 'partition and split seed (default 42)'))
    .option('--json', 'one JSON object: the cleaning reports, the splits and each client')
    .action(async (flags: Record<string, unknown>) => {
      const layer = Object.fromEntries([...INSPECT_FLAGS, 'clients', 'seed'].map((k) => [k, flags[k]]));
      const config = resolveRunConfig('flags', layer);
      const seen = await inspectData(config.data, config.data.partition, config.clients, config.seed);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(seen)}\n`);
        return;
      }
      process.stdout.write(`${describeInspection(config, seen).join('\n')}\n`);
    });
  return new Command('data').description('look at data as a run would read and cut it').addCommand(inspect);
}

/** What cleaning did to the run's data (each dropped row, with its line and reason), for people; empty without cleaning. */
export function cleaningLines(source: DataSpec, data: Pick<LoadedData, 'report' | 'testReport'>, testData?: DataSpec): string[] {
  const lines: string[] = [];
  const add = (spec: DataSpec, report: CleanReport | undefined) => {
    if (!report) return;
    const [summary, ...drops] = formatDrops(report);
    lines.push(`cleaning ${formatDataSpec(spec)}: ${summary}`, ...drops);
  };
  add(source, data.report);
  if (testData) add(testData, data.testReport);
  return lines;
}

/** For a CSV or IDX run, the one line saying what was read: features, classes (by name) and the splits' sizes; none for built-in data. */
export function dataSummary(options: { source: DataSpec; testData?: DataSpec }, data: LoadedData): string | undefined {
  const { source, testData } = options;
  if (source.kind !== 'csv' && source.kind !== 'idx') return undefined;
  const names = data.classNames ? ` (${data.classNames.join(', ')})` : '';
  const validation = data.validation ? `, validation ${data.validation.size}` : '';
  const regression = data.train.targets !== undefined;
  const holdout = regression ? 'seeded hold-out' : 'stratified hold-out';
  const test = testData ? `test ${data.test.size} from ${formatDataSpec(testData)}` : `test ${data.test.size} (${holdout})`;
  const labels = regression ? 'a real-valued target' : `${data.train.classes} classes${names}`;
  return `data: ${data.train.features} features, ${labels}; train ${data.train.size}${validation}, ${test}`;
}

function describeInspection(config: RunConfig, seen: DataInspection): string[] {
  if (seen.regression) return describeRegression(config, seen);
  const { source, partition, testData } = config.data;
  const names = seen.classNames ?? Array.from({ length: seen.classes }, (_, i) => String(i));
  const width = Math.max(5, ...names.map((n) => n.length + 1));
  const clientWidth = String(config.clients).length;
  const { train, validation, test } = seen.splits;
  return [
    ...cleaningLines(source, seen, testData),
    `${formatDataSpec(source)}: ${seen.features} features, ${seen.classes} classes${seen.classNames ? ` (${seen.classNames.join(', ')})` : ''}`,
    `splits: train ${train}` +
      (validation !== undefined ? `, validation ${validation}` : '') +
      `, test ${test}` +
      (testData ? ` (${formatDataSpec(testData)})` : ''),
    `${formatPartition(partition)}, ${config.clients} clients, seed ${config.seed}: size, then rows per class`,
    `${' '.repeat(7 + clientWidth)}  ${'rows'.padStart(6)}  ${names.map((n) => n.padStart(width)).join('')}`,
    ...seen.clients.map(
      (r) => `client ${String(r.client).padStart(clientWidth)}  ${String(r.size).padStart(6)}  ${r.labels.map((c) => String(c).padStart(width)).join('')}`,
    ),
  ];
}

/** A regression run's data as inspected: no classes to count, so each client's size and the mean of its targets. */
function describeRegression(config: RunConfig, seen: DataInspection): string[] {
  const { source, partition, testData } = config.data;
  const clientWidth = String(config.clients).length;
  const { train, validation, test } = seen.splits;
  return [
    ...cleaningLines(source, seen, testData),
    `${formatDataSpec(source)}: ${seen.features} features, a real-valued target`,
    `splits: train ${train}${validation !== undefined ? `, validation ${validation}` : ''}, test ${test}${testData ? ` (${formatDataSpec(testData)})` : ''}`,
    `${formatPartition(partition)}, ${config.clients} clients, seed ${config.seed}: size, then the mean target`,
    ...seen.clients.map(
      (r) => `client ${String(r.client).padStart(clientWidth)}  ${String(r.size).padStart(6)}  ${(r.targetMean ?? 0).toPrecision(6).padStart(12)}`,
    ),
  ];
}

/** A client's --classes: the same rules as the run config's classes (two or more names, each once). */
export function parseClassNames(text: string): string[] {
  const parsed = runConfigInputSchema.shape.classes.safeParse(text);
  if (!parsed.success || parsed.data === undefined) throw new ConfigError(`--classes: ${parsed.error?.issues[0]?.message ?? 'no class names'} (got "${text}")`);
  return parsed.data;
}
