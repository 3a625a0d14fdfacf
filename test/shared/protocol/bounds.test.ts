import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../shared/errors.ts';
import { CONTROL_LIMITS, checkBounds } from '../../../shared/protocol/bounds.ts';
import { DEFAULT_LIMITS, encodeMessage } from '../../../shared/protocol/codec.ts';

const refusal = (bytes: Uint8Array, limits = DEFAULT_LIMITS) => {
  try {
    checkBounds(bytes, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).message;
  }
  return undefined;
};

describe('msgpack shape limits, checked before decoding', () => {
  it('passes every message the protocol encodes', () => {
    const msgs = [
      { type: 'hello', protocolVersion: 1, clientName: 'site-1' },
      { type: 'fitResult', round: 3, numExamples: 10, delta: new Float32Array(70_000), metrics: { loss: 0.5, accuracy: 0.9, epochs: 1 }, seconds: 1.5 },
      { type: 'secaggResult', phase: 'unmask', round: 1, selfMaskShares: [{ of: 2, share: new Uint32Array(8) }], keyShares: [] },
      { type: 'secaggResult', phase: 'shareKeys', round: 1, shares: [{ from: 1, to: 2, ciphertext: new Uint8Array(200) }] },
      { type: 'taskFailed', round: 2, task: 'fit', code: 'E_DIVERGED', message: 'NaN' },
    ];
    for (const m of msgs) expect(refusal(encodeMessage(m as never), CONTROL_LIMITS), m.type).toBeUndefined();
    // an optional field left undefined is msgpackr's fixext 1 of type 0
    expect(refusal(encodeMessage({ type: 'fit', weights: undefined } as never), CONTROL_LIMITS)).toBeUndefined();
  });

  it('refuses a container header that claims more entries than bytes follow, without allocating', () => {
    expect(refusal(Uint8Array.of(0xdd, 0x0f, 0x32, 0x00, 0x00, 0, 0, 0), { ...DEFAULT_LIMITS, maxContainer: 2 ** 32 })).toMatch(
      /an array claims 254935040 entries but only 3 bytes follow/,
    );
    expect(refusal(Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff))).toMatch(/a map of 4294967295 entries exceeds the limit/);
  });

  it('refuses containers, strings, depth and total values past the limits', () => {
    const limits = { maxItems: 100, maxContainer: 10, maxDepth: 3, maxString: 8 };
    expect(refusal(encodeMessage(new Array(11).fill(0) as never), limits)).toMatch(/an array of 11 entries exceeds the limit of 10/);
    expect(refusal(encodeMessage('123456789' as never), limits)).toMatch(/a string of 9 bytes exceeds the limit of 8/);
    expect(refusal(encodeMessage([[[[1]]]] as never), limits)).toMatch(/nesting deeper than 3/);
    expect(refusal(encodeMessage(new Array(10).fill(new Array(10).fill(0)) as never), limits)).toMatch(/more than 100 values in one message/);
  });

  it('refuses extension types outside the protocol and typed arrays of other kinds', () => {
    expect(refusal(Uint8Array.of(0xd4, 0x78, 0x00))).toMatch(/extension type 120 is not part of the protocol/);
    expect(refusal(encodeMessage(new Float64Array(2) as never))).toMatch(/typed array kind 8 is not part of the protocol/);
    expect(refusal(Uint8Array.of(0xc7, 0x04, 0x74, 0x07, 1, 2, 3))).toMatch(/not a multiple of 4/);
    expect(refusal(Uint8Array.of(0xc1))).toMatch(/not a msgpack type/);
    expect(refusal(Uint8Array.of(0x01, 0x02))).toMatch(/1 bytes after the message/);
  });

  it('random bytes are refused with a protocol error or pass; nothing else escapes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        refusal(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the encoder on arbitrary JSON-like values (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        expect(refusal(encodeMessage(v as never))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
