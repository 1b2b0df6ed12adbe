/** TLS protocol versions: each probed by its own handshake (TLS 1.0/1.1 at security level 0). */
import type { Finding } from '../../finding.js';
import { TLS_VERSIONS } from '../tls/facts.js';
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, versionLabel } from './tls-support.js';

export const tlsProtocolsCheck: Check = {
  name: 'tls-protocols',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = facts.tls;
    if (!tls) return NOTHING;
    const url = targetOf(tls);
    if (tls.error) {
      return {
        findings: [
          tlsFinding('tls-handshake-failed', 'high', `No TLS handshake succeeded with ${tls.host}:${tls.port}`, FIX.protocols, {
            evidence: tls.error,
            url,
          }),
        ],
        tests: { 'tls-protocols': tlsTest('tls-handshake-failed', false, { accepted: [] }) },
      };
    }
    const accepted = TLS_VERSIONS.filter((v) => tls.protocols[v].accepted);
    const evidence = TLS_VERSIONS.map((v) => `${versionLabel(v)}: ${tls.protocols[v].accepted ? 'accepted' : 'refused'}`).join(', ');
    const data = {
      accepted,
      ...(tls.negotiated ? { negotiated: `${tls.negotiated.protocol} ${tls.negotiated.cipher.standardName}` } : {}),
      handshakes: tls.handshakes,
    };
    const findings: Finding[] = [];
    const legacy = accepted.filter((v) => v === 'TLSv1' || v === 'TLSv1.1');
    let result: string;
    if (!tls.protocols['TLSv1.2'].accepted && !tls.protocols['TLSv1.3'].accepted) {
      result = 'tls-protocols-no-tls12';
      findings.push(tlsFinding(result, 'high', `Only ${legacy.map(versionLabel).join(' and ')} accepted: current browsers refuse to connect`, FIX.protocols, { evidence, url }));
    } else if (!tls.protocols['TLSv1.2'].accepted) {
      // TLS 1.3 alone is fine for browsers; SSL Labs does not cap it.
      result = 'tls-protocols-modern';
    } else if (legacy.length > 0) {
      result = 'tls-protocols-legacy-enabled';
      findings.push(
        tlsFinding(result, 'medium', `${legacy.map(versionLabel).join(' and ')} still accepted (deprecated by RFC 8996; caps the TLS grade at B)`, FIX.protocols, {
          evidence,
          url,
          docs: 'https://www.rfc-editor.org/rfc/rfc8996',
        }),
      );
    } else {
      result = tls.protocols['TLSv1.3'].accepted ? 'tls-protocols-modern' : 'tls-protocols-no-tls13';
    }
    if (!tls.protocols['TLSv1.3'].accepted && result !== 'tls-protocols-no-tls12') {
      findings.push(tlsFinding('tls-protocols-no-tls13', 'low', 'TLS 1.3 is not offered (caps the TLS grade at A-)', FIX.tls13, { evidence, url }));
    }
    const pass = result === 'tls-protocols-modern' || result === 'tls-protocols-no-tls13';
    return { findings, tests: { 'tls-protocols': tlsTest(result, pass, data) } };
  },
};
