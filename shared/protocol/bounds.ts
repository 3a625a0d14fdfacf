import { protocolError } from '../errors.ts';

/**
 * Limits on the shape of a msgpack value, checked by walking its bytes BEFORE msgpackr
 * builds anything. A frame can be small and still decode to something huge or slow: an
 * array header claiming 255 million elements, a map of 5 million keys, nesting a thousand
 * deep. The walk allocates nothing, stops at the first limit crossed and costs one step per
 * value header; binary and typed-array payloads are skipped in one step.
 */
export interface DecodeLimits {
  /** Values in the whole message (every scalar, string, container and map key counts one). */
  readonly maxItems: number;
  /** Elements of one array, or entries of one map. */
  readonly maxContainer: number;
  /** Nesting depth of containers. */
  readonly maxDepth: number;
  /** Bytes of one string. */
  readonly maxString: number;
}

/** Limits for control messages (hello, error, done, welcome, handshake): a few dozen values. */
export const CONTROL_LIMITS: DecodeLimits = { maxItems: 256, maxContainer: 64, maxDepth: 8, maxString: 16 * 1024 };

/**
 * msgpackr's `moreTypes` encodes typed arrays as extension type 0x74 ('t') whose first payload
 * byte names the array type. Only the three the protocol carries are accepted; every other
 * extension but msgpackr's `undefined` (records, structured-clone references, dates, sets, errors…) is refused, so the
 * decoder's less travelled paths are never reachable from the wire.
 */
const TYPED_ARRAY_EXT = 0x74;
const TYPED_ARRAY_KINDS: Record<number, number> = { 1: 1 /* Uint8Array */, 6: 4 /* Uint32Array */, 7: 4 /* Float32Array */ };

/** Throws a protocol error (4422) naming the first limit the msgpack value in `bytes` crosses, or a malformed-frame error (4400) if it is not well-formed msgpack. */
export function checkBounds(bytes: Uint8Array, limits: DecodeLimits): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  let pos = 0;
  let items = 0;
  // values still to read in each open container, innermost last
  const open: number[] = [];
  let remaining = 1; // the top-level value
  const need = (n: number) => {
    if (pos + n > end) throw protocolError.malformed(`msgpack value cut short at byte ${pos} (needs ${n} more, ${end - pos} left)`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return view.getUint16(pos - 2);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4);
  };
  const skip = (n: number) => {
    need(n);
    pos += n;
  };
  const str = (n: number) => {
    if (n > limits.maxString) throw protocolError.invalid(`a string of ${n} bytes exceeds the limit of ${limits.maxString}`);
    skip(n);
  };
  const container = (n: number, perEntry: 1 | 2, what: string) => {
    if (n > limits.maxContainer) throw protocolError.invalid(`${what} of ${n} entries exceeds the limit of ${limits.maxContainer} for this message`);
    // each entry needs at least one byte: a count larger than what is left is a lie, refused before it is believed
    if (n * perEntry > end - pos) throw protocolError.malformed(`${what} claims ${n} entries but only ${end - pos} bytes follow`);
    if (n === 0) return;
    if (open.length + 1 > limits.maxDepth) throw protocolError.invalid(`nesting deeper than ${limits.maxDepth}`);
    open.push(remaining);
    remaining = n * perEntry;
  };
  const ext = (n: number) => {
    const type = u8();
    // msgpackr writes `undefined` (an optional field left unset) as fixext 1 of type 0 holding 0
    if (type === 0 && n === 1 && u8() === 0) return;
    if (type !== TYPED_ARRAY_EXT) throw protocolError.invalid(`msgpack extension type ${type} is not part of the protocol`);
    if (n < 1) throw protocolError.malformed('empty typed-array extension');
    const kind = u8();
    const width = TYPED_ARRAY_KINDS[kind];
    if (width === undefined) throw protocolError.invalid(`typed array kind ${kind} is not part of the protocol`);
    if ((n - 1) % width !== 0) throw protocolError.malformed(`typed array of kind ${kind} has ${n - 1} bytes, not a multiple of ${width}`);
    skip(n - 1);
  };

  while (true) {
    while (remaining === 0) {
      if (open.length === 0) {
        if (pos !== end) throw protocolError.malformed(`${end - pos} bytes after the message`);
        return;
      }
      remaining = open.pop()!;
    }
    remaining--;
    if (++items > limits.maxItems) throw protocolError.invalid(`more than ${limits.maxItems} values in one message`);
    const b = u8();
    if (b <= 0x7f || b >= 0xe0) continue; // fixints
    if (b <= 0x8f) container(b & 0x0f, 2, 'a map');
    else if (b <= 0x9f) container(b & 0x0f, 1, 'an array');
    else if (b <= 0xbf) str(b & 0x1f);
    else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break; // nil, false, true
        case 0xc4:
          skip(u8());
          break; // bin 8/16/32
        case 0xc5:
          skip(u16());
          break;
        case 0xc6:
          skip(u32());
          break;
        case 0xc7:
          ext(u8());
          break; // ext 8/16/32
        case 0xc8:
          ext(u16());
          break;
        case 0xc9:
          ext(u32());
          break;
        case 0xca:
          skip(4);
          break; // float 32/64
        case 0xcb:
          skip(8);
          break;
        case 0xcc:
        case 0xd0:
          skip(1);
          break; // (u)int 8/16/32/64
        case 0xcd:
        case 0xd1:
          skip(2);
          break;
        case 0xce:
        case 0xd2:
          skip(4);
          break;
        case 0xcf:
        case 0xd3:
          skip(8);
          break;
        case 0xd4:
          ext(1);
          break; // fixext 1/2/4/8/16
        case 0xd5:
          ext(2);
          break;
        case 0xd6:
          ext(4);
          break;
        case 0xd7:
          ext(8);
          break;
        case 0xd8:
          ext(16);
          break;
        case 0xd9:
          str(u8());
          break; // str 8/16/32
        case 0xda:
          str(u16());
          break;
        case 0xdb:
          str(u32());
          break;
        case 0xdc:
          container(u16(), 1, 'an array');
          break; // array 16/32
        case 0xdd:
          container(u32(), 1, 'an array');
          break;
        case 0xde:
          container(u16(), 2, 'a map');
          break; // map 16/32
        case 0xdf:
          container(u32(), 2, 'a map');
          break;
        default:
          throw protocolError.malformed(`byte 0x${b.toString(16)} at ${pos - 1} is not a msgpack type`);
      }
    }
  }
}
