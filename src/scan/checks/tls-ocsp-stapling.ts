/** OCSP stapling: the server hands clients a fresh revocation status, sparing them a look-up at the CA. Informational. */
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsOcspStaplingCheck: Check = {
  name: 'tls-ocsp-stapling',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls?.trust) return NOTHING;
    if (tls.ocspStapled && tls.ocspStatus === 'successful') return { findings: [], tests: { 'tls-ocsp-stapling': tlsTest('tls-ocsp-stapled', true) } };
    if (tls.ocspStapled) {
      return {
        findings: [
          tlsFinding('tls-ocsp-stapled-error', 'low', `The stapled OCSP response is not a successful one (${tls.ocspStatus ?? 'unreadable'}): clients ignore it`, FIX.ocsp, {
            url: targetOf(tls),
            evidence: `OCSP responseStatus: ${tls.ocspStatus ?? 'unreadable'}`,
          }),
        ],
        tests: { 'tls-ocsp-stapling': tlsTest('tls-ocsp-stapled-error', true, { status: tls.ocspStatus }) },
      };
    }
    return {
      findings: [tlsFinding('tls-ocsp-not-stapled', 'info', 'No OCSP response stapled', FIX.ocsp, { url: targetOf(tls), evidence: 'the server sent no OCSP response when asked (status_request)' })],
      tests: { 'tls-ocsp-stapling': tlsTest('tls-ocsp-not-stapled', true) },
    };
  },
};
