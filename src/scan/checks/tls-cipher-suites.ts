/**
 * Cipher suites: what a modern client negotiates (must have forward secrecy, or the grade is
 * capped at B), whether any AEAD suite is offered at all (else B), and everything the server still accepts (NULL, anonymous, export,
 * 3DES and RC4 are insecure; static-RSA and CBC suites are weak).
 */
import type { Finding } from '../../finding.js';
import type { CipherSuite } from '../tls/facts.js';
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls, versionLabel } from './tls-support.js';

const list = (suites: CipherSuite[], max = 6): string =>
  [...new Set(suites.map((s) => s.name))].slice(0, max).join(', ') + (new Set(suites.map((s) => s.name)).size > max ? ', …' : '');

export const tlsCipherSuitesCheck: Check = {
  name: 'tls-cipher-suites',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls || tls.suites.length === 0) return NOTHING;
    const url = targetOf(tls);
    const suites = tls.suites;
    // What modern clients get; a server with only legacy protocols is judged by its first choice there.
    const negotiated = tls.negotiated?.cipher ?? suites[suites.length - 1]!;
    const insecure = suites.filter((s) => s.bits < 112 || s.anonymous);
    const tripleDesOrRc4 = suites.filter((s) => s.bits === 112 || /RC4/.test(s.standardName));
    const noFs = suites.filter((s) => !s.forwardSecrecy);
    const cbc = suites.filter((s) => s.cbc);
    const bits = suites.map((s) => s.bits);
    const data = {
      strongestBits: Math.max(...bits),
      weakestBits: Math.min(...bits),
      negotiated: negotiated.name,
      negotiatedForwardSecrecy: negotiated.forwardSecrecy,
      negotiatedAead: negotiated.aead,
      accepted: suites.length,
      withoutForwardSecrecy: noFs.length,
      cbc: cbc.length,
      complete: tls.suitesComplete,
    };
    const findings: Finding[] = [];
    let result = 'tls-ciphers-strong';
    if (!tls.negotiated && (tls.protocols['TLSv1.2'].accepted || tls.protocols['TLSv1.3'].accepted)) {
      result = 'tls-ciphers-no-modern-suite';
      findings.push(
        tlsFinding(result, 'high', 'Current browsers cannot connect: the server accepts TLS 1.2+ but none of the suites they offer', FIX.ciphers, {
          url,
          evidence: `accepted: ${list(suites, 10)}`,
        }),
      );
    } else if (insecure.length > 0) {
      result = 'tls-ciphers-insecure';
      findings.push(tlsFinding(result, 'high', `Insecure cipher suites accepted (NULL, anonymous or export-grade): ${list(insecure)}`, FIX.ciphers, { url, evidence: list(insecure, 20) }));
    } else if (tripleDesOrRc4.length > 0) {
      result = 'tls-ciphers-3des-or-rc4';
      findings.push(tlsFinding(result, 'high', `3DES or RC4 suites accepted (Sweet32, RC4 biases; caps the TLS grade at C): ${list(tripleDesOrRc4)}`, FIX.ciphers, { url }));
    }
    const negotiatedEvidence = `${versionLabel(tls.negotiated?.protocol ?? negotiated.protocol)} ${negotiated.standardName} (${negotiated.name})`;
    if (!negotiated.forwardSecrecy) {
      if (result === 'tls-ciphers-strong') result = 'tls-ciphers-no-forward-secrecy';
      findings.push(
        tlsFinding('tls-ciphers-no-forward-secrecy', 'high', 'Modern clients negotiate a suite without forward secrecy: a stolen server key decrypts recorded traffic (caps at B)', FIX.ciphers, {
          url,
          evidence: negotiatedEvidence,
        }),
      );
    } else if (!suites.some((x) => x.aead)) {
      if (result === 'tls-ciphers-strong') result = 'tls-ciphers-no-aead';
      findings.push(
        tlsFinding('tls-ciphers-no-aead', 'medium', 'No AEAD suite (GCM or ChaCha20-Poly1305) is offered: every connection uses CBC mode (caps at B)', FIX.ciphers, {
          url,
          evidence: negotiatedEvidence,
        }),
      );
    } else if (!negotiated.aead) {
      // AEAD is there but the server's preference picks CBC for modern clients: no cap (SSL Labs caps only a server without AEAD).
      if (result === 'tls-ciphers-strong') result = 'tls-ciphers-cbc-preferred';
      findings.push(
        tlsFinding('tls-ciphers-cbc-preferred', 'medium', 'Modern clients are given a CBC suite although the server has AEAD ones: put ECDHE+AEAD suites first', FIX.ciphers, {
          url,
          evidence: negotiatedEvidence,
        }),
      );
    }
    const weakOffered = [...noFs, ...cbc.filter((s) => s.forwardSecrecy)];
    if (result === 'tls-ciphers-strong' && weakOffered.length > 0) {
      result = 'tls-ciphers-weak-offered';
      const parts = [
        noFs.length > 0 ? `${new Set(noFs.map((s) => s.name)).size} without forward secrecy (${list(noFs, 4)})` : '',
        cbc.length > 0 ? `${new Set(cbc.map((s) => s.name)).size} CBC-mode (${list(cbc, 4)})` : '',
      ].filter(Boolean);
      findings.push(tlsFinding(result, 'low', `Weak cipher suites still accepted for old clients: ${parts.join('; ')}`, FIX.ciphers, { url, evidence: list(weakOffered, 30) }));
    }
    const pass = result === 'tls-ciphers-strong' || result === 'tls-ciphers-weak-offered' || result === 'tls-ciphers-cbc-preferred';
    return { findings, tests: { 'tls-cipher-suites': tlsTest(result, pass, data) } };
  },
};
