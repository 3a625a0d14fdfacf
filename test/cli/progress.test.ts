import { describe, expect, it } from 'vitest';
import { RoundProgress, type ProgressStream } from '../../cli/progress.ts';

/** The terminal's erase-line sequence, made readable. */
const shown = (text: string) => text.replaceAll('\r\x1b[K', '<clear>');

/** A stream that records what is written to it. */
function stream(isTTY: boolean, columns = 100): ProgressStream & { text: string } {
  return {
    isTTY,
    columns,
    text: '',
    write(t: string) {
      this.text += t;
      return true;
    },
  };
}

describe('RoundProgress', () => {
  it('is drawn only where stdout and stderr are a terminal and the output is for a person', () => {
    expect(RoundProgress.wanted(stream(true), stream(true), false)).toBe(true);
    expect(RoundProgress.wanted(stream(true), stream(true), true)).toBe(false);
    expect(RoundProgress.wanted(stream(false), stream(true), false)).toBe(false);
    expect(RoundProgress.wanted(stream(true), stream(false), false)).toBe(false);
  });

  it('prints round lines and log lines above one status line it redraws, and removes it at the end', () => {
    const out = stream(true);
    const err = stream(true);
    const p = new RoundProgress(out, err, 4);
    p.start();
    expect(err.text).toBe('\r\x1b[K[------------------------] round 0/4');
    err.text = '';
    p.round('round 1/4  accuracy 0.8000\n', 1, 'accuracy 0.8000');
    expect(out.text).toBe('round 1/4  accuracy 0.8000\n');
    // the old status line is cleared before the round's line, and a new one drawn after it
    expect(shown(err.text)).toMatch(/^<clear><clear>\[######------------------\] round 1\/4 {2}accuracy 0\.8000 {2}~\d+ s left$/);
    err.text = '';
    p.above('12:00:00 WARN a client left\n', err);
    expect(shown(err.text)).toMatch(/^<clear>12:00:00 WARN a client left\n<clear>\[######-+\] round 1\/4/);
    p.round('round 4/4  accuracy 0.9000\n', 4, 'accuracy 0.9000');
    expect(err.text.endsWith('[########################] round 4/4  accuracy 0.9000')).toBe(true);
    err.text = '';
    p.finish();
    expect(err.text).toBe('\r\x1b[K');
    p.finish();
    expect(err.text).toBe('\r\x1b[K');
  });

  it('fits the terminal: a status line longer than its width is cut', () => {
    const err = stream(true, 30);
    const p = new RoundProgress(stream(true), err, 10, 3);
    p.start();
    expect(err.text).toBe(`\r\x1b[K${'[#######-----------------] round 3/10'.slice(0, 29)}`);
    const unsized = stream(true, 0);
    new RoundProgress(stream(true), unsized, 10, 3).start();
    expect(unsized.text).toBe('\r\x1b[K[#######-----------------] round 3/10');
  });
});
