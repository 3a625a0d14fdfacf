import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvCell } from '../../cli/runs.ts';
import { StarlingError } from '../../shared/errors.ts';
import { federatedRecord, roundRecord, runStart, runs, tempDir, writeRun } from './run-store-fixture.ts';

const dir = tempDir('starling-runs-export-');
const store = join(dir, 'starling.db');
const federated = federatedRecord;
writeRun(
  store,
  runStart('run-1', { roundsPlanned: 4 }),
  [
    { record: roundRecord(1, 0.7, { federated, epsilon: 0.5, delta: 1e-5 }), clients: [{ client: 'a', examples: 10, metrics: { loss: 0.3 }, partial: false }] },
    {
      record: roundRecord(2, null, { skipped: true, skipReason: 'only 1 result, 2 "needed"' }),
      clients: [{ client: 'b', failure: 'client b disconnected (code 1006)' }],
    },
  ],
  'interrupted',
);

const HEADER =
  'round,accuracy,loss,seconds,bytesIn,bytesOut,clients,failures,partial,trainLoss,trainAccuracy,epsilon,delta,skipped,skipReason,' +
  'timings.collect,timings.aggregate,timings.evaluate,federated.accuracy';

describe('starling runs export', () => {
  it('csv: a header line and a line per round; RFC 4180 quoting; an empty cell for a null or absent value (a run left interrupted)', async () => {
    const { stdout } = await runs(['export', 'run-', '--store', store, '--format', 'csv']);
    expect(stdout.split('\n')).toEqual([
      HEADER,
      '1,0.7,0.5,0.1,10,20,2,0,0,0.4,0.8,0.5,0.00001,,,0.05,0.001,0.01,0.6',
      '2,,0.5,0.1,10,20,2,0,0,0.4,0.8,,,true,"only 1 result, 2 ""needed""",0.05,0.001,0.01,',
      '',
    ]);
  });

  it('quotes a field with a comma, a quote or a line break, and only those', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\r', 3, false, null, undefined].map(csvCell)).toEqual([
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
      '"cr\r"',
      '3',
      'false',
      '',
      '',
    ]);
  });

  it("json: the summary, the config, and every round with all its fields and its clients' results", async () => {
    const { stdout } = await runs(['export', 'run-1', '--store', store, '--format', 'json']);
    const out = JSON.parse(stdout);
    expect(out.summary).toMatchObject({ id: 'run-1', status: 'interrupted', rounds: 2, roundsPlanned: 4 });
    expect(out.config).toEqual({ clients: 2, rounds: 3 });
    expect(out.rounds).toEqual([
      {
        ...roundRecord(1, 0.7, { federated, epsilon: 0.5, delta: 1e-5 }),
        clientResults: [{ client: 'a', examples: 10, metrics: { loss: 0.3 }, partial: false }],
      },
      {
        ...roundRecord(2, null, { skipped: true, skipReason: 'only 1 result, 2 "needed"' }),
        clientResults: [{ client: 'b', failure: 'client b disconnected (code 1006)' }],
      },
    ]);
  });

  it('--out writes the file (mode 0600) with what stdout would have had, and says so on stderr', async () => {
    for (const format of ['csv', 'json']) {
      const file = join(dir, `run-1.${format}`);
      const written = await runs(['export', 'run-1', '--store', store, '--format', format, '--out', file]);
      expect(written.stdout).toBe('');
      expect(written.stderr).toMatch(new RegExp(`^wrote .*run-1\\.${format} \\(mode 0600\\): run run-1, 2 rounds, ${format}\\n$`));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toBe((await runs(['export', 'run-1', '--store', store, '--format', format])).stdout);
    }
    await expect(runs(['export', 'run-1', '--store', store, '--format', 'csv', '--out', join(dir, 'absent', 'x.csv')])).rejects.toThrow(
      /cannot write .*absent\/x\.csv/,
    );
  });

  it('refuses a bad or missing --format, and an unknown run', async () => {
    await expect(runs(['export', 'run-1', '--store', store, '--format', 'xml'])).rejects.toThrow(/argument 'xml' is invalid. Allowed choices are csv, json/);
    await expect(runs(['export', 'run-1', '--store', store])).rejects.toThrow(/required option '--format <format>' not specified/);
    const err = await runs(['export', 'nope', '--store', store, '--format', 'csv']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StarlingError);
    expect((err as StarlingError).code).toBe('E_CONFIG');
    expect((err as StarlingError).message).toMatch(/^no run "nope" in /);
  });
});
