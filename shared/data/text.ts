import { DataError } from '../errors.ts';
import type { Dataset } from './dataset.ts';

/**
 * Character-level text as a next-character dataset. Every client maps characters
 * through the same fixed vocabulary, so models trained on different texts share one
 * output layer: 0 = any other character, 1 = newline, 2..96 = printable ASCII ' '..'~'.
 */
export const CHAR_VOCAB = 97;

export function charToken(code: number): number {
  if (code === 10) return 1;
  if (code >= 32 && code <= 126) return code - 30;
  return 0;
}

export function tokenChar(token: number): string {
  if (token === 1) return '\n';
  if (token >= 2 && token < CHAR_VOCAB) return String.fromCharCode(token + 30);
  return '\uFFFD';
}

/**
 * Sliding windows of `window` characters (features: their token ids) labelled with
 * the character that follows (the class), every `stride` characters.
 */
export function textDataset(text: string, window: number, stride = 1): Dataset {
  if (!Number.isInteger(window) || window < 1) throw new DataError(`text window must be a positive integer, got ${window}`);
  if (!Number.isInteger(stride) || stride < 1) throw new DataError(`text stride must be a positive integer, got ${stride}`);
  // Windows line endings count as one newline, not an unknown character before each
  const tokens = Uint8Array.from(text.replace(/\r\n?/g, '\n'), (ch) => charToken(ch.codePointAt(0)!));
  if (tokens.length <= window) throw new DataError(`text of ${tokens.length} characters is too short for windows of ${window}`);
  const size = Math.floor((tokens.length - window - 1) / stride) + 1;
  const x = new Float32Array(new SharedArrayBuffer(size * window * 4));
  const y = new Uint8Array(new SharedArrayBuffer(size));
  for (let r = 0; r < size; r++) {
    const at = r * stride;
    for (let k = 0; k < window; k++) x[r * window + k] = tokens[at + k]!;
    y[r] = tokens[at + window]!;
  }
  return { x, y, size, features: window, classes: CHAR_VOCAB };
}
