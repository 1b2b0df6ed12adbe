/**
 * The TLS probe: one handshake per protocol version (TLS 1.0/1.1 at OpenSSL security level 0,
 * or they cannot be seen at all), the accepted cipher suites of each by elimination (offer
 * everything, remove what the server chose, repeat), and one modern-client handshake that
 * verifies the chain, the host name, ALPN and OCSP stapling. Every connection goes to the
 * address `ctx.lookup` returned, with SNI set to the host name.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, rootCertificates } from 'node:tls';
import type { GatherContext } from '../types.js';
import { describeCertificate } from './certificate.js';
import { TLS_VERSIONS, type CipherSuite, type ProtocolProbe, type TlsFacts, type TlsVersion, type TrustFacts } from './facts.js';
import { handshake, secureContextFor, type Endpoint, type HandshakeOk } from './handshake.js';
import { classifySuite } from './suites.js';

/** Everything this OpenSSL can offer for TLS ≤ 1.2, including what modern clients refuse. */
const ALL_LEGACY = 'ALL:@SECLEVEL=0';
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256'];
/** Suites enumerated per protocol at most (a server rarely accepts more than 30). */
const MAX_SUITES_PER_PROTOCOL = 40;

const ERROR_CODES_OF_INCOMPLETE_CHAIN = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT']);
const HOSTNAME_ERROR = 'ERR_TLS_CERT_ALTNAME_INVALID';

interface Probe {
  endpoint: Endpoint;
  timeoutMs: number;
  signal: AbortSignal;
  count: number;
}

async function enumerate(p: Probe, version: TlsVersion): Promise<{ probe: ProtocolProbe; suites: CipherSuite[]; complete: boolean }> {
  const legacyProbe = version === 'TLSv1' || version === 'TLSv1.1';
  const suites: CipherSuite[] = [];
  let firstError: string | undefined;
  let remaining13 = [...TLS13_SUITES];
  let offer = ALL_LEGACY;
  for (let i = 0; i < MAX_SUITES_PER_PROTOCOL; i++) {
    const ciphers = version === 'TLSv1.3' ? remaining13.join(':') : offer;
    if (!ciphers) return { probe: { accepted: suites.length > 0, legacyProbe }, suites, complete: true };
    p.count++;
    const r = await handshake(p.endpoint, {
      context: secureContextFor({ minVersion: version, maxVersion: version, ciphers }),
      timeoutMs: p.timeoutMs,
      signal: p.signal,
    });
    if (!r.ok || r.protocol !== version) {
      if (suites.length === 0) firstError = r.ok ? `negotiated ${r.protocol} instead` : r.error;
      const complete = !p.signal.aborted;
      return { probe: { accepted: suites.length > 0, legacyProbe, ...(firstError ? { error: firstError } : {}) }, suites, complete };
    }
    if (suites.some((s) => s.name === r.cipher.name)) break; // the server ignored our offer; stop rather than loop
    suites.push(classifySuite(version, r.cipher.name, r.cipher.standardName, r.ephemeral));
    if (version === 'TLSv1.3') remaining13 = remaining13.filter((s) => s !== r.cipher.standardName && s !== r.cipher.name);
    else offer += `:!${r.cipher.name}`;
  }
  return { probe: { accepted: true, legacyProbe }, suites, complete: false };
}

function trustOf(primary: HandshakeOk, chain: TlsFacts['chain']): TrustFacts {
  const error = primary.authorizationError && primary.authorizationError !== HOSTNAME_ERROR ? primary.authorizationError : undefined;
  const last = chain[chain.length - 1];
  // Without fetching the issuer (keyward never fetches AIA), a chain that stops at a certificate
  // naming where its issuer lives is taken as incomplete; one that names nothing, as untrusted.
  const chainIncomplete = !!error && ERROR_CODES_OF_INCOMPLETE_CHAIN.has(error) && !!last && !last.selfSigned && last.caIssuers.length > 0;
  return { trusted: !error, ...(error ? { error } : {}), chainIncomplete };
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
  };
  const ca = ctx.ca && ctx.ca.length > 0 ? [...rootCertificates, ...ctx.ca] : undefined;

  const primaryModern = async (): Promise<HandshakeOk | string> => {
    const opts = { alpn: ['h2', 'http/1.1'], requestOCSP: true, capturePeer: true, timeoutMs: probe.timeoutMs, signal: probe.signal };
    probe.count++;
    const modern = await handshake(probe.endpoint, { ...opts, context: secureContextFor({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ...(ca ? { ca } : {}) }) });
    if (modern.ok) return modern;
    probe.count++;
    const legacy = await handshake(probe.endpoint, {
      ...opts,
      context: secureContextFor({ minVersion: 'TLSv1', maxVersion: 'TLSv1.3', ciphers: ALL_LEGACY, ...(ca ? { ca } : {}) }),
    });
    return legacy.ok ? legacy : modern.error;
  };

  const [primary, ...perVersion] = await Promise.all([primaryModern(), ...TLS_VERSIONS.map((v) => enumerate(probe, v))]);
  TLS_VERSIONS.forEach((v, i) => {
    facts.protocols[v] = perVersion[i].probe;
    facts.suites.push(...perVersion[i].suites);
    if (!perVersion[i].complete) facts.suitesComplete = false;
  });
  facts.handshakes = probe.count;

  if (typeof primary === 'string') {
    facts.error = `no TLS handshake succeeded with ${host}:${port}: ${primary}`;
    return facts;
  }
  const protocol = primary.protocol as TlsVersion;
  if (protocol === 'TLSv1.2' || protocol === 'TLSv1.3') {
    facts.negotiated = { protocol, cipher: classifySuite(protocol, primary.cipher.name, primary.cipher.standardName, primary.ephemeral) };
  }
  facts.alpn = { h2: primary.alpn === 'h2', ...(primary.alpn ? { selected: primary.alpn } : {}) };
  facts.ocspStapled = !!primary.ocsp;
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
