import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/errors.ts';
import { decodeMessage, encodeMessage } from '../../../shared/protocol/codec.ts';
import { fromFrame, plaintextSealer, toFrame, type FrameSealer } from '../../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, toClientSchema, toCoordinatorSchema } from '../../../shared/protocol/messages.ts';
import { Packr } from 'msgpackr';
import { DEFAULT_MODEL } from '../../../shared/models/spec.ts';
import { fitConfig } from '../../../shared/protocol/fit-config.ts';

const MAX = 1 << 20;
const packr = new Packr({ moreTypes: true, useRecords: false });

function rejects(bytes: Uint8Array, pattern: RegExp, code?: string) {
  try {
    decodeMessage(bytes, toCoordinatorSchema, MAX);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(pattern);
    if (code) expect((err as ProtocolError).code).toBe(code);
    return;
  }
  throw new Error('expected a ProtocolError');
}

describe('wire codec', () => {
  it('round-trips a fit result with its Float32Array delta bit-exactly', () => {
    const delta = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e-3);
    const msg = { type: 'fitResult', round: 3, numExamples: 800, delta, metrics: { loss: 0.5 }, seconds: 0.1 } as const;
    const back = decodeMessage(encodeMessage(msg), toCoordinatorSchema, MAX);
    expect(back.type).toBe('fitResult');
    if (back.type !== 'fitResult') return;
    expect(back.delta).toBeInstanceOf(Float32Array);
    expect(Buffer.from(back.delta.buffer, back.delta.byteOffset, back.delta.byteLength).equals(Buffer.from(delta.buffer))).toBe(true);
  });

  it('round-trips a fit task with and without weights', () => {
    const base = {
      type: 'fit',
      round: 1,
      modelVersion: 0,
      spec: DEFAULT_MODEL,
      config: fitConfig({ epochs: 1, batchSize: 32, optimizer: 'sgd', lr: 0.05, momentum: 0, mu: 0 }),
      seed: 7,
    } as const;
    const withW = decodeMessage(encodeMessage({ ...base, weights: Float32Array.of(1, 2) }), toClientSchema, MAX);
    expect(withW.type === 'fit' && [...withW.weights!]).toEqual([1, 2]);
    const without = decodeMessage(encodeMessage(base), toClientSchema, MAX);
    expect(without.type === 'fit' && without.weights).toBeUndefined();
  });

  it('rejects oversized, empty and non-msgpack frames', () => {
    const big = new Uint8Array(MAX + 1);
    expect(() => decodeMessage(big, toCoordinatorSchema, MAX)).toThrow(/exceeds the limit/);
    rejects(new Uint8Array(0), /empty frame/, 'E_MALFORMED');
    rejects(Uint8Array.of(0x82, 0xa1), /malformed frame: a map claims 2 entries but only 1 bytes follow/, 'E_MALFORMED');
  });

  it('rejects unknown types, missing fields, wrong types and extra fields by schema', () => {
    rejects(packr.pack({ type: 'launchMissiles' }), /invalid message/, 'E_INVALID_MESSAGE');
    rejects(packr.pack({ type: 'hello', protocolVersion: PROTOCOL_VERSION }), /"hello".*clientName/);
    rejects(packr.pack({ type: 'hello', protocolVersion: '1', clientName: 'x' }), /protocolVersion/);
    rejects(packr.pack({ type: 'hello', protocolVersion: 1, clientName: 'x', extra: 1 }), /extra/);
    rejects(packr.pack({ type: 'fitResult', round: 1, numExamples: 10, delta: [1, 2], metrics: {}, seconds: 0 }), /Float32Array.*delta/);
    rejects(packr.pack({ type: 'fitResult', round: 1, numExamples: -5, delta: new Float32Array(2), metrics: {}, seconds: 0 }), /numExamples/);
    rejects(packr.pack({ type: 'fitResult', round: 0, numExamples: 5, delta: new Float32Array(2), metrics: {}, seconds: 0 }), /round/);
    rejects(packr.pack([1, 2, 3]), /invalid message/);
    rejects(packr.pack('hello'), /invalid message/);
  });

  it('round-trips evaluate tasks and results', () => {
    const task = { type: 'evaluate', round: 2, modelVersion: 2, spec: DEFAULT_MODEL, weights: Float32Array.of(1, 2) } as const;
    const back = decodeMessage(encodeMessage(task), toClientSchema, MAX);
    expect(back.type === 'evaluate' && [...back.weights!]).toEqual([1, 2]);
    const result = { type: 'evaluateResult', round: 2, numExamples: 40, metrics: { accuracy: 0.5, loss: 1.2 } } as const;
    expect(decodeMessage(encodeMessage(result), toCoordinatorSchema, MAX)).toEqual(result);
    const none = { type: 'evaluateResult', round: 2, numExamples: 0, metrics: {} } as const;
    expect(decodeMessage(encodeMessage(none), toCoordinatorSchema, MAX)).toEqual(none);
  });

  it('rejects a malformed evaluateResult with the field that is wrong', () => {
    const ok = { type: 'evaluateResult', round: 1, numExamples: 10, metrics: { accuracy: 0.5 } };
    rejects(packr.pack({ ...ok, numExamples: -1 }), /"evaluateResult".*numExamples/, 'E_INVALID_MESSAGE');
    rejects(packr.pack({ ...ok, numExamples: 2.5 }), /"evaluateResult".*numExamples/);
    rejects(packr.pack({ ...ok, round: 0 }), /"evaluateResult".*round/);
    rejects(packr.pack({ ...ok, metrics: { accuracy: 'high' } }), /"evaluateResult".*metrics\.accuracy/);
    rejects(packr.pack({ ...ok, metrics: { accuracy: Infinity } }), /"evaluateResult".*metrics\.accuracy/);
    rejects(packr.pack({ ...ok, metrics: { accuracy: NaN } }), /"evaluateResult".*metrics\.accuracy/);
    rejects(packr.pack({ ...ok, metrics: {} }), /metrics must be empty exactly when numExamples is 0 at metrics/);
    rejects(packr.pack({ ...ok, numExamples: 0 }), /metrics must be empty exactly when numExamples is 0 at metrics/);
    rejects(packr.pack({ ...ok, delta: new Float32Array(1) }), /"evaluateResult".*delta/);
    const { metrics: _m, ...noMetrics } = ok;
    rejects(packr.pack(noMetrics), /"evaluateResult".*metrics/);
  });

  it('passes every frame through the sealer; a failed open is a protocol error', () => {
    const xor: FrameSealer = {
      seal: (p) => p.map((b) => b ^ 0x5a),
      open: (s) => (s[0] === 0 ? null : s.map((b) => b ^ 0x5a)),
    };
    const frame = toFrame({ type: 'hello', protocolVersion: 1, clientName: 'a' }, xor);
    expect(fromFrame(frame, toCoordinatorSchema, xor, MAX)).toEqual({ type: 'hello', protocolVersion: 1, clientName: 'a' });
    expect(() => fromFrame(Uint8Array.of(0, 1), toCoordinatorSchema, xor, MAX)).toThrow(/failed authentication/);
    expect(() => fromFrame(frame, toCoordinatorSchema, plaintextSealer, MAX)).toThrow(ProtocolError);
  });
});
