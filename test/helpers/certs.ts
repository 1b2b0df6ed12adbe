/**
 * Certificates for HTTPS test servers, generated at run time (never committed): a test root CA,
 * an intermediate, and leaves for localhost/127.0.0.1 that are valid, expired, not yet valid,
 * self-signed, for the wrong host, RSA-1024, SHA-1-signed, or served without their intermediate.
 * Keys are generated once per process (RSA keygen is slow) and shared by every certificate.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { getDiffieHellman, webcrypto } from 'node:crypto';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureVersion } from 'node:tls';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const subtle = webcrypto.subtle;

const DAY = 24 * 60 * 60 * 1000;

/** What a server needs (key + chain, leaf first) and what a client must trust to accept it. */
export interface ServerCredentials {
  /** PEM: the leaf, then the intermediates the server sends. */
  cert: string;
  /** PEM PKCS#8 private key of the leaf. */
  key: string;
  /** PEM of the root the client must trust (the test root CA; for self-signed, the leaf itself). */
  ca: string;
  /** The leaf certificate alone, PEM. */
  leaf: string;
}

export interface TestCertificates {
  /** The test root CA (PEM): pass it as the client's `ca` to trust the valid leaves. */
  rootCa: string;
  intermediate: string;
  /** RSA-2048, SHA-256, localhost + 127.0.0.1 + ::1, signed by the intermediate, chain complete. */
  valid: ServerCredentials;
  /** As `valid`, but an ECDSA P-256 key. */
  validEcdsa: ServerCredentials;
  /** Valid but expiring in 10 days. */
  expiringSoon: ServerCredentials;
  /** Expired a day ago. */
  expired: ServerCredentials;
  /** Valid only from 10 days from now. */
  notYetValid: ServerCredentials;
  /** Self-signed leaf for localhost (no CA). */
  selfSigned: ServerCredentials;
  /** Signed by the test CA, but for wrong.example only. */
  wrongHost: ServerCredentials;
  /** RSA-1024 leaf (a server needs `ciphers: 'DEFAULT:@SECLEVEL=0'` to use it). */
  rsa1024: ServerCredentials;
  /** Leaf signed with ECDSA-with-SHA1 by the intermediate (needs `@SECLEVEL=0` on the server). */
  sha1: ServerCredentials;
  /** The valid leaf served without its intermediate. */
  missingIntermediate: ServerCredentials;
}

type KeyKind = 'ec256' | 'rsa2048' | 'rsa1024';
const keyCache = new Map<KeyKind, Promise<CryptoKeyPair>>();

function keyPair(kind: KeyKind): Promise<CryptoKeyPair> {
  let p = keyCache.get(kind);
  if (!p) {
    const alg =
      kind === 'ec256'
        ? { name: 'ECDSA', namedCurve: 'P-256' }
        : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: kind === 'rsa2048' ? 2048 : 1024 };
    p = subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
    keyCache.set(kind, p);
  }
  return p;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

const pem = (c: x509.X509Certificate): string => c.toString('pem') + '\n';

function signingAlgorithm(issuerKey: CryptoKey, hash: 'SHA-256' | 'SHA-1' = 'SHA-256'): Algorithm | EcdsaParams {
  return issuerKey.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash } : { name: 'RSASSA-PKCS1-v1_5' };
}

let serial = 0x1000;
const nextSerial = (): string => (serial++).toString(16).padStart(8, '0');

interface CaCert {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

async function makeRoot(): Promise<CaCert> {
  const keys = await keyPair('ec256');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: 'CN=keyward test root CA, O=keyward tests',
    notBefore: new Date(Date.now() - 2 * DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function makeIntermediate(root: CaCert): Promise<CaCert> {
  // The intermediate needs its own key so that a chain missing it cannot be verified.
  const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: 'CN=keyward test intermediate CA, O=keyward tests',
    issuer: root.cert.subject,
    notBefore: new Date(Date.now() - 2 * DAY),
    notAfter: new Date(Date.now() + 1825 * DAY),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: signingAlgorithm(root.keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey),
    ],
  });
  return { cert, keys };
}

interface LeafOptions {
  names?: string[];
  key?: KeyKind;
  notBefore?: Date;
  notAfter?: Date;
  hash?: 'SHA-256' | 'SHA-1';
}

const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];

function sanEntries(names: string[]): x509.JsonGeneralName[] {
  return names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
}

async function makeLeaf(issuer: CaCert | 'self', o: LeafOptions = {}): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const names = o.names ?? LOCAL_NAMES;
  const keys = await keyPair(o.key ?? 'rsa2048');
  const signer = issuer === 'self' ? keys : issuer.keys;
  const common = {
    serialNumber: nextSerial(),
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 90 * DAY),
    signingAlgorithm: signingAlgorithm(signer.privateKey, o.hash),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sanEntries(names)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(issuer === 'self'
        ? []
        : [
            await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
            // Public CAs name where their certificate can be fetched; keyward reads it to tell an
            // incomplete chain from an unknown issuer (it never fetches it: the port is discard).
            new x509.AuthorityInfoAccessExtension({ caIssuers: new x509.GeneralName('url', 'http://127.0.0.1:9/keyward-test-intermediate.crt') }),
          ]),
    ],
  };
  const subject = `CN=${names[0]}`;
  const cert =
    issuer === 'self'
      ? await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: subject, keys })
      : await x509.X509CertificateGenerator.create({
          ...common,
          subject,
          issuer: issuer.cert.subject,
          publicKey: keys.publicKey,
          signingKey: issuer.keys.privateKey,
        });
  return { cert, keys };
}

let cached: Promise<TestCertificates> | undefined;

/** Every test certificate, generated on first use and cached for the process. */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<TestCertificates> {
  const root = await makeRoot();
  const inter = await makeIntermediate(root);
  const rootPem = pem(root.cert);
  const interPem = pem(inter.cert);
  const creds = async (leaf: { cert: x509.X509Certificate; keys: CryptoKeyPair }, chain: string[], ca = rootPem): Promise<ServerCredentials> => ({
    cert: pem(leaf.cert) + chain.join(''),
    key: await keyPem(leaf.keys.privateKey),
    ca,
    leaf: pem(leaf.cert),
  });
  const now = Date.now();
  const valid = await makeLeaf(inter);
  const selfSigned = await makeLeaf('self');
  return {
    rootCa: rootPem,
    intermediate: interPem,
    valid: await creds(valid, [interPem]),
    validEcdsa: await creds(await makeLeaf(inter, { key: 'ec256' }), [interPem]),
    expiringSoon: await creds(await makeLeaf(inter, { notAfter: new Date(now + 10 * DAY) }), [interPem]),
    expired: await creds(await makeLeaf(inter, { notBefore: new Date(now - 100 * DAY), notAfter: new Date(now - DAY) }), [interPem]),
    notYetValid: await creds(await makeLeaf(inter, { notBefore: new Date(now + 10 * DAY), notAfter: new Date(now + 100 * DAY) }), [interPem]),
    selfSigned: await creds(selfSigned, [], pem(selfSigned.cert)),
    wrongHost: await creds(await makeLeaf(inter, { names: ['wrong.example'] }), [interPem]),
    rsa1024: await creds(await makeLeaf(inter, { key: 'rsa1024' }), [interPem]),
    sha1: await creds(await makeLeaf(inter, { hash: 'SHA-1' }), [interPem]),
    missingIntermediate: await creds(valid, []),
  };
}

export interface HttpsServerOptions {
  cert: string;
  key: string;
  /** Client CAs; rarely needed. */
  ca?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** OpenSSL cipher string for TLS ≤ 1.2, e.g. `'DEFAULT:@SECLEVEL=0'` for TLS 1.0/1.1 or RSA-1024. */
  ciphers?: string;
  /** Let the client's cipher order win (default: the server's). */
  honorCipherOrder?: boolean;
  /** ALPN protocols the server accepts (default: none, i.e. no ALPN negotiated). */
  alpnProtocols?: string[];
  /** DER OCSP response to staple when the client asks. */
  ocspResponse?: Buffer;
  /** DH parameters (PEM, see `dhParams`) to enable DHE suites. */
  dhparam?: string;
}

export interface TestHttpsServer {
  port: number;
  /** `https://127.0.0.1:PORT` */
  origin: string;
  /** `https://localhost:PORT` (the name the test certificates are for). */
  localhostOrigin: string;
  close(): Promise<void>;
}

const defaultHandler = (_req: IncomingMessage, res: ServerResponse): void => {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end('<!doctype html><title>ok</title><p>ok</p>');
};

/** Starts an HTTPS server on a free 127.0.0.1 port with the given certificate and TLS settings. */
export async function startHttpsServer(
  handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined,
  options: HttpsServerOptions,
): Promise<TestHttpsServer> {
  const tlsOptions: ServerOptions = {
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    minVersion: options.minVersion ?? 'TLSv1.2',
    maxVersion: options.maxVersion ?? 'TLSv1.3',
    honorCipherOrder: options.honorCipherOrder ?? true,
    ALPNProtocols: options.alpnProtocols,
    ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    ...(options.dhparam ? { dhparam: options.dhparam } : {}),
  };
  const server = createServer(tlsOptions, handler ?? defaultHandler);
  if (options.ocspResponse) {
    const response = options.ocspResponse;
    server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => cb(null, response));
  }
  // Failed handshakes are the point of many tests; keep them out of the test output.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sockets = new Set<Socket>();
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    localhostOrigin: `https://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** DER length octets. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: Buffer): Buffer {
  const body = value[0] !== undefined && value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/**
 * PEM DH parameters for a server's `dhparam`, from RFC 2409/3526's fixed MODP groups
 * (no slow prime generation): 1024 bits (group 2, weak) or 2048 bits (group 14).
 */
export function dhParams(bits: 1024 | 2048): string {
  const group = getDiffieHellman(bits === 1024 ? 'modp2' : 'modp14');
  const body = Buffer.concat([derInteger(group.getPrime()), derInteger(group.getGenerator())]);
  const der = Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN DH PARAMETERS-----\n${b64}\n-----END DH PARAMETERS-----\n`;
}
