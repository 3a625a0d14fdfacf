import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { DashboardFeed } from './feed.ts';
import { DASHBOARD_PAGE } from './page.ts';

const require = createRequire(import.meta.url);

/** uPlot's script and style, from the installed package (no network at run time), read when first asked for. */
const ASSETS: Record<string, { readonly file: string; readonly type: string }> = {
  '/dashboard/uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};
const loaded = new Map<string, Buffer>();

/** The page may run only its own script and uPlot's, talk only to this origin, and be framed by no one. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * The dashboard's routes on the coordinator's HTTP server: GET /dashboard (the page),
 * /dashboard/state (JSON), /dashboard/events (server-sent events) and uPlot's two files.
 * True when `req` was one of them (answered), false otherwise.
 */
export function dashboardRoute(feed: DashboardFeed, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET') return false;
  const path = String(req.url).split('?')[0]!;
  if (path === '/dashboard' || path === '/dashboard/') {
    res.writeHead(200, PAGE_HEADERS);
    res.end(DASHBOARD_PAGE);
    return true;
  }
  if (path === '/dashboard/state') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(feed.state()));
    return true;
  }
  if (path === '/dashboard/events') {
    feed.subscribe(res);
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
  res.end(body);
  return true;
}
