/**
 * Loopback sites for the peer comparisons: names under a test suffix resolve to 127.0.0.1
 * inside this process (the Observatory ignores ports and always uses 80 and 443, so the
 * sites bind 127.0.0.1:80 and :443 — this needs root, as in CI here), and a test CA signs
 * one certificate for every name.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import dns from 'node:dns';
import { webcrypto } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** Makes every name ending in `suffix` resolve to 127.0.0.1 for everything in this process. */
export function resolveToLoopback(suffix: string): void {
  const original = dns.lookup.bind(dns) as (...args: unknown[]) => void;
  const patched = (hostname: string, options: unknown, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts = typeof options === 'object' && options !== null ? (options as dns.LookupOptions) : {};
    if (hostname === suffix.replace(/^\./, '') || hostname.endsWith(suffix)) {
      process.nextTick(() => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
      return;
    }
    original(hostname, options, callback);
  };
  (dns as unknown as { lookup: unknown }).lookup = patched;
}

export interface SiteCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A test root CA and one leaf for `names` (wildcards allowed), ECDSA P-256. */
export async function generateSiteCertificates(names: string[]): Promise<SiteCertificates> {
  const subtle = webcrypto.subtle;
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const sign = { name: 'ECDSA', hash: 'SHA-256' };
  const day = 86_400_000;
  const caKeys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=keyward comparison CA',
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 30 * day),
    keys: caKeys,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${names[0]}`,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 30 * day),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const der = Buffer.from(await subtle.exportKey('pkcs8', leafKeys.privateKey)).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return { caPem: ca.toString('pem') + '\n', certPem: leaf.toString('pem') + '\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n` };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LoopbackPorts {
  close(): Promise<void>;
}

async function listenOn(server: Server, port: number): Promise<Set<Socket>> {
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new Error(`cannot bind 127.0.0.1:${port} (${err.code}): the Observatory only talks to ports 80 and 443, so this needs root and free ports — is another comparison or benchmark running?`)
          : err,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/**
 * Binds 127.0.0.1:80 (plain) and 127.0.0.1:443 (TLS with `certs`). `refuseTls(servername)`
 * fails the handshake for names that must look like they have no HTTPS.
 */
export async function listenLoopback80And443(
  http: Handler,
  https: Handler,
  certs: SiteCertificates,
  refuseTls: (servername: string) => boolean,
): Promise<LoopbackPorts> {
  const tls: SecureContextOptions & { SNICallback: (name: string, cb: (err: Error | null, ctx?: undefined) => void) => void } = {
    cert: certs.certPem,
    key: certs.keyPem,
    SNICallback: (name, cb) => (refuseTls(name) ? cb(new Error(`no HTTPS for ${name}`)) : cb(null)),
  };
  const plain = createHttpServer(http);
  const secure = createHttpsServer(tls, https);
  secure.on('tlsClientError', () => undefined);
  const a = await listenOn(plain, 80);
  let b: Set<Socket>;
  try {
    b = await listenOn(secure, 443);
  } catch (err) {
    plain.close();
    throw err;
  }
  const closeOne = (s: Server, socks: Set<Socket>): Promise<void> =>
    new Promise((done) => {
      for (const sock of socks) sock.destroy();
      s.close(() => done());
    });
  return { close: async () => void (await Promise.all([closeOne(plain, a), closeOne(secure, b)])) };
}
