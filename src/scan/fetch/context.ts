/**
 * Builds what every gatherer gets (GatherContext): the bounded fetch, the lookup that
 * honours --resolve and the SSRF guard, the extra CAs and the site's time bound.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { KeywardError } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { GatherContext, ScanLimits } from '../types.js';
import { parseAllowEntry } from './address.js';
import { createBoundedFetch, DEFAULT_LIMITS } from './bounded-fetch.js';
import { createLookup, parseResolveRule, type DnsResolver, type ResolveRule } from './resolve.js';

export interface FetchContextOptions {
  /**
   * Connect to loopback, private, link-local, CGNAT and metadata addresses. Default false:
   * a library caller or server scanning URLs that others submit must not reach inside.
   * The CLI sets it (developers scan their own dev servers).
   */
  allowPrivate?: boolean;
  /** Exceptions to the guard: addresses, CIDR blocks or `address:port`. */
  allow?: string[];
  /** curl-style overrides, `host:port:address` (`*` for any host). */
  resolve?: Array<string | ResolveRule>;
  /** Extra CA certificates (PEM text) to trust besides Node's roots. NODE_EXTRA_CA_CERTS is added too. */
  ca?: string | string[];
  /** Time bound for the whole site, ms (default 10 s). */
  timeoutMs?: number;
  /** Time bound for one request, ms (default 5 s). */
  requestTimeoutMs?: number;
  limits?: Partial<ScanLimits>;
  /** Longest silence while reading, ms. */
  idleTimeoutMs?: number;
  maxDecompressionRatio?: number;
  /** DNS resolver (default: the system's). Tests pass their own. */
  resolver?: DnsResolver;
  /** Aborts the scan from outside. */
  signal?: AbortSignal;
}

export interface FetchContext extends GatherContext {
  /** Ends kept-alive connections and the site timer. */
  close(): void;
}

export function createFetchContext(options: FetchContextOptions = {}): FetchContext {
  const limits: ScanLimits = {
    ...DEFAULT_LIMITS,
    ...(options.timeoutMs !== undefined ? { siteTimeoutMs: options.timeoutMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...options.limits,
  };
  limits.requestTimeoutMs = Math.min(limits.requestTimeoutMs, limits.siteTimeoutMs);
  const allow = (options.allow ?? []).map((text) => {
    const entry = parseAllowEntry(text);
    if (!entry) throw new KeywardError('KW_BAD_CONFIG', `allow entry '${text}' is not an address, a CIDR block or address:port`, { hint: 'e.g. 10.0.0.5, 10.0.0.0/8 or 127.0.0.1:8080' });
    return entry;
  });
  const resolve = (options.resolve ?? []).map((r) => (typeof r === 'string' ? parseResolveRule(r) : r));
  const allowPrivate = options.allowPrivate ?? false;
  const lookup = createLookup({ resolve, allowPrivate, allow, resolver: options.resolver });

  const ca = [...toList(options.ca), ...extraCaFromEnv()];
  for (const pem of ca) {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new KeywardError('KW_BAD_CONFIG', 'an extra CA is not a PEM certificate', { hint: 'pass a file with -----BEGIN CERTIFICATE----- blocks to --ca' });
    }
  }
  let secureContext;
  try {
    secureContext = ca.length > 0 ? createSecureContext({ ca: [...rootCertificates, ...ca] }) : undefined;
  } catch (err) {
    throw new KeywardError('KW_BAD_CONFIG', `cannot load the extra CA certificates: ${(err as Error).message}`, { hint: 'check that the --ca file holds valid PEM certificates', cause: err });
  }

  const site = new AbortController();
  const timer = setTimeout(() => site.abort(), limits.siteTimeoutMs);
  timer.unref();
  const signal = options.signal ? AbortSignal.any([site.signal, options.signal]) : site.signal;
  const client = createBoundedFetch({
    lookup,
    allowPrivate,
    allow,
    secureContext,
    limits,
    signal,
    idleTimeoutMs: options.idleTimeoutMs,
    maxDecompressionRatio: options.maxDecompressionRatio,
    userAgent: `keyward/${VERSION} (security scanner; +https://github.com/keyward/keyward)`,
  });
  return {
    fetch: client.fetch,
    lookup,
    ...(ca.length > 0 ? { ca } : {}),
    signal,
    limits,
    close() {
      clearTimeout(timer);
      client.close();
    },
  };
}

function toList(ca: string | string[] | undefined): string[] {
  if (ca === undefined) return [];
  return Array.isArray(ca) ? ca : [ca];
}

/** Node reads NODE_EXTRA_CA_CERTS into its default store, but a custom `ca` list replaces that store: add it back. */
function extraCaFromEnv(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return []; // Node has already warned about an unreadable NODE_EXTRA_CA_CERTS at start-up.
  }
}
