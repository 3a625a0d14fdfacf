/**
 * The heartbeat clock both ends of a connection keep (the coordinator for each session, the
 * client agent for its coordinator): `hear` is called for anything that arrives, and every
 * interval `tick` is told whether anything was heard since the previous tick and whether this
 * tick came late. A late tick means this process was busy (aggregating, training: both hold the
 * event loop), so the peer's answers may be waiting unread; each end decides what to make of it.
 * The tick runs once the input that arrived meanwhile has been read (timers run before I/O), so
 * an answer that came in while this process was busy counts. ws answers pings by itself.
 */
export class Heartbeat {
  private heardSinceTick = true;
  private lastHeard = performance.now();
  private timer: NodeJS.Timeout | undefined;

  /** Something arrived from the peer: a frame, a ping or pong, a byte of a frame under way. */
  hear(): void {
    this.heardSinceTick = true;
    this.lastHeard = performance.now();
  }

  /** Milliseconds since anything last arrived. */
  silentMs(): number {
    return performance.now() - this.lastHeard;
  }

  /** Starts ticking every `ms` (the timer never keeps the process alive). */
  start(ms: number, tick: (t: { readonly heard: boolean; readonly late: boolean }) => void): void {
    let due = performance.now() + ms;
    this.heardSinceTick = true;
    this.timer = setInterval(() => {
      const late = performance.now() - due > ms / 2;
      due = performance.now() + ms;
      setImmediate(() => {
        const heard = this.heardSinceTick;
        this.heardSinceTick = false;
        tick({ heard, late });
      });
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A span for a message: tenths of a second below 10 s, whole seconds above. */
export function inSeconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}
