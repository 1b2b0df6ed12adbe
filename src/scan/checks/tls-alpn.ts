/** ALPN: does the server offer HTTP/2 (`h2`) to clients that ask for it? Informational for the grade. */
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsAlpnCheck: Check = {
  name: 'tls-alpn',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls?.trust) return NOTHING;
    const data = { selected: tls.alpn.selected ?? null };
    if (tls.alpn.h2) return { findings: [], tests: { 'tls-alpn': tlsTest('tls-alpn-h2', true, data) } };
    return {
      findings: [
        tlsFinding('tls-alpn-no-h2', 'low', 'HTTP/2 is not offered through ALPN', FIX.h2, {
          url: targetOf(tls),
          evidence: `offered h2, http/1.1; server chose ${tls.alpn.selected ?? 'nothing (no ALPN)'}`,
          docs: 'https://www.rfc-editor.org/rfc/rfc7301',
        }),
      ],
      tests: { 'tls-alpn': tlsTest('tls-alpn-no-h2', true, data) },
    };
  },
};
