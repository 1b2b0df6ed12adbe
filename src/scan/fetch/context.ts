/**
 * Builds what every gatherer gets (GatherContext): the bounded fetch, the lookup that
 * honours --resolve and the SSRF guard, the extra CAs and the site's time bound.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { KeywardError } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { GatherContext, ScanLimits } from '../types.js';
import { parseAllowEntry } from './address.js';
import { createBoundedFetch, DEFAULT_LIMITS } from './bounded-fetch.js';
import { createLookupAll, parseResolveRule, type DnsResolver, type ResolveRule } from './resolve.js';

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
  const lookupAll = createLookupAll({ resolve, allowPrivate, allow, resolver: options.resolver });
  const lookup = async (host: string, port: number) => (await lookupAll(host, port))[0];

  const given = toList(options.ca);
  for (const pem of given) {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new KeywardError('KW_BAD_CONFIG', 'an extra CA is not a PEM certificate', { hint: 'pass a file with -----BEGIN CERTIFICATE----- blocks to --ca' });
    }
  }
  // Without --ca, Node's default store already holds NODE_EXTRA_CA_CERTS; with it, the custom
  // store must add them back (a `ca` list replaces the default store).
  const ca = given.length > 0 ? [...given, ...extraCaFromEnv()] : [];
  // One context for every connection of the process (Node would build one per connection).
  const secureContext = secureContextFor(given);

  const site = new AbortController();
  const timer = setTimeout(() => site.abort(), limits.siteTimeoutMs);
  timer.unref();
  const signal = options.signal ? AbortSignal.any([site.signal, options.signal]) : site.signal;
  // Every request in flight listens for the site's abort; a scan has dozens at once.
  setMaxListeners(Math.max(64, limits.concurrency * 4), signal);
  const client = createBoundedFetch({
    lookup: lookupAll,
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

/**
 * A store of Node's roots (NODE_EXTRA_CA_CERTS included) plus the given CAs, once per CA set.
 * Adding to the default context reuses the roots Node has parsed already; passing them all as
 * `ca` text would parse ~150 PEM roots again (over 100 ms, on every cold `keyward scan --ca`).
 */
const contexts = new Map<string, SecureContext>();

/** `ca`: the CAs from --ca only; the default context already holds NODE_EXTRA_CA_CERTS. */
function secureContextFor(ca: string[]): SecureContext {
  const key = createHash('sha256').update(ca.join('\n')).digest('hex');
  let context = contexts.get(key);
  if (!context) {
    try {
      context = createSecureContext();
      const native = (context as { context?: { addCACert?: (pem: string) => void } }).context;
      if (typeof native?.addCACert === 'function') for (const pem of ca) native.addCACert(pem);
      else context = createSecureContext({ ca: [...rootCertificates, ...ca, ...extraCaFromEnv()] });
    } catch (err) {
      throw new KeywardError('KW_BAD_CONFIG', `cannot load the extra CA certificates: ${(err as Error).message}`, { hint: 'check that the --ca file holds valid PEM certificates', cause: err });
    }
    contexts.set(key, context);
  }
  return context;
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
