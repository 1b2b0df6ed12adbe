/**
 * Gathers everything the checks read (ScanFacts): the page (https first for a bare host,
 * falling back to http and saying so), the plain-http visit for the redirect check, the
 * CORS probe, then the TLS and exposure gatherers. Checks never fetch.
 */
import { isKeywardError, KeywardError } from '../errors.js';
import { isCertificateProblem } from './fetch/errors.js';
import { parsePage } from './html.js';
import type { ParsedTarget } from './target.js';
import type { GatherContext, HttpExchange, ScanFacts } from './types.js';

export interface GatherOptions {
  /**
   * Port of the plain-http visit. Default: the target's port when it is http, else 80 when
   * the target uses the default https port; an https target on another port has no
   * plain-http twin that can be guessed, so the visit is skipped unless this is given.
   */
  httpPort?: number;
}

/** A foreign origin for the CORS probe: a reflected value proves the site trusts any origin. */
export const CORS_PROBE_ORIGIN = 'https://keyward-cors-probe.example';

export async function gatherFacts(ctx: GatherContext, target: ParsedTarget, options: GatherOptions = {}): Promise<ScanFacts> {
  const start = new URL(target.url);
  const httpVisitUrl = plainHttpUrl(start, options.httpPort);
  const httpVisit = httpVisitUrl && start.protocol === 'https:' ? visitHttp(ctx, httpVisitUrl) : undefined;

  let final: HttpExchange;
  let httpsError: string | undefined;
  try {
    final = await ctx.fetch(target.url);
  } catch (err) {
    // A bare host that has no working HTTPS is still scanned over HTTP, and the report says so.
    if (!(target.bare && start.protocol === 'https:' && fallsBack(err))) throw err;
    httpsError = (err as Error).message;
    const fallback = new URL(start.href);
    fallback.protocol = 'http:';
    if (options.httpPort !== undefined) fallback.port = String(options.httpPort);
    final = await ctx.fetch(fallback.href);
  }

  const page = looksLikeHtml(final) ? parsePage(final.body) : undefined;
  // Where the page itself was fetched over http (an http target, or the fallback), its chain is the visit.
  const fetchedOverHttp = start.protocol === 'http:' || httpsError !== undefined;
  const [http, corsProbe] = await Promise.all([
    httpVisit ?? Promise.resolve(fetchedOverHttp ? { chain: final.chain, finalUrl: final.url } : undefined),
    probeCors(ctx, final.url),
  ]);
  const facts: ScanFacts = {
    target: { input: target.input, url: target.url, host: target.host },
    final,
    https: final.url.startsWith('https:'),
    ...(http ? { http } : {}),
    ...(httpsError !== undefined ? { httpsError } : {}),
    ...(page ? { page } : {}),
    ...(corsProbe ? { corsProbe } : {}),
  };
  // Section gatherers (TLS: helper E's src/scan/tls/gather.ts; exposure: helper F's
  // src/scan/exposure/gather.ts) are wired in scan-site.ts once their modules exist.
  return facts;
}

function plainHttpUrl(start: URL, httpPort: number | undefined): string | undefined {
  const url = new URL(start.href);
  if (start.protocol === 'http:') return undefined;
  if (httpPort === undefined && start.port !== '') return undefined;
  url.protocol = 'http:';
  url.port = httpPort === undefined ? '' : String(httpPort);
  url.pathname = '/';
  url.search = '';
  return url.href;
}

async function visitHttp(ctx: GatherContext, url: string): Promise<NonNullable<ScanFacts['http']>> {
  try {
    const ex = await ctx.fetch(url, { method: 'GET', maxBytes: 64 * 1024 });
    return { chain: ex.chain, finalUrl: ex.url };
  } catch (err) {
    return { chain: [], error: isKeywardError(err) ? err.message : String(err) };
  }
}

async function probeCors(ctx: GatherContext, url: string): Promise<ScanFacts['corsProbe']> {
  try {
    const ex = await ctx.fetch(url, { headers: { origin: CORS_PROBE_ORIGIN }, maxBytes: 64 * 1024 });
    return { origin: CORS_PROBE_ORIGIN, headers: ex.headers };
  } catch {
    return undefined; // The page itself answered; a failed probe only means no CORS evidence.
  }
}

function fallsBack(err: unknown): boolean {
  if (!(err instanceof KeywardError)) return false;
  if (err.code === 'KW_UNREACHABLE' || err.code === 'KW_TIMEOUT') return true;
  // A handshake that never happened (plain HTTP on the port) falls back; a bad certificate does not.
  return err.code === 'KW_TLS' && !isCertificateProblem(err);
}

function looksLikeHtml(ex: HttpExchange): boolean {
  const type = ex.headers['content-type']?.[0]?.toLowerCase() ?? '';
  if (type.includes('html')) return true;
  return type === '' && /^\s*<(!doctype|html|head|body)/i.test(ex.body);
}
