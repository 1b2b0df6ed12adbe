/**
 * The page's own certificate was refused by the scan's verifying fetch (ScanFacts.certificateError):
 * browsers and API clients refuse it too. This is the report's first finding, the TLS section is F
 * (SSL Labs' T) whatever the handshakes show, and the whole scan is capped at F. The rest of the
 * report was read from the page fetched again without verification; `strictTls` stops instead.
 */
import type { Check, CheckOutput } from '../types.js';
import { NOTHING, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsCertificateRejectedCheck: Check = {
  name: 'tls-certificate-verification',
  section: 'tls',
  run(facts): CheckOutput {
    const error = facts.certificateError;
    if (error === undefined) {
      return usableTls(facts) ? { findings: [], tests: { 'tls-certificate-verification': tlsTest('tls-certificate-verified', true) } } : NOTHING;
    }
    // "bad certificate at host:port: the certificate has expired (CERT_HAS_EXPIRED)" → "the certificate has expired"
    const reason = (/: (.+)$/.exec(error)?.[1] ?? error).replace(/ \([A-Z0-9_]+\)$/, '');
    const origins = facts.unverifiedOrigins ?? [];
    return {
      findings: [
        tlsFinding(
          'tls-certificate-rejected',
          'critical',
          `Certificate refused: ${reason}. Browsers show a security warning instead of the site, and API clients fail`,
          [
            'Fix the certificate (the other tls-* findings say exactly what is wrong): it must be current, issued for this host name',
            'by a publicly trusted CA, and served with its intermediates, e.g. with Let\'s Encrypt:',
            `certbot:  certbot --nginx -d ${facts.target.host}`,
            'nginx:    ssl_certificate /etc/letsencrypt/live/<name>/fullchain.pem;   (not cert.pem)',
            'Then scan again. This report was read from the page fetched again without certificate verification;',
            'pass --strict-tls (library: strictTls: true) to stop with an error (exit 2) instead.',
          ].join('\n'),
          { url: facts.target.url, evidence: error },
        ),
      ],
      tests: { 'tls-certificate-verification': tlsTest('tls-certificate-rejected', false, { error, unverifiedOrigins: origins }) },
    };
  },
};
