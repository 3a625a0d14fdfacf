import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../../../coordinator/store/checkpoint-file.ts';
import { CheckpointError } from '../../../shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'starling-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const checkpoint = (over: Partial<Checkpoint> = {}): Checkpoint => ({
  runId: 'run-1',
  round: 7,
  weights: Float32Array.of(1, -2.5, 3e-8, 0),
  best: { round: 5, accuracy: 0.875, weights: Float32Array.of(0.5, 0.25, 0, -1) },
  strategy: {
    step: { m: Float64Array.of(0.1, 0.2, 0.3, 0.4), v: Float64Array.of(1e-6, 2e-6, 3e-6, 4e-6) },
    dp: {
      clip: 1.25,
      ledger: { accountant: { rdp: [0.5, Number.POSITIVE_INFINITY], steps: 7 }, lastRate: 0.5, joined: [['Infinity', 2]] },
      noise: { bytes: 65_544, spare: -0.123456789012345 },
    },
  },
  ...over,
});

describe('a round checkpoint file', () => {
  it('reads back exactly what was written: model, best model, server state, DP state (∞ included; a client named "Infinity" stays a name)', async () => {
    const file = join(dir, 'round-7.ckpt');
    const written = await writeCheckpoint(file, checkpoint());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(written.bytes).toBe(statSync(file).size);
    expect(readCheckpoint(file, { runId: 'run-1', round: 7, weights: 4, sha256: written.sha256 })).toEqual(checkpoint());
    // without a best model or DP, as fedavg without early stopping writes it
    const plain = checkpoint({ best: undefined, strategy: { step: {} } });
    const { best: _best, ...rest } = plain;
    expect(decodeCheckpoint(encodeCheckpoint(plain), 'x')).toEqual(rest);
  });

  it('a damaged file is a CheckpointError naming it: truncated, one bit flipped, not a checkpoint, another run or round, the wrong size, not the file the store recorded', async () => {
    const file = join(dir, 'good.ckpt');
    const { sha256 } = await writeCheckpoint(file, checkpoint());
    const bytes = readFileSync(file);
    const expectBad = (content: Uint8Array, pattern: RegExp, expect_: Parameters<typeof readCheckpoint>[1] = { runId: 'run-1', round: 7, weights: 4 }) => {
      const bad = join(dir, 'bad.ckpt');
      writeFileSync(bad, content);
      let caught: unknown;
      try {
        readCheckpoint(bad, expect_);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(CheckpointError);
      expect((caught as CheckpointError).code).toBe('E_CHECKPOINT');
      expect((caught as Error).message).toContain(bad);
      expect((caught as Error).message).toMatch(pattern);
    };
    expectBad(bytes.subarray(0, bytes.length - 9), /corrupt or truncated: its SHA-256 checksum does not match/);
    expectBad(bytes.subarray(0, 20), /not a Starling checkpoint \(only 20 bytes\)/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3]! ^= 0x10;
    expectBad(flipped, /SHA-256 checksum does not match/);
    expectBad(Buffer.from('{"weights": [1, 2, 3]} and more bytes than the prefix'), /wrong magic/);
    expectBad(bytes, /belongs to run run-1, not run-2/, { runId: 'run-2', round: 7, weights: 4 });
    expectBad(bytes, /holds round 7, the store says 8/, { runId: 'run-1', round: 8, weights: 4 });
    expectBad(bytes, /its model has 4 values, this run's has 5/, { runId: 'run-1', round: 7, weights: 5 });
    expectBad(bytes, /its server state m has 4 values, this run trains 3/, { runId: 'run-1', round: 7, weights: 4, trainable: 3 });
    expectBad(bytes, new RegExp(`is truncated or was changed: ${bytes.length} bytes, the store recorded 12`), {
      runId: 'run-1',
      round: 7,
      weights: 4,
      bytes: 12,
    });
    expect(() => readCheckpoint(file, { runId: 'run-1', round: 7, weights: 4, sha256: sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).toThrow(
      /is not the file the store recorded for round 7/,
    );
    expect(() => readCheckpoint(join(dir, 'missing.ckpt'), { runId: 'run-1', round: 7, weights: 4 })).toThrow(/missing\.ckpt cannot be read/);
    expect(() => readCheckpoint(dir, { runId: 'run-1', round: 7, weights: 4 })).toThrow(/is not a regular file/);
  });
});
