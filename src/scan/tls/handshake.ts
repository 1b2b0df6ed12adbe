/**
 * One TLS handshake to the checked address, bounded by a timeout and the scan's signal.
 * Secure contexts are cached per configuration, and extra CAs are added to Node's default store
 * instead of being passed as `ca`: a `ca` list replaces that store, so it would have to carry
 * the ~150 roots again as PEM text, parsed anew for every context (~70 ms a scan; PEERS.md).
 */
import { createHash } from 'node:crypto';
import { connect, createSecureContext, rootCertificates, type SecureContext, type SecureVersion, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';

export interface ContextConfig {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** OpenSSL cipher string (TLS ≤ 1.2 names and TLS 1.3 `TLS_*` names). */
  ciphers?: string;
  /** Extra trust anchors (PEM), added to Node's default roots (which hold NODE_EXTRA_CA_CERTS). */
  ca?: string[];
  /**
   * false: an empty trust store, for probes that read only the protocol and suite. The chain then
   * fails verification at once, so Node skips turning it into objects and checking the host name
   * on each of the dozens of probe handshakes (a quarter of their CPU time on loopback).
   */
  verifyChain?: boolean;
}

const MAX_CACHED_CONTEXTS = 512;
const contexts = new Map<string, SecureContext>();

export function secureContextFor(config: ContextConfig): SecureContext {
  const caKey = config.ca ? createHash('sha256').update(config.ca.join('\n')).digest('hex') : '';
  const verify = config.verifyChain !== false;
  const key = `${config.minVersion}|${config.maxVersion}|${config.ciphers ?? ''}|${verify ? caKey : 'no-anchors'}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    if (contexts.size >= MAX_CACHED_CONTEXTS) contexts.clear();
    const options = { minVersion: config.minVersion, maxVersion: config.maxVersion, ...(config.ciphers ? { ciphers: config.ciphers } : {}) };
    // `ca: []` replaces the default store with an empty one.
    ctx = createSecureContext(verify ? options : { ...options, ca: [] });
    if (verify && config.ca && config.ca.length > 0) {
      // addCACert gives this context its own copy of the parsed root store first: other default contexts stay as they were.
      const native = (ctx as { context?: { addCACert?: (pem: string) => void } }).context;
      if (typeof native?.addCACert === 'function') for (const pem of config.ca) native.addCACert(pem);
      else ctx = createSecureContext({ ...options, ca: [...rootCertificates, ...config.ca] });
    }
    contexts.set(key, ctx);
  }
  return ctx;
}

export interface Endpoint {
  address: string;
  port: number;
  /** SNI; absent for IP-address targets. */
  servername?: string;
}

export interface HandshakeOk {
  ok: true;
  protocol: string;
  cipher: { name: string; standardName: string };
  ephemeral?: { type: string; name?: string; size: number };
  alpn?: string;
  authorized: boolean;
  authorizationError?: string;
  /** DER certificates, leaf first, when asked for. */
  chain?: Buffer[];
  /** The peer certificate object, for `checkServerIdentity`. */
  peer?: PeerCertificate;
  ocsp?: Buffer;
}

export interface HandshakeFailed {
  ok: false;
  error: string;
}

export type HandshakeResult = HandshakeOk | HandshakeFailed;

export interface HandshakeOptions {
  context: SecureContext;
  alpn?: string[];
  requestOCSP?: boolean;
  capturePeer?: boolean;
  timeoutMs: number;
  signal: AbortSignal;
}

/** Shortens OpenSSL's error to its reason, e.g. `unsupported protocol`, `no shared cipher`. */
function reason(err: Error & { code?: string; reason?: string }): string {
  if (err.reason) return err.reason;
  const m = /:([^:]+):[^:]*$/.exec(err.message) ?? /routines:[^:]*:([^:]+)/.exec(err.message);
  return (m?.[1] ?? err.code ?? err.message).trim();
}

function chainOf(peer: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let cur: DetailedPeerCertificate | undefined = peer;
  while (cur?.raw && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    out.push(cur.raw);
    cur = cur.issuerCertificate;
  }
  return out;
}

export function handshake(endpoint: Endpoint, o: HandshakeOptions): Promise<HandshakeResult> {
  if (o.signal.aborted) return Promise.resolve({ ok: false, error: 'aborted: the scan ran out of time' });
  return new Promise((resolve) => {
    let ocsp: Buffer | undefined;
    let done = false;
    const socket = connect({
      host: endpoint.address,
      port: endpoint.port,
      ...(endpoint.servername ? { servername: endpoint.servername } : {}),
      secureContext: o.context,
      rejectUnauthorized: false,
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
      ...(o.requestOCSP ? { requestOCSP: true } : {}),
    });
    const finish = (r: HandshakeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, error: 'aborted: the scan ran out of time' });
    const timer = setTimeout(() => finish({ ok: false, error: `no handshake within ${o.timeoutMs} ms` }), o.timeoutMs);
    o.signal.addEventListener('abort', onAbort, { once: true });
    socket.on('OCSPResponse', (r: Buffer) => {
      ocsp = r;
    });
    socket.once('secureConnect', () => {
      const cipher = socket.getCipher();
      const eph = socket.getEphemeralKeyInfo() as { type?: string; name?: string; size?: number } | null;
      let chain: Buffer[] | undefined;
      let peer: PeerCertificate | undefined;
      if (o.capturePeer) {
        // getPeerCertificate(true) must come first: the other order returns {} on Node 20.
        const detailed = socket.getPeerCertificate(true);
        peer = detailed;
        chain = chainOf(detailed);
      }
      const authErr = socket.authorizationError as unknown;
      finish({
        ok: true,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: { name: cipher.name, standardName: cipher.standardName },
        ...(eph?.type ? { ephemeral: { type: eph.type, ...(eph.name ? { name: eph.name } : {}), size: eph.size ?? 0 } } : {}),
        ...(typeof socket.alpnProtocol === 'string' ? { alpn: socket.alpnProtocol } : {}),
        authorized: socket.authorized,
        ...(authErr ? { authorizationError: String(authErr instanceof Error ? ((authErr as Error & { code?: string }).code ?? authErr.message) : authErr) } : {}),
        ...(chain ? { chain } : {}),
        ...(peer ? { peer } : {}),
        ...(ocsp && ocsp.length > 0 ? { ocsp } : {}),
      });
    });
    // `on`, not `once`: a socket can report a second error after the first, and it must not go unhandled.
    socket.on('error', (err) => finish({ ok: false, error: reason(err) }));
    socket.once('close', () => finish({ ok: false, error: 'connection closed during the handshake' }));
  });
}
