/**
 * The site scan's contract (DESIGN.md "Checks are pure"): a scan first gathers facts
 * (one bounded fetch of the page, its scripts and maps, the probe paths, the TLS
 * handshakes), then every check is a pure function from those facts to findings.
 */
import type { Finding } from '../finding.js';
import type { TlsFacts } from './tls/facts.js';
import type { ExposureFacts } from './exposure/facts.js';
import type { LiveCandidate } from '../secrets/live.js';

export type SectionName = 'headers' | 'tls' | 'exposure';
export const SECTIONS: readonly SectionName[] = ['headers', 'tls', 'exposure'];

export type Grade = 'A+' | 'A' | 'A-' | 'B+' | 'B' | 'B-' | 'C+' | 'C' | 'C-' | 'D+' | 'D' | 'D-' | 'F';

/** Response headers with lower-cased names; every value as sent, in order (repeated headers kept). */
export type HeaderMap = Record<string, string[]>;

export interface RedirectHop {
  url: string;
  status: number;
  /** The Location header as sent, when the hop redirected. */
  location?: string;
}

export interface HttpExchange {
  /** URL requested last (after redirects). */
  url: string;
  status: number;
  headers: HeaderMap;
  /** Header lines exactly as received, for evidence. */
  rawHeaders: Array<[name: string, value: string]>;
  /** Decoded body, at most the body bound. */
  body: string;
  bodyTruncated: boolean;
  /** Every hop from the first request to this response. */
  chain: RedirectHop[];
}

/** What the page's HTML says, parsed once by a real HTML parser. */
export interface PageDoc {
  /** `<meta http-equiv=… content=…>` in document order (only those in <head> count for CSP). */
  metas: Array<{ httpEquiv: string; content: string; inHead: boolean }>;
  scripts: Array<{ src?: string; inline?: string; type?: string; integrity?: string; crossorigin?: string; nonce?: string }>;
  links: Array<{ rel: string; href: string; as?: string; integrity?: string; crossorigin?: string }>;
  /** `<meta name="referrer" content=…>` values in document order: they set the page's referrer policy. */
  referrers?: string[];
}

export interface ScanTarget {
  /** What the user typed. */
  input: string;
  /** The URL scanned first (https:// for a bare host). */
  url: string;
  host: string;
}

export interface ScanFacts {
  target: ScanTarget;
  /** The page that is graded: the one the HTTPS (or, lacking it, HTTP) fetch ended on. */
  final: HttpExchange;
  /** The plain-HTTP visit to `http://host/`, to see whether it redirects to HTTPS. */
  http?: { chain: RedirectHop[]; finalUrl?: string; error?: string };
  /** Whether the final page was served over HTTPS. */
  https: boolean;
  /** If the HTTPS attempt failed and the scan fell back to HTTP, why. */
  httpsError?: string;
  /**
   * Why the verified HTTPS fetch of the page was refused (expired, self-signed, wrong host, …).
   * Set only when the scan then fetched the page again without certificate verification.
   */
  certificateError?: string;
  /** The origins (`https://host:port`) fetched without certificate verification, for the section gatherers. */
  unverifiedOrigins?: string[];
  page?: PageDoc;
  /** The response to the same page requested with a foreign `Origin` header. */
  corsProbe?: { origin: string; headers: HeaderMap };
  tls?: TlsFacts;
  exposure?: ExposureFacts;
}

/** One test's outcome, as in the Observatory: a named result and its score modifier. */
export interface TestResult {
  /** Result id, e.g. `csp-implemented-with-unsafe-inline`. */
  result: string;
  pass: boolean;
  /** Points added to (or taken from) the section's base score. */
  scoreModifier: number;
  /** Free-form extra data (e.g. the parsed policy). */
  data?: Record<string, unknown>;
}

export interface CheckOutput {
  findings: Finding[];
  /** Per-test results keyed by test name (e.g. `content-security-policy`). */
  tests: Record<string, TestResult>;
}

export interface Check {
  name: string;
  section: SectionName;
  run(facts: ScanFacts): CheckOutput;
}

/** Options of one bounded request (defaults come from the scan's limits). */
export interface FetchOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
  headers?: Record<string, string>;
  body?: string;
  /** Follow redirects (default true), at most `maxRedirects` (default 10), recording the chain. */
  followRedirects?: boolean;
  maxRedirects?: number;
  /** Bytes of decoded body to keep (default 2 MiB); the rest is dropped and `bodyTruncated` set. */
  maxBytes?: number;
  /** Whole-request time bound in ms (default 5000). */
  timeoutMs?: number;
  /**
   * Origins (`https://host:port`, as URL.origin) whose certificate is not verified. Only for a
   * page whose verified fetch already failed on its certificate (ScanFacts.certificateError).
   */
  unverifiedOrigins?: readonly string[];
}

/**
 * The one fetch every gatherer uses: hard bounds on time, bytes, decompression, redirects
 * and idle time, honours `--resolve`/`--ca`, and (in server mode) the SSRF guard.
 * Throws a KeywardError (KW_TIMEOUT, KW_UNREACHABLE, KW_TLS, KW_TOO_MANY_REDIRECTS, …).
 */
export type BoundedFetch = (url: string, options?: FetchOptions) => Promise<HttpExchange>;

export interface ScanLimits {
  /** Per request, ms (default 5000). */
  requestTimeoutMs: number;
  /** Per site, ms (default 10000). */
  siteTimeoutMs: number;
  /** Decoded body bound per response (default 2 MiB). */
  maxBodyBytes: number;
  maxRedirects: number;
  /** Scripts and maps fetched per site (default 60) and their total bytes (default 15 MiB). */
  maxFiles: number;
  maxTotalBytes: number;
  /** Requests in flight at once per site. */
  concurrency: number;
}

/** What a gatherer (page, TLS, exposure) gets from the scan. */
/**
 * Given each key found, whole, in memory: only the command line's `--verify` sets one, to ask the
 * key's issuer whether it still accepts it. Nothing else of a scan ever holds a key whole.
 */
export type SecretSink = (s: LiveCandidate) => void;

export interface GatherContext {
  fetch: BoundedFetch;
  onSecret?: SecretSink;
  /**
   * The address to connect to for host:port, as the scan must resolve it: `--resolve`
   * overrides first, then DNS; in server mode the SSRF guard refuses private addresses.
   */
  lookup(host: string, port: number): Promise<{ address: string; family: 4 | 6 }>;
  /** Extra CA certificates (PEM) to trust, from `--ca` or NODE_EXTRA_CA_CERTS. */
  ca?: string[];
  /** Aborts when the site's time bound is spent. */
  signal: AbortSignal;
  limits: ScanLimits;
}
