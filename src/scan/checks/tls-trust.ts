/**
 * Trust and chain: does the chain verify against Node's roots (plus `--ca`), and does the server
 * send the intermediates? Expiry and SHA-1 have their own checks; this one does not repeat them.
 */
import type { Finding } from '../../finding.js';
import { isWeakHash } from '../tls/certificate.js';
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const SELF_SIGNED_ERRORS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
/** OpenSSL rejects SHA-1 signatures at security level 1+ with these (Node reports the generic one). */
const WEAK_SIGNATURE_ERRORS = new Set(['UNSPECIFIED', 'CA_MD_TOO_WEAK', 'CERT_SIGNATURE_FAILURE']);

export const tlsTrustCheck: Check = {
  name: 'tls-certificate-trust',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls?.trust) return NOTHING;
    const url = targetOf(tls);
    const { trust, chain } = tls;
    const findings: Finding[] = [];
    const evidence = [
      trust.error ? `verification: ${trust.error}` : 'verification: ok',
      ...chain.map((c, i) => `#${i} ${c.subject} (issuer: ${c.issuer})`),
    ].join('\n');
    const leaf = chain[0];
    // What the JSON report shows of the certificate (the facts themselves are not in the report).
    const data = {
      error: trust.error,
      chainLength: chain.length,
      ...(leaf
        ? { subject: leaf.subject, issuer: leaf.issuer, altNames: leaf.altNames, key: `${leaf.keyType} ${leaf.keyBits}`, notAfter: leaf.notAfter, fingerprint256: leaf.fingerprint256 }
        : {}),
    };
    const weakSignature = chain.some((c) => !c.selfSigned && isWeakHash(c.signatureAlgorithm.hash));

    let trustResult: string;
    if (trust.trusted) trustResult = 'tls-trust-ok';
    else if (trust.chainIncomplete) trustResult = 'tls-trust-chain-incomplete';
    else if (trust.error && DATE_ERRORS.has(trust.error)) trustResult = 'tls-trust-invalid-dates';
    else if (trust.error && WEAK_SIGNATURE_ERRORS.has(trust.error) && weakSignature) trustResult = 'tls-trust-weak-signature';
    else if (trust.error && SELF_SIGNED_ERRORS.has(trust.error)) {
      trustResult = 'tls-trust-self-signed';
      findings.push(tlsFinding(trustResult, 'critical', 'The certificate is self-signed: browsers block the site', FIX.publicCa(tls.host), { url, evidence }));
    } else {
      trustResult = 'tls-trust-untrusted';
      findings.push(
        tlsFinding(trustResult, 'critical', `The certificate chain is not trusted (${trust.error ?? 'unknown reason'}): browsers block the site`, FIX.publicCa(tls.host), { url, evidence }),
      );
    }

    const chainResult = trust.chainIncomplete ? 'tls-chain-incomplete' : 'tls-chain-complete';
    if (trust.chainIncomplete) {
      const last = chain[chain.length - 1];
      findings.push(
        tlsFinding(chainResult, 'high', 'The server sends its certificate without the intermediate that signed it: many clients (curl, Node, Python, Android, Firefox at times) fail (caps at B)', FIX.chain, {
          url,
          evidence: `${evidence}${last?.caIssuers.length ? `\nissuer available at: ${last.caIssuers.join(', ')}` : ''}`,
        }),
      );
    }
    return {
      findings,
      tests: {
        'tls-certificate-trust': tlsTest(trustResult, trustResult === 'tls-trust-ok', data),
        'tls-certificate-chain': tlsTest(chainResult, !trust.chainIncomplete, { chainLength: chain.length }),
      },
    };
  },
};
