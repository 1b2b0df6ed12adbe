/**
 * The TLS probe: one handshake per protocol version (TLS 1.0/1.1 at OpenSSL security level 0,
 * or they cannot be seen at all), the accepted cipher suites of each by elimination (offer a
 * group, remove what the server chose, repeat; groups in parallel), and one modern-client handshake that
 * verifies the chain, the host name, ALPN and OCSP stapling. Every connection goes to the
 * address `ctx.lookup` returned, with SNI set to the host name.
 */
import { isIP } from 'node:net';
import pLimit, { type LimitFunction } from 'p-limit';
import { checkServerIdentity, type SecureContext } from 'node:tls';
import type { GatherContext } from '../types.js';
import { describeCertificate, ocspResponseStatus } from './certificate.js';
import { TLS_VERSIONS, type CipherSuite, type ProtocolProbe, type TlsFacts, type TlsVersion, type TrustFacts } from './facts.js';
import { handshake, secureContextFor, type ContextConfig, type Endpoint, type HandshakeOk } from './handshake.js';
import { classifySuite } from './suites.js';

/** Everything this OpenSSL can offer for TLS ≤ 1.2, including what modern clients refuse. */
const ALL_LEGACY = 'ALL:@SECLEVEL=0';
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256'];
const AEAD = ['AESGCM', 'CHACHA20', 'AESCCM', 'ARIAGCM'];
/**
 * The TLS ≤ 1.2 suites split by key exchange and AEAD/CBC, enumerated in parallel: the
 * elimination inside each group is sequential, so small groups keep the probe to a few
 * round trips however many suites a server accepts. Together they cover ALL plus eNULL.
 */
const SUITE_GROUPS = [
  ...['kECDHE', 'kDHE', 'kRSA'].flatMap((kx) => [AEAD.map((a) => `${kx}+${a}`).join(':'), [kx, ...AEAD.map((a) => `!${a}`)].join(':')]),
  'ALL:!kECDHE:!kDHE:!kRSA',
  'eNULL',
];
/** Suites enumerated per group at most (a server rarely accepts more than 10 in one). */
const MAX_SUITES_PER_GROUP = 24;
/** Handshakes in flight at once against one server. */
const PARALLEL_HANDSHAKES = 8;

const ERROR_CODES_OF_INCOMPLETE_CHAIN = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT']);
const HOSTNAME_ERROR = 'ERR_TLS_CERT_ALTNAME_INVALID';

interface Probe {
  endpoint: Endpoint;
  timeoutMs: number;
  signal: AbortSignal;
  count: number;
  limit: LimitFunction;
}

/** One handshake at exactly `version` offering `ciphers`; the suite chosen, or why not. */
async function tryOffer(p: Probe, version: TlsVersion, ciphers: string): Promise<CipherSuite | string> {
  let context: SecureContext;
  try {
    context = secureContextFor({ minVersion: version, maxVersion: version, ciphers, verifyChain: false });
  } catch {
    return 'nothing left to offer'; // OpenSSL: no cipher match, the group is exhausted
  }
  return p.limit(async () => {
    p.count++;
    const r = await handshake(p.endpoint, {
      context,
      timeoutMs: p.timeoutMs,
      signal: p.signal,
    });
    if (!r.ok) return r.error;
    if (r.protocol !== version) return `negotiated ${r.protocol} instead`;
    return classifySuite(version, r.cipher.name, r.cipher.standardName, r.ephemeral);
  });
}

/** Offer the group, remove what the server chose, repeat until it refuses. */
async function eliminate(p: Probe, version: TlsVersion, group: string): Promise<{ suites: CipherSuite[]; complete: boolean }> {
  const suites: CipherSuite[] = [];
  for (let i = 0; i < MAX_SUITES_PER_GROUP; i++) {
    const offer = [group, ...suites.map((s) => `!${s.name}`), '@SECLEVEL=0'].join(':');
    const r = await tryOffer(p, version, offer);
    if (typeof r === 'string') return { suites, complete: !p.signal.aborted };
    if (suites.some((s) => s.name === r.name)) break; // the server ignores the offer; stop rather than loop
    suites.push(r);
  }
  return { suites, complete: false };
}

async function enumerate(p: Probe, version: TlsVersion): Promise<{ probe: ProtocolProbe; suites: CipherSuite[]; complete: boolean }> {
  const legacyProbe = version === 'TLSv1' || version === 'TLSv1.1';
  const first = await tryOffer(p, version, version === 'TLSv1.3' ? TLS13_SUITES.join(':') : ALL_LEGACY);
  if (typeof first === 'string') return { probe: { accepted: false, legacyProbe, error: first }, suites: [], complete: !p.signal.aborted };
  let found: Array<{ suites: CipherSuite[]; complete: boolean }>;
  if (version === 'TLSv1.3') {
    const each = await Promise.all(TLS13_SUITES.map((s) => tryOffer(p, version, s)));
    found = [{ suites: each.filter((r): r is CipherSuite => typeof r !== 'string'), complete: !p.signal.aborted }];
  } else {
    found = await Promise.all(SUITE_GROUPS.map((g) => eliminate(p, version, g)));
  }
  // The server's pick from the full offer first, then the rest in the order found.
  const suites = [first];
  for (const s of found.flatMap((f) => f.suites)) if (!suites.some((x) => x.name === s.name)) suites.push(s);
  return { probe: { accepted: true, legacyProbe }, suites, complete: found.every((f) => f.complete) };
}

function trustOf(primary: HandshakeOk, chain: TlsFacts['chain']): TrustFacts {
  const error = primary.authorizationError && primary.authorizationError !== HOSTNAME_ERROR ? primary.authorizationError : undefined;
  const last = chain[chain.length - 1];
  // Without fetching the issuer (keyward never fetches AIA), a chain that stops at a certificate
  // naming where its issuer lives is taken as incomplete; one that names nothing, as untrusted.
  const chainIncomplete = !!error && ERROR_CODES_OF_INCOMPLETE_CHAIN.has(error) && !!last && !last.selfSigned && last.caIssuers.length > 0;
  return { trusted: !error, ...(error ? { error } : {}), chainIncomplete };
}

/** What a failed handshake most likely means, for the report. */
const EXPLAIN: ReadonlyArray<[RegExp, string]> = [
  [/ECONNREFUSED/, 'connection refused (nothing listens on that port)'],
  [/ECONNRESET|socket hang up|closed during the handshake/, 'the server closed the connection during the handshake'],
  [/wrong version number|packet length too long|http request/i, 'the server does not speak TLS on that port (plain HTTP?)'],
  [/EHOSTUNREACH|ENETUNREACH/, 'the address is unreachable'],
];

function explain(reason: string): string {
  for (const [re, text] of EXPLAIN) if (re.test(reason)) return `${text} [${reason}]`;
  return reason;
}

function emptyProtocols(): Record<TlsVersion, ProtocolProbe> {
  return Object.fromEntries(TLS_VERSIONS.map((v) => [v, { accepted: false, legacyProbe: v === 'TLSv1' || v === 'TLSv1.1' }])) as Record<TlsVersion, ProtocolProbe>;
}

/** Probes the TLS of an https URL. Never throws for what the server does: failures land in `error`. */
export async function gatherTls(ctx: GatherContext, url: URL): Promise<TlsFacts> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : 443;
  const facts: TlsFacts = {
    host,
    port,
    protocols: emptyProtocols(),
    suites: [],
    suitesComplete: true,
    alpn: { h2: false },
    chain: [],
    ocspStapled: false,
    handshakes: 0,
    checkedAt: new Date().toISOString(),
  };
  if (url.protocol !== 'https:') {
    facts.error = `${url.href} is not an https URL: there is no TLS to probe`;
    return facts;
  }
  let address: string;
  try {
    address = (await ctx.lookup(host, port)).address;
  } catch (err) {
    facts.error = err instanceof Error ? err.message : String(err);
    return facts;
  }
  facts.address = address;
  const probe: Probe = {
    endpoint: { address, port, ...(isIP(host) ? {} : { servername: host }) },
    timeoutMs: Math.min(ctx.limits.requestTimeoutMs, 5000),
    signal: ctx.signal,
    count: 0,
    limit: pLimit(PARALLEL_HANDSHAKES),
  };
  const ca = ctx.ca && ctx.ca.length > 0 ? ctx.ca : undefined;

  const primaryOpts = { alpn: ['h2', 'http/1.1'], requestOCSP: true, capturePeer: true, timeoutMs: probe.timeoutMs, signal: probe.signal };
  const primaryAt = (config: Omit<ContextConfig, 'ca'>) => {
    probe.count++;
    return handshake(probe.endpoint, { ...primaryOpts, context: secureContextFor({ ...config, ...(ca ? { ca } : {}) }) });
  };

  const [modern, ...perVersion] = await Promise.all([primaryAt({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }), ...TLS_VERSIONS.map((v) => enumerate(probe, v))]);
  TLS_VERSIONS.forEach((v, i) => {
    facts.protocols[v] = perVersion[i]!.probe;
    facts.suites.push(...perVersion[i]!.suites);
    if (!perVersion[i]!.complete) facts.suitesComplete = false;
  });
  // A server that a modern client cannot talk to (nothing newer than TLS 1.1, or no suite in
  // common) is read by a level-0 client instead; asked only when a version probe got through,
  // so a dead server costs one timeout, not two.
  let primary = modern;
  if (!modern.ok && TLS_VERSIONS.some((v) => facts.protocols[v].accepted)) {
    primary = await primaryAt({ minVersion: 'TLSv1', maxVersion: 'TLSv1.3', ciphers: ALL_LEGACY });
  }
  facts.handshakes = probe.count;

  if (!primary.ok) {
    facts.error = `no TLS handshake succeeded with ${host}:${port}: ${explain(modern.ok ? primary.error : modern.error)}`;
    return facts;
  }
  if (modern.ok) {
    const protocol = modern.protocol as TlsVersion;
    facts.negotiated = { protocol, cipher: classifySuite(protocol, modern.cipher.name, modern.cipher.standardName, modern.ephemeral) };
  }
  facts.alpn = { h2: primary.alpn === 'h2', ...(primary.alpn ? { selected: primary.alpn } : {}) };
  facts.ocspStapled = !!primary.ocsp;
  if (primary.ocsp) facts.ocspStatus = ocspResponseStatus(primary.ocsp) ?? 'unreadable';
  facts.chain = (primary.chain ?? []).flatMap((der) => {
    try {
      return [describeCertificate(der)];
    } catch {
      return [];
    }
  });
  facts.trust = trustOf(primary, facts.chain);
  if (primary.peer) {
    const idError = checkServerIdentity(host, primary.peer);
    facts.hostname = idError ? { matches: false, error: idError.message } : { matches: true };
  }
  return facts;
}
