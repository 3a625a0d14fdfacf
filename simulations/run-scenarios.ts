/**
 * Runs the reproductions in simulations/scenarios/*.yaml (or the files given) with the
 * real simulate path and prints, per scenario, a Markdown table of the rounds each run
 * needed to reach the scenario's target test accuracy, then the curves as JSON. With
 * `--out DIR` it also writes them there: scenarios.md (the tables), scenarios.json (each
 * run's result and curve) and a figure per scenario file, <file>.svg (test accuracy by round).
 *
 *   npm run scenarios                          # every scenario
 *   npm run scenarios -- simulations/scenarios/fedavg-vs-fedsgd-mnist.yaml
 *   npm run scenarios -- --out docs/scenarios  # and the tables, JSON and figures in docs/scenarios
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { resolveRunConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';
import { silentLogger } from '../shared/log.ts';
import { scenarioFigure } from './scenario-figure.ts';
import { simulate } from './simulate.ts';

interface Scenario {
  name: string;
  target: number;
  /** Ratios of rounds: each run against the one before it (pairs), or every run against the first. */
  compare?: 'pairs' | 'first';
  /** false: run every round and read the first one at the target off the curve (default true: stop there). */
  stopAtTarget?: boolean;
  base: Record<string, unknown>;
  runs: { label: string; config: Record<string, unknown> }[];
}

const dir = new URL('./scenarios/', import.meta.url).pathname;
const { values: flags, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
const files = positionals.length
  ? positionals
  : readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f));
const curves: Record<string, Record<string, (number | null)[]>> = {};
/** What stdout gets, kept for scenarios.md. */
let markdown = '';
const print = (text: string) => {
  markdown += text;
  process.stdout.write(text);
};
const figures: { name: string; svg: string }[] = [];
const results: Record<string, { label: string; rounds: number | null; accuracy: number | null; seconds: number }[]> = {};

for (const file of files) {
  const s = parse(readFileSync(file, 'utf8')) as Scenario;
  if (!s?.name || !(s.target > 0) || !Array.isArray(s.runs)) throw new ConfigError(`${file}: a scenario needs name, target and runs`);
  print(
    `\n### ${s.name}\n\ntarget test accuracy ${s.target}\n\n` +
      '| run | rounds to target | accuracy at the end | ε (δ) at the end | ε without amplification, worst client | seconds |\n' +
      '|---|---|---|---|---|---|\n',
  );
  const found: { label: string; rounds: number | null; accuracy: number | null; seconds: number }[] = [];
  results[s.name] = found;
  curves[s.name] = {};
  for (const run of s.runs) {
    const config = resolveRunConfig(`${file}: ${run.label}`, s.base, run.config, {
      targetAccuracy: s.stopAtTarget === false ? undefined : s.target,
      out: 'runs/scenarios',
    });
    const started = performance.now();
    const r = await simulate(config, { log: silentLogger, writeHistory: false });
    const last = r.history.rounds.at(-1)!;
    const reached = r.history.rounds.find((x) => x.accuracy !== null && x.accuracy >= s.target)?.round ?? null;
    found.push({ label: run.label, rounds: reached, accuracy: last.accuracy, seconds: (performance.now() - started) / 1000 });
    curves[s.name]![run.label] = r.history.rounds.map((x) => x.accuracy);
    const privacy = last.epsilon !== undefined ? `${last.epsilon.toFixed(2)} (${last.delta!.toExponential(0)})` : '—';
    // a simulation's sample is seeded (replayable): the amplified ε assumes a secret one, so the honest figure stands beside it
    const unamplified = last.epsilonUnamplifiedMax !== undefined ? last.epsilonUnamplifiedMax.toFixed(2) : '—';
    print(
      `| ${run.label} | ${reached ?? `not within ${config.rounds}`} | ${last.accuracy?.toFixed(4)} | ${privacy} | ${unamplified} | ${((performance.now() - started) / 1000).toFixed(1)} |\n`,
    );
  }
  const pairs =
    (s.compare ?? 'pairs') === 'pairs'
      ? found.flatMap((b, i) => (i % 2 ? [[found[i - 1]!, b] as const] : []))
      : found.slice(1).map((b) => [found[0]!, b] as const);
  for (const [a, b] of pairs) {
    if (a.rounds && b.rounds) print(`\n${b.label} needs ${(a.rounds / b.rounds).toFixed(1)}× fewer rounds than ${a.label}.`);
  }
  print('\n');
  figures.push({ name: basename(file, '.yaml'), svg: scenarioFigure(s.name, s.target, curves[s.name]!) });
}
print(`\n<details><summary>curves (accuracy by round)</summary>\n\n\`\`\`json\n${JSON.stringify(curves)}\n\`\`\`\n</details>\n`);
if (flags.out) {
  mkdirSync(flags.out, { recursive: true });
  writeFileSync(join(flags.out, 'scenarios.md'), markdown);
  writeFileSync(join(flags.out, 'scenarios.json'), `${JSON.stringify({ results, curves }, null, 2)}\n`);
  for (const f of figures) writeFileSync(join(flags.out, `${f.name}.svg`), f.svg);
  process.stderr.write(`wrote scenarios.md, scenarios.json and ${figures.length} figures to ${flags.out}\n`);
}
