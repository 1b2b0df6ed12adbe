/**
 * The page's own certificate was refused by the scan's verifying fetch (ScanFacts.certificateError):
 * browsers and API clients refuse it too. This is the report's first finding, the TLS section is F
 * (SSL Labs' T) whatever the handshakes show, and the whole scan is capped at F. The rest of the
 * report was read from the page fetched again without verification; `strictTls` stops instead.
 */
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsCertificateRejectedCheck: Check = {
  name: 'tls-certificate-verification',
  section: 'tls',
  run(facts): CheckOutput {
    const error = facts.certificateError;
    if (error === undefined) {
      return usableTls(facts) ? { findings: [], tests: { 'tls-certificate-verification': tlsTest('tls-certificate-verified', true) } } : NOTHING;
    }
    const reason = /: (.+)$/.exec(error)?.[1] ?? error;
    const origins = facts.unverifiedOrigins ?? [];
    return {
      findings: [
        tlsFinding(
          'tls-certificate-rejected',
          'critical',
          `The certificate is refused (${reason}): browsers show a security warning instead of the site, and API clients fail`,
          [
            FIX.publicCa(facts.target.host),
            'Then scan again. This report was read from the page fetched without certificate verification;',
            'pass --strict-tls (library: strictTls: true) to make such a certificate an error (exit 2) instead.',
          ].join('\n'),
          { url: facts.target.url, evidence: error },
        ),
      ],
      tests: { 'tls-certificate-verification': tlsTest('tls-certificate-rejected', false, { error, unverifiedOrigins: origins }) },
    };
  },
};
