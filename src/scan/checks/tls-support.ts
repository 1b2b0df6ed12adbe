/** Shared by the tls-* checks: the finding and test-result shapes, and the fixes they recommend. */
import type { Finding, Severity } from '../../finding.js';
import type { TlsFacts } from '../tls/facts.js';
import { finding } from './support.js';
import type { CheckOutput, ScanFacts, TestResult } from '../types.js';

export const TLS_DOCS = {
  rating: 'https://github.com/ssllabs/research/wiki/SSL-Server-Rating-Guide',
  config: 'https://ssl-config.mozilla.org/',
  serverSide: 'https://wiki.mozilla.org/Security/Server_Side_TLS',
  certbot: 'https://eff-certbot.readthedocs.io/en/stable/using.html',
} as const;

/** Mozilla's "intermediate" suites for TLS 1.2: forward secrecy and AEAD only. */
export const MOZILLA_INTERMEDIATE_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';

export const FIX = {
  protocols: [
    'Accept TLS 1.2 and 1.3 only:',
    'nginx:   ssl_protocols TLSv1.2 TLSv1.3;',
    'Apache:  SSLProtocol -all +TLSv1.2 +TLSv1.3',
    "Node:    https.createServer({ minVersion: 'TLSv1.2', … })",
  ].join('\n'),
  tls13: [
    'Enable TLS 1.3 (OpenSSL 1.1.1 or later):',
    'nginx:   ssl_protocols TLSv1.2 TLSv1.3;',
    'Apache:  SSLProtocol -all +TLSv1.2 +TLSv1.3',
    "Node:    https.createServer({ maxVersion: 'TLSv1.3', … })",
  ].join('\n'),
  ciphers: [
    'Offer only suites with forward secrecy (ECDHE) and AEAD (GCM, ChaCha20-Poly1305), as in Mozilla\'s "intermediate" configuration:',
    `nginx:   ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS};`,
    '         ssl_prefer_server_ciphers off;',
    `Apache:  SSLCipherSuite ${MOZILLA_INTERMEDIATE_CIPHERS}`,
    `Node:    https.createServer({ ciphers: '${MOZILLA_INTERMEDIATE_CIPHERS}', … })`,
    `Generator: ${TLS_DOCS.config}`,
  ].join('\n'),
  renew: (host: string): string =>
    [
      'Renew the certificate and make renewal automatic:',
      'certbot:  certbot renew   (check the timer: systemctl list-timers | grep certbot)',
      `          or issue anew: certbot certonly --nginx -d ${host}`,
      'then reload the server (nginx -s reload) so it serves the new certificate.',
    ].join('\n'),
  publicCa: (host: string): string =>
    [
      'Serve a certificate from a publicly trusted CA, e.g. Let\'s Encrypt:',
      `certbot:  certbot --nginx -d ${host}   (or certbot certonly --webroot -w /var/www/html -d ${host})`,
      'nginx:    ssl_certificate /etc/letsencrypt/live/<name>/fullchain.pem;',
      '          ssl_certificate_key /etc/letsencrypt/live/<name>/privkey.pem;',
    ].join('\n'),
  chain: [
    'Send the full chain (leaf + intermediates), not the leaf alone:',
    'nginx:    ssl_certificate /etc/letsencrypt/live/<name>/fullchain.pem;   (not cert.pem)',
    'Apache:   SSLCertificateFile /etc/letsencrypt/live/<name>/fullchain.pem   (2.4.8+)',
    "Node:     https.createServer({ cert: fs.readFileSync('fullchain.pem'), … })",
  ].join('\n'),
  key: (host: string): string =>
    [
      'Reissue the certificate with a stronger key (ECDSA P-256, or RSA of 2048 bits or more):',
      `certbot:  certbot certonly --nginx --key-type ecdsa -d ${host}   (or --key-type rsa --rsa-key-size 3072)`,
      'openssl:  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out req.csr',
      'For DHE suites use a 2048-bit group or more (nginx: ssl_dhparam with openssl dhparam 2048), or drop DHE.',
    ].join('\n'),
  signature: (host: string): string =>
    [
      'Reissue the certificate (and any intermediate) signed with SHA-256 or better; browsers reject SHA-1 signatures.',
      `certbot:  certbot certonly --nginx --force-renewal -d ${host}`,
    ].join('\n'),
  hostname: (host: string): string =>
    [
      `Serve a certificate whose subjectAltName covers ${host}:`,
      `certbot:  certbot certonly --nginx -d ${host}   (one -d for every name the site answers on)`,
      'nginx:    check that this server block (server_name) points at that certificate.',
    ].join('\n'),
  ocsp: [
    'Staple OCSP responses, if your CA still runs OCSP (Let\'s Encrypt stopped in 2025; then there is nothing to staple):',
    'nginx:    ssl_stapling on; ssl_stapling_verify on; resolver 1.1.1.1;',
    'Apache:   SSLUseStapling on   and   SSLStaplingCache shmcb:/var/run/ocsp(128000)',
  ].join('\n'),
  h2: [
    'Offer HTTP/2 through ALPN:',
    'nginx:    http2 on;   (1.25.1+; older: listen 443 ssl http2;)',
    'Apache:   Protocols h2 http/1.1',
    "Node:     http2.createSecureServer({ allowHTTP1: true, … })",
  ].join('\n'),
} as const;

export function tlsFinding(
  id: string,
  severity: Severity,
  title: string,
  recommendation: string,
  extra: { evidence?: string; docs?: string; url?: string } = {},
): Finding {
  return finding(id, severity, title, recommendation, { ...extra, section: 'tls', docs: extra.docs ?? TLS_DOCS.rating });
}

/** TLS results carry no score modifier: the section is graded by src/scan/tls/grade.ts from the results and their data. */
export function tlsTest(result: string, pass: boolean, data?: Record<string, unknown>): TestResult {
  return data === undefined ? { result, pass, scoreModifier: 0 } : { result, pass, scoreModifier: 0, data };
}

export const NOTHING: CheckOutput = { findings: [], tests: {} };

/** The TLS facts when the handshakes got far enough to judge; undefined for http-only scans or failed probes. */
export function usableTls(facts: ScanFacts): TlsFacts | undefined {
  const tls = facts.tls;
  return tls && !tls.error ? tls : undefined;
}

export function targetOf(tls: TlsFacts): string {
  return `https://${tls.host.includes(':') ? `[${tls.host}]` : tls.host}${tls.port === 443 ? '' : `:${tls.port}`}/`;
}

const VERSION_LABEL: Record<string, string> = { TLSv1: 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };
export const versionLabel = (v: string): string => VERSION_LABEL[v] ?? v;
