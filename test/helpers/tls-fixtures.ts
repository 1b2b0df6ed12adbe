/**
 * The HTTPS fixture servers of the TLS section, shared by scripts/compare-tls.ts and
 * bench/scan: one per protocol, suite and certificate case the TLS checks tell apart.
 * TLS 1.0/1.1 and RSA-1024/SHA-1 need the server at OpenSSL security level 0; RC4, 3DES and
 * SSLv3 cannot be served by this OpenSSL at all (PEERS.md).
 */
import { MOZILLA_INTERMEDIATE_CIPHERS } from '../../src/scan/checks/tls-support.js';
import { dhParams, type HttpsServerOptions, type TestCertificates } from './certs.js';

export interface TlsFixture {
  name: string;
  what: string;
  server(certs: TestCertificates): HttpsServerOptions;
  /** Trust the test root CA when probing (default true). */
  trustTestCa?: boolean;
  /** SSL Labs' letter keyward should give (HSTS not considered). */
  expect: string;
}

const LEVEL0 = 'DEFAULT:@SECLEVEL=0';

export const TLS_FIXTURES: TlsFixture[] = [
  { name: 'modern', what: 'TLS 1.2+1.3, Mozilla intermediate suites, h2', expect: 'A', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, ciphers: MOZILLA_INTERMEDIATE_CIPHERS, alpnProtocols: ['h2', 'http/1.1'] }) },
  { name: 'node-default', what: "Node's default TLS settings", expect: 'A', server: (c) => ({ cert: c.valid.cert, key: c.valid.key }) },
  { name: 'legacy-tls10-11', what: 'TLS 1.0 and 1.1 enabled (level 0)', expect: 'B', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, minVersion: 'TLSv1', ciphers: LEVEL0 }) },
  { name: 'only-tls10-11', what: 'nothing newer than TLS 1.1', expect: 'C', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: LEVEL0 }) },
  { name: 'tls12-only', what: 'TLS 1.2 only', expect: 'A-', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, maxVersion: 'TLSv1.2', ciphers: MOZILLA_INTERMEDIATE_CIPHERS }) },
  { name: 'no-forward-secrecy', what: 'static RSA key exchange only', expect: 'B', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' }) },
  { name: 'cbc-only', what: 'ECDHE with CBC suites only', expect: 'B', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA' }) },
  { name: 'no-modern-suite', what: 'TLS 1.2 with only a Camellia suite no browser offers', expect: 'F', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, maxVersion: 'TLSv1.2', ciphers: `CAMELLIA128-SHA:${LEVEL0}` }) },
  { name: 'dhe-1024', what: 'DHE with a 1024-bit group (level 0)', expect: 'B', server: (c) => ({ cert: c.valid.cert, key: c.valid.key, maxVersion: 'TLSv1.2', dhparam: dhParams(1024), ciphers: `ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:${LEVEL0}` }) },
  { name: 'ecdsa', what: 'ECDSA P-256 certificate', expect: 'A', server: (c) => ({ cert: c.validEcdsa.cert, key: c.validEcdsa.key }) },
  { name: 'expired', what: 'certificate expired yesterday', expect: 'T', server: (c) => ({ cert: c.expired.cert, key: c.expired.key }) },
  { name: 'not-yet-valid', what: 'certificate valid from in 10 days', expect: 'T', server: (c) => ({ cert: c.notYetValid.cert, key: c.notYetValid.key }) },
  { name: 'self-signed', what: 'self-signed certificate', expect: 'T', server: (c) => ({ cert: c.selfSigned.cert, key: c.selfSigned.key }) },
  { name: 'untrusted-root', what: 'chain to a root the client does not trust', expect: 'T', trustTestCa: false, server: (c) => ({ cert: c.valid.cert, key: c.valid.key }) },
  { name: 'wrong-host', what: 'certificate for wrong.example', expect: 'M', server: (c) => ({ cert: c.wrongHost.cert, key: c.wrongHost.key }) },
  { name: 'rsa-1024', what: 'RSA-1024 key (level 0)', expect: 'B', server: (c) => ({ cert: c.rsa1024.cert, key: c.rsa1024.key, ciphers: LEVEL0 }) },
  { name: 'sha1-signed', what: 'leaf signed with ECDSA-SHA1 (level 0)', expect: 'T', server: (c) => ({ cert: c.sha1.cert, key: c.sha1.key, ciphers: LEVEL0 }) },
  { name: 'missing-intermediate', what: 'leaf sent without its intermediate', expect: 'B', server: (c) => ({ cert: c.missingIntermediate.cert, key: c.missingIntermediate.key }) },
];
