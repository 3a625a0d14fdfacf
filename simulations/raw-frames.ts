import { encodeMessage } from '../shared/protocol/codec.ts';

/**
 * Hand-made wire bytes for hostile-peer tests and benchmarks (test/e2e/hostile-peers.test.ts,
 * bench/hostile-bench.ts): what a peer that does not use Starling's encoder can send.
 */

/** A client→server WebSocket frame header (binary, masked with a zero key) announcing `length` payload bytes. */
export function clientFrameHeader(length: number): Buffer {
  if (length < 65536) return Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff, 0, 0, 0, 0]);
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** The msgpack map a fitResult for `round` encodes to, with raw msgpack spliced in as its `delta` and `metrics`. */
export function msgpackFitResult(round: number, delta: Uint8Array, metrics: Uint8Array): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x86])];
  const put = (key: string, raw: Uint8Array) => parts.push(Buffer.from([0xa0 | key.length]), Buffer.from(key), Buffer.from(raw));
  put('type', encodeMessage('fitResult' as never));
  put('round', encodeMessage(round as never));
  put('numExamples', encodeMessage(10 as never));
  put('delta', delta);
  put('metrics', metrics);
  put('seconds', encodeMessage(0 as never));
  return Buffer.concat(parts);
}

/** A msgpack map (map 32) of `n` distinct short keys, each mapped to 0. */
export function msgpackMap(n: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0xdf, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])];
  for (let i = 0; i < n; i++) {
    const key = `m${i}`;
    parts.push(Buffer.from([0xa0 | key.length]), Buffer.from(key), Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

/** A float32 vector as msgpack (the typed-array extension), for splicing into msgpackFitResult. */
export function msgpackFloat32(length: number): Uint8Array {
  return encodeMessage(new Float32Array(length) as never);
}
