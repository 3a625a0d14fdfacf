import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { type DashboardFeed, MAX_STREAMS } from './feed.ts';
import { DASHBOARD_PAGE, DASHBOARD_SCRIPT } from './page.ts';

const require = createRequire(import.meta.url);

/** uPlot's script and style, from the installed package (no network at run time), read when first asked for. */
const ASSETS: Record<string, { readonly file: string; readonly type: string }> = {
  '/dashboard/uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};
const loaded = new Map<string, Buffer>();

/** The page may run only its own script (by its hash) and uPlot's, style itself, talk only to this origin, and be framed by no one. */
const SCRIPT_HASH = createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64');
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    `default-src 'none'; script-src 'self' 'sha256-${SCRIPT_HASH}'; style-src 'self' 'unsafe-inline'; ` +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * Whether a request was addressed to this machine by a loopback name (Host: 127.x.x.x,
 * localhost or [::1], any port): a page elsewhere that rebinds its own name to 127.0.0.1
 * cannot read the dashboard through the operator's browser.
 */
export function loopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function json(res: ServerResponse, code: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...extra });
  res.end(JSON.stringify(body));
}

/**
 * The dashboard's routes on the coordinator's HTTP server: GET (or HEAD) /dashboard (the page),
 * /dashboard/state (JSON), /dashboard/events (server-sent events) and uPlot's two files. True
 * when `req` was one of them (answered), false otherwise. `release` takes an event stream's
 * socket out of the unauthenticated-connection deadline (a page stays open for the whole run;
 * MAX_STREAMS bounds them instead).
 */
export function dashboardRoute(feed: DashboardFeed, req: IncomingMessage, res: ServerResponse, release: (socket: Socket) => void): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const head = req.method === 'HEAD';
  if (!loopbackHostHeader(req.headers.host)) {
    json(res, 403, { error: 'the dashboard answers only requests addressed to a loopback name (Host: 127.0.0.1, localhost or [::1])' });
    return true;
  }
  const path = String(req.url).split('?')[0]!;
  if (path === '/dashboard' || path === '/dashboard/') {
    res.writeHead(200, PAGE_HEADERS);
    res.end(head ? undefined : DASHBOARD_PAGE);
    return true;
  }
  if (path === '/dashboard/state') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(head ? undefined : JSON.stringify(feed.state()));
    return true;
  }
  if (path === '/dashboard/events' && !head) {
    if (feed.subscribe(res)) release(req.socket);
    else json(res, 503, { error: `${MAX_STREAMS} dashboard pages are open already` }, { 'retry-after': '10' });
    return true;
  }
  const asset = ASSETS[path];
  if (!asset) return false;
  let body = loaded.get(path);
  if (!body) {
    body = readFileSync(require.resolve(asset.file));
    loaded.set(path, body);
  }
  res.writeHead(200, { 'content-type': asset.type, 'x-content-type-options': 'nosniff', 'cache-control': 'max-age=3600' });
  res.end(head ? undefined : body);
  return true;
}
