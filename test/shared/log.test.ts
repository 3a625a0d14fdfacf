import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { escapeControls, formatPrettyLine, peerText } from '../../shared/log.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** What a hostile peer puts in an error frame: a screen clear, a forged log line, a carriage return, a line separator, a bidi override. */
const FORGED = 'bye\x1b[2J\n12:00:00 ERROR round 3 aborted\rover\u2028next\u202Egnp.exe';

/** Anything that acts on a terminal instead of printing. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters in log lines
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The pino line a `log.warn(FORGED-carrying message)` writes. */
function pinoLine(msg: string): string {
  return `${JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 9, 30, 5), name: 'starling', msg })}\n`;
}

/** Runs `code` (an ES module) in a fresh node with tsx, as the CLI does, and returns its stderr. */
function stderrOf(code: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(r.status).toBe(0);
  return r.stderr;
}

describe('the pretty log sink', () => {
  it('writes a message full of terminal controls as exactly one line, with every control visible as an escape', () => {
    const out = formatPrettyLine(pinoLine(`client c1 reported an error: ${FORGED}`));
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toMatch(RAW_CONTROL);
    expect(out).toBe('09:30:05 WARN client c1 reported an error: bye\\x1b[2J\\n12:00:00 ERROR round 3 aborted\\rover\\u2028next\\u202egnp.exe\n');
  });

  it('escapes every C0 and C1 control, DEL, and the bidi and separator characters; leaves ordinary text alone', () => {
    const all = [
      ...Array.from({ length: 0x20 }, (_, i) => i),
      ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
      0x61c,
      0x200e,
      0x200f,
      0x2028,
      0x2029,
      0x202a,
      0x202b,
      0x202c,
      0x202d,
      0x202e,
      0x2066,
      0x2067,
      0x2068,
      0x2069,
    ];
    const escaped = escapeControls(String.fromCharCode(...all));
    expect(escaped).not.toMatch(RAW_CONTROL);
    expect(escaped).toMatch(/^\\x00\\x01.*\\t\\n\\x0b\\x0c\\r.*\\x1b.*\\x7f\\x80.*\\x85.*\\x9b.*\\x9f\\u061c.*\\u2069$/);
    const plain = 'round 3/10  accuracy 0.9123  ε 1.2 (δ 1e-5) client-1of10 → 日本語 "quoted" C:\\path';
    expect(escapeControls(plain)).toBe(plain);
  });

  it('a line that is not JSON is escaped too, still one line', () => {
    expect(formatPrettyLine('not json\x1b[31m\nsecond\n')).toBe('not json\\x1b[31m\\nsecond\n');
  });

  it('createLogger({ pretty: true }) writes it to stderr as one line', () => {
    const err = stderrOf(`const { createLogger } = await import('./shared/log.ts'); createLogger('info', { pretty: true }).warn(${JSON.stringify(FORGED)});`);
    expect(err.split('\n')).toHaveLength(2);
    expect(err).toMatch(/^\d\d:\d\d:\d\d WARN bye\\x1b\[2J\\n12:00:00 ERROR round 3/);
    expect(err.slice(0, -1)).not.toMatch(RAW_CONTROL);
  });
});

describe('the JSON log sink', () => {
  it('writes one JSON line per call, with no raw control character, that parses back to exactly what was logged', () => {
    const err = stderrOf(
      "const { createLogger } = await import('./shared/log.ts'); const l = createLogger('info'); " +
        `l.warn({ client: ${JSON.stringify(FORGED)} }, ${JSON.stringify(`reported: ${FORGED}`)}); l.info('second');`,
    );
    const lines = err.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    for (const line of lines.slice(0, 2)) expect(line).not.toMatch(RAW_CONTROL);
    const first = JSON.parse(lines[0]!) as { msg: string; client: string };
    expect(first.msg).toBe(`reported: ${FORGED}`);
    expect(first.client).toBe(FORGED);
    expect((JSON.parse(lines[1]!) as { msg: string }).msg).toBe('second');
  });
});

describe('peerText', () => {
  it("quotes a peer's string and escapes its quotes, backslashes and controls", () => {
    expect(peerText('site-1')).toBe('"site-1"');
    expect(peerText('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    const t = peerText(FORGED);
    expect(t).not.toMatch(RAW_CONTROL);
    expect(t).toBe('"bye\\x1b[2J\\n12:00:00 ERROR round 3 aborted\\rover\\u2028next\\u202egnp.exe"');
  });

  it('cuts a long string at max characters (never inside a surrogate pair) and marks the cut', () => {
    expect(peerText('x'.repeat(5000))).toBe(`"${'x'.repeat(200)}…"`);
    expect(peerText('abcdef', 3)).toBe('"abc…"');
    expect(peerText('abc', 3)).toBe('"abc"');
    expect(peerText('😀😀😀', 2)).toBe('"😀😀…"');
    // the cut counts characters before escaping: 3 ESCs stay 3 escapes
    expect(peerText('\x1b\x1b\x1b\x1b', 3)).toBe('"\\x1b\\x1b\\x1b…"');
  });
});
