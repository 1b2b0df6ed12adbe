/**
 * Gathers everything the checks read (ScanFacts): the page (https first for a bare host,
 * falling back to http and saying so), the plain-http visit for the redirect check, the
 * CORS probe, then the TLS and exposure gatherers. Checks never fetch.
 */
import { isKeywardError, KeywardError } from '../errors.js';
import { certificateProblemOrigin, isCertificateProblem } from './fetch/errors.js';
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
  /**
   * Stop with KW_TLS when the page's certificate fails verification. Default false: the page
   * is fetched again without verification, every section runs, and the report grades F.
   */
  strictTls?: boolean;
}

/** Hosts of one redirect chain that may be fetched unverified after a certificate failure. */
const MAX_UNVERIFIED_ORIGINS = 3;

/** A foreign origin for the CORS probe: a reflected value proves the site trusts any origin. */
export const CORS_PROBE_ORIGIN = 'https://keyward-cors-probe.example';

export async function gatherFacts(ctx: GatherContext, target: ParsedTarget, options: GatherOptions = {}): Promise<ScanFacts> {
  const start = new URL(target.url);
  const httpVisitUrl = plainHttpUrl(start, options.httpPort);
  const httpVisit = httpVisitUrl && start.protocol === 'https:' ? visitHttp(ctx, httpVisitUrl) : undefined;

  let final: HttpExchange;
  let httpsError: string | undefined;
  let unverified: { error: string; origins: string[] } | undefined;
  try {
    final = await ctx.fetch(target.url);
  } catch (err) {
    if (!options.strictTls && isCertificateProblem(err)) {
      // Like SSL Labs (T) and the Observatory (hsts-invalid-cert): a bad certificate is graded, not
      // only reported. Only after the verified attempt failed, and only for the origins that failed.
      const again = await fetchUnverified(ctx, target.url, err);
      ({ final } = again);
      unverified = { error: (err as Error).message, origins: again.origins };
    } else {
      // A bare host that has no working HTTPS is still scanned over HTTP, and the report says so.
      if (!(target.bare && start.protocol === 'https:' && fallsBack(err))) throw err;
      httpsError = (err as Error).message;
      const fallback = new URL(start.href);
      fallback.protocol = 'http:';
      if (options.httpPort !== undefined) fallback.port = String(options.httpPort);
      final = await ctx.fetch(fallback.href);
    }
  }

  const page = looksLikeHtml(final) ? parsePage(final.body) : undefined;
  // Where the page itself was fetched over http (an http target, or the fallback), its chain is the visit.
  const fetchedOverHttp = start.protocol === 'http:' || httpsError !== undefined;
  const [http, corsProbe] = await Promise.all([
    httpVisit ?? Promise.resolve(fetchedOverHttp ? { chain: final.chain, finalUrl: final.url } : undefined),
    probeCors(ctx, final.url, unverified?.origins),
  ]);
  const facts: ScanFacts = {
    target: { input: target.input, url: target.url, host: target.host },
    final,
    https: final.url.startsWith('https:'),
    ...(http ? { http } : {}),
    ...(httpsError !== undefined ? { httpsError } : {}),
    ...(unverified ? { certificateError: unverified.error, unverifiedOrigins: unverified.origins } : {}),
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

/**
 * The page again without certificate verification, for each origin of its redirect chain whose
 * certificate is refused (at most MAX_UNVERIFIED_ORIGINS); any other failure is thrown as it is.
 */
async function fetchUnverified(ctx: GatherContext, url: string, first: unknown): Promise<{ final: HttpExchange; origins: string[] }> {
  const origins: string[] = [];
  let err = first;
  for (;;) {
    const origin = certificateProblemOrigin(err);
    if (origin === undefined || origins.includes(origin) || origins.length >= MAX_UNVERIFIED_ORIGINS) throw err;
    origins.push(origin);
    try {
      return { final: await ctx.fetch(url, { unverifiedOrigins: origins }), origins };
    } catch (again) {
      if (!isCertificateProblem(again)) throw again;
      err = again;
    }
  }
}

async function probeCors(ctx: GatherContext, url: string, unverifiedOrigins: string[] | undefined): Promise<ScanFacts['corsProbe']> {
  try {
    const ex = await ctx.fetch(url, { headers: { origin: CORS_PROBE_ORIGIN }, maxBytes: 64 * 1024, ...(unverifiedOrigins ? { unverifiedOrigins } : {}) });
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
