/** The leaf certificate must name the scanned host (subjectAltName, RFC 6125), or browsers refuse it. */
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsHostnameCheck: Check = {
  name: 'tls-certificate-hostname',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls?.hostname) return NOTHING;
    const leaf = tls.chain[0];
    const names = leaf ? (leaf.altNames.length > 0 ? leaf.altNames : leaf.commonName ? [leaf.commonName] : []) : [];
    const data = { host: tls.host, names };
    if (tls.hostname.matches) return { findings: [], tests: { 'tls-certificate-hostname': tlsTest('tls-hostname-match', true, data) } };
    return {
      findings: [
        tlsFinding('tls-hostname-mismatch', 'critical', `The certificate is not valid for ${tls.host}: browsers block the site`, FIX.hostname(tls.host), {
          url: targetOf(tls),
          evidence: `certificate names: ${names.join(', ') || '(none)'}`,
        }),
      ],
      tests: { 'tls-certificate-hostname': tlsTest('tls-hostname-mismatch', false, data) },
    };
  },
};
