import { existsSync } from 'node:fs';
import { Command } from 'commander';
import type { RoundRecord } from '../coordinator/round-loop.ts';
import { type RunSummary, RunStore } from '../coordinator/store/run-store.ts';
import { StarlingError } from '../shared/errors.ts';

const DEFAULT_STORE = 'runs/starling.db';

/** `starling runs`: what the run store holds, read-only (it works on a store a crashed run left). */
export function runsCommand(): Command {
  const runs = new Command('runs').description('list and show the runs in a run store');
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
    });
  runs
    .command('show <id>')
    .description("a run's config and its round table (the id, or a unique prefix of it)")
    .option('--store <file>', `the run store (default ${DEFAULT_STORE})`, DEFAULT_STORE)
    .option('--json', 'the run as one JSON object: summary, config, rounds')
    .action((id: string, flags: { store: string; json?: boolean }) => {
      const run = withStore(flags.store, (store) => store.getRun(id));
      if (!run)
        throw new StarlingError('E_CONFIG', `no run ${JSON.stringify(id)} in ${flags.store} (or the prefix names more than one; see starling runs list)`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(run)}\n`);
        return;
      }
      const s = run.summary;
      process.stdout.write(
        `run ${s.id}: ${s.status}${s.error ? ` (${s.error})` : ''}, ${s.rounds}/${s.roundsPlanned} rounds, started ${s.startedAt}` +
          `${s.finishedAt ? `, finished ${s.finishedAt}` : ''}\n${s.data}, ${s.model}, ${s.strategy}${s.dir ? `; files in ${s.dir}` : ''}\n\n`,
      );
      for (const [key, value] of Object.entries(run.config)) process.stdout.write(`  ${key}: ${JSON.stringify(value)}\n`);
      process.stdout.write(`\n${table(['round', 'accuracy', 'loss', 'seconds', 'clients', 'failed', 'train loss', 'note'], run.rounds.map(roundRow))}`);
    });
  return runs;
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

function roundRow(r: RoundRecord): string[] {
  const note = r.skipped ? `skipped: ${r.skipReason ?? ''}` : r.epsilon !== undefined ? `ε ${r.epsilon.toFixed(3)}` : '';
  return [String(r.round), fixed(r.accuracy), fixed(r.loss), r.seconds.toFixed(2), String(r.clients), String(r.failures), fixed(r.trainLoss), note];
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
