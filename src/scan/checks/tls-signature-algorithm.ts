/** Certificate signatures: SHA-1 (or MD5) on the leaf or an intermediate is rejected by browsers. Root self-signatures do not count. */
import { isWeakHash } from '../tls/certificate.js';
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

export const tlsSignatureAlgorithmCheck: Check = {
  name: 'tls-signature-algorithm',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls || tls.chain.length === 0) return NOTHING;
    const signed = tls.chain.filter((c) => !c.selfSigned);
    const weak = signed.filter((c) => isWeakHash(c.signatureAlgorithm.hash));
    const data = { algorithms: tls.chain.map((c) => c.signatureAlgorithm.name) };
    if (weak.length === 0) return { findings: [], tests: { 'tls-signature-algorithm': tlsTest('tls-signature-strong', true, data) } };
    return {
      findings: [
        tlsFinding('tls-signature-sha1', 'high', `Certificate signed with ${weak[0]!.signatureAlgorithm.name}: browsers reject SHA-1 signatures`, FIX.signature(tls.host), {
          url: targetOf(tls),
          evidence: weak.map((c) => `${c.subject}: ${c.signatureAlgorithm.name} (${c.signatureAlgorithm.oid})`).join('\n'),
        }),
      ],
      tests: { 'tls-signature-algorithm': tlsTest('tls-signature-sha1', false, data) },
    };
  },
};
