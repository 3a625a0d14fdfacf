/**
 * A run's progress on a terminal: one status line on stderr — a bar, rounds done of planned, the
 * last score and the time left at the run's pace — redrawn under the per-round lines stdout
 * prints, and under the log lines stderr gets meanwhile (the CLI's logger writes through
 * `above`). Only where both streams are a terminal and the output is for a person (not --json);
 * anywhere else there is no status line and the round lines are all there is.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

const BAR = 24;

export class RoundProgress {
  private readonly out: ProgressStream;
  private readonly status: ProgressStream;
  private readonly total: number;
  private readonly started = performance.now();
  private readonly first: number;
  private done: number;
  private score = '';
  private shown = false;

  /** `done` rounds were already run (a resumed run); the pace is measured over the rounds this process runs. */
  constructor(out: ProgressStream, status: ProgressStream, total: number, done = 0) {
    this.out = out;
    this.status = status;
    this.total = total;
    this.done = done;
    this.first = done;
  }

  /** Whether a status line is drawn: both streams a terminal, output for a person. */
  static wanted(out: ProgressStream, status: ProgressStream, json: boolean): boolean {
    return !json && out.isTTY === true && status.isTTY === true;
  }

  /** Prints a round's line above the status line, then redraws it with the round counted. */
  round(line: string, round: number, score: string): void {
    this.done = round;
    this.score = score;
    this.above(line, this.out);
  }

  /** Writes `text` (whole lines: a log line, say) to `stream` above the status line, which is then redrawn. */
  above(text: string, stream: ProgressStream): void {
    this.clear();
    stream.write(text);
    this.draw();
  }

  /** Shows the status line before the first round ends, with what the run is doing meanwhile (starting its workers, waiting for clients). */
  start(note = ''): void {
    this.score = note;
    this.draw();
  }

  /** Removes the status line (the run ended or stopped). */
  finish(): void {
    this.clear();
  }

  private draw(): void {
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(fraction * BAR);
    const ran = this.done - this.first;
    const seconds = (performance.now() - this.started) / 1000;
    const left = ran > 0 && this.done < this.total ? `  ~${formatSeconds((seconds / ran) * (this.total - this.done))} left` : '';
    const text = `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] round ${this.done}/${this.total}${this.score ? `  ${this.score}` : ''}${left}`;
    // a terminal that reports no size (0, as some pseudo-terminals do) is taken as 80 wide
    const width = this.status.columns || 80;
    this.status.write(`\r\x1b[K${text.length > width - 1 ? text.slice(0, width - 1) : text}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) this.status.write('\r\x1b[K');
    this.shown = false;
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
