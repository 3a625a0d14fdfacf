import type { ServerResponse } from 'node:http';
import type { RoundRecord } from '../round-loop.ts';
import type { FitFailure, ResultRecord } from '../strategies/strategy.ts';

/** What the dashboard's header says about the run. */
export interface DashboardRun {
  readonly runId: string;
  readonly strategy: string;
  readonly model: string;
  readonly data: string;
  readonly roundsPlanned: number;
  readonly secure: boolean;
  readonly privacy: boolean;
}

/** One line of the clients table. */
export interface ClientRow {
  readonly name: string;
  /** ready: connected and authenticated; away: known from a round, not connected now. */
  readonly state: 'ready' | 'away';
  /** When the coordinator last heard of it in a round (a result or a failure), ISO time. */
  readonly lastSeen: string | null;
  readonly rounds: number;
  readonly failures: number;
  readonly lastFailure: { readonly round: number; readonly kind: string; readonly reason: string } | null;
  /** Its last result's training seconds and examples. */
  readonly seconds: number | null;
  readonly examples: number | null;
}

export interface DashboardState {
  readonly run: DashboardRun;
  readonly status: 'running' | 'complete' | 'stopped' | 'failed';
  readonly rounds: readonly RoundRecord[];
  readonly clients: readonly ClientRow[];
}

interface Tally {
  lastSeen: string | null;
  rounds: number;
  failures: number;
  lastFailure: ClientRow['lastFailure'];
  seconds: number | null;
  examples: number | null;
}

/** Milliseconds between the comments that keep an idle event stream open through proxies. */
const KEEPALIVE_MS = 15_000;
/** Open pages at once: the streams are not authenticated (loopback only), so they are counted. */
export const MAX_STREAMS = 16;
/** A page that reads nothing is cut off once this much waits for it (it reconnects and gets the whole state). */
const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * The dashboard's data: the run, its rounds as they end, and a table of its clients, served as
 * one JSON state (GET /dashboard/state) and as server-sent events (GET /dashboard/events:
 * `state` once, then `round` with each round's record and the clients table, and `end`). It
 * only reads what the round loop reports: a page that is open costs the run a JSON
 * serialisation per round.
 */
export class DashboardFeed {
  private readonly run: DashboardRun;
  private readonly ready: () => readonly string[];
  private readonly rounds: RoundRecord[];
  private readonly tallies = new Map<string, Tally>();
  private readonly streams = new Set<ServerResponse>();
  private status: DashboardState['status'] = 'running';

  /** `ready` names the clients connected and authenticated now; `history` holds the rounds a resumed run already has. */
  constructor(run: DashboardRun, ready: () => readonly string[], history: readonly RoundRecord[] = []) {
    this.run = run;
    this.ready = ready;
    this.rounds = [...history];
  }

  /** A round's results and failures, as the round loop collects them (before its record). */
  onClients(round: number, results: readonly ResultRecord[], failures: readonly FitFailure[]): void {
    const now = new Date().toISOString();
    for (const r of results) {
      const t = this.tally(r.client.name);
      t.lastSeen = now;
      t.rounds++;
      t.seconds = r.seconds ?? null;
      t.examples = r.numExamples;
    }
    for (const f of failures) {
      const t = this.tally(f.client.name);
      t.lastSeen = now;
      t.failures++;
      t.lastFailure = { round, kind: f.kind, reason: f.reason };
    }
  }

  /** A completed round: kept, and sent to every open page with the clients table. */
  onRound(record: RoundRecord): void {
    this.rounds.push(record);
    this.send('round', () => ({ record, clients: this.clients() }));
  }

  /** The run ended: every open page is told how, and its stream closed. */
  end(status: Exclude<DashboardState['status'], 'running'>): void {
    this.status = status;
    this.send('end', () => ({ status, clients: this.clients() }));
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  state(): DashboardState {
    return { run: this.run, status: this.status, rounds: this.rounds, clients: this.clients() };
  }

  /** Answers GET /dashboard/events: the state now, then each round as it ends; false (nothing written) when MAX_STREAMS pages are open. */
  subscribe(res: ServerResponse): boolean {
    if (this.status === 'running' && this.streams.size >= MAX_STREAMS) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    res.write(event('state', this.state()));
    if (this.status !== 'running') {
      res.end();
      return true;
    }
    this.streams.add(res);
    const keepalive = setInterval(() => this.write(res, ': keep-alive\n\n'), KEEPALIVE_MS).unref();
    res.on('close', () => {
      clearInterval(keepalive);
      this.streams.delete(res);
    });
    return true;
  }

  /** The clients table: every client a round has heard of and every one connected now, by name. */
  clients(): ClientRow[] {
    const ready = new Set(this.ready());
    for (const name of ready) this.tally(name);
    return [...this.tallies.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, t]) => ({ name, state: ready.has(name) ? 'ready' : 'away', ...t }));
  }

  private tally(name: string): Tally {
    let t = this.tallies.get(name);
    if (!t) {
      t = { lastSeen: null, rounds: 0, failures: 0, lastFailure: null, seconds: null, examples: null };
      this.tallies.set(name, t);
    }
    return t;
  }

  /** Sends an event to every open page; its data (the clients table, say) is made only when a page is open. */
  private send(name: string, data: () => unknown): void {
    if (this.streams.size === 0) return;
    const text = event(name, data());
    for (const res of this.streams) this.write(res, text);
  }

  /** Writes to one page, or cuts it off when it has stopped reading (what waits for it would only grow). */
  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_UNREAD_BYTES) {
      this.streams.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}

/** One server-sent event: its name and its JSON data on one line (JSON escapes every line break). */
function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
