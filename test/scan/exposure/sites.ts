/**
 * Fixture sites for the exposure tests and the full-scan bench, served on 127.0.0.1. Every key
 * is built at run time from parts (the repository must scan clean); nothing here ever talks to
 * a provider: the AI hosts appear as strings in scripts only.
 */
import { randomChars } from '../../helpers/fake-keys.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startHttpServer, type TestServer } from '../../helpers/http-server.js';

/** Random key characters (base64url), drawn by the shared maker, which skips placeholder words. */
const chars = (n: number) => randomChars(n, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/** An OpenAI project key in the current format (with the base64 "OpenAI" marker mid-key). */
export function openaiKey(): string {
  return 'sk-' + 'proj-' + chars(58) + 'T3Blbk' + 'FJ' + chars(58);
}

export function anthropicKey(): string {
  return 'sk-' + 'ant-' + 'api03-' + chars(93) + 'AA';
}

/** The redacted form keyward shows: short prefix, an ellipsis and the last 4 characters. */
export const last4 = (key: string) => key.slice(-4);

export interface Route {
  status?: number;
  type?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Milliseconds before answering (the bench's slow probe paths). */
  delayMs?: number;
  /** Never answer (until the server closes). */
  hang?: boolean;
}

export type Routes = Record<string, Route | ((req: IncomingMessage) => Route)>;

export interface SiteOptions {
  /** Answer every unknown path with this route (a single-page app's index), else 404. */
  fallback?: Route | ((req: IncomingMessage) => Route);
  /** Delay for every path not in `routes` (slow probe paths). */
  unknownDelayMs?: number;
  /** Body of the 404 page. */
  notFound?: Route | ((req: IncomingMessage) => Route);
}

/** A site from a table of paths; every request is counted so tests can prove nothing extra was fetched. */
export async function startSite(routes: Routes, options: SiteOptions = {}): Promise<TestServer & { requests: string[] }> {
  const requests: string[] = [];
  const server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const path = (req.url ?? '/').split('?')[0]!;
    const hit = routes[path];
    const pick = (r: Route | ((req: IncomingMessage) => Route)) => (typeof r === 'function' ? r(req) : r);
    const route: Route = hit ? pick(hit) : options.fallback ? pick(options.fallback) : options.notFound ? { status: 404, ...pick(options.notFound) } : { status: 404, type: 'text/plain', body: 'Not Found' };
    const send = () => {
      res.writeHead(route.status ?? 200, { 'content-type': route.type ?? 'text/html; charset=utf-8', ...route.headers });
      res.end(route.body);
    };
    if (route.hang) return;
    const delay = route.delayMs ?? (hit ? 0 : (options.unknownDelayMs ?? 0));
    // Drain the request body first: a malformed POST must get its answer, not a reset.
    req.resume();
    req.on('end', () => (delay > 0 ? setTimeout(send, delay) : send()));
  });
  return Object.assign(server, { requests });
}

export const html = (body: string, head = '') => `<!doctype html><html><head><meta charset="utf-8"><title>fixture</title>${head}</head><body>${body}</body></html>`;
export const js = (body: string): Route => ({ type: 'text/javascript; charset=utf-8', body });
