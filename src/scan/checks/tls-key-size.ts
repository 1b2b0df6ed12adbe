/**
 * Key exchange strength (SSL Labs' "key exchange" category): the certificate's key and every
 * ephemeral DH/ECDH key the server used, in RSA-equivalent bits. Under 1024 is insecure (F),
 * 1024–2047 weak (B).
 */
import type { CipherSuite } from '../tls/facts.js';
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, tlsFinding, tlsTest, usableTls } from './tls-support.js';

/** RSA-equivalent strength of the ECDH groups Node can negotiate (NIST SP 800-57). */
const ECDH_RSA_BITS: Record<string, number> = {
  X25519: 3072,
  prime256v1: 3072,
  secp256r1: 3072,
  X448: 7680,
  secp384r1: 7680,
  secp521r1: 15360,
};

export function ephemeralRsaBits(e: NonNullable<CipherSuite['ephemeral']>): number {
  if (e.type === 'DH') return e.size;
  return ECDH_RSA_BITS[e.name ?? ''] ?? (e.size >= 384 ? 7680 : e.size >= 253 ? 3072 : 1024);
}

export const tlsKeySizeCheck: Check = {
  name: 'tls-key-size',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    const leaf = tls?.chain[0];
    if (!tls || !leaf) return NOTHING;
    const url = targetOf(tls);
    const dh = tls.suites.filter((s) => s.ephemeral?.type === 'DH').map((s) => s.ephemeral!.size);
    const ephemeral = tls.suites.flatMap((s) => (s.ephemeral ? [ephemeralRsaBits(s.ephemeral)] : []));
    const kxBits = Math.min(leaf.keyRsaEquivalentBits, ...ephemeral);
    const keyLabel = `${leaf.keyBits}-bit ${leaf.keyType.toUpperCase()}${leaf.curve ? ` (${leaf.curve})` : ''}`;
    const data = { keyType: leaf.keyType, keyBits: leaf.keyBits, rsaEquivalentBits: leaf.keyRsaEquivalentBits, minDhBits: dh.length > 0 ? Math.min(...dh) : undefined, kxBits };
    const evidence = `certificate key: ${keyLabel}${dh.length > 0 ? `; DHE group: ${Math.min(...dh)} bits` : ''}`;
    const weakest =
      leaf.keyRsaEquivalentBits <= kxBits ? `the certificate's ${keyLabel} key` : dh.length > 0 && Math.min(...dh) <= kxBits ? `a ${Math.min(...dh)}-bit DHE group` : 'a small ephemeral ECDH curve';
    if (kxBits < 1024) {
      return {
        findings: [tlsFinding('tls-key-insecure', 'critical', `Key exchange under 1024 bits (${weakest}): breakable today`, FIX.key(tls.host), { url, evidence })],
        tests: { 'tls-key-size': tlsTest('tls-key-insecure', false, data) },
      };
    }
    if (kxBits < 2048) {
      return {
        findings: [tlsFinding('tls-key-weak', 'high', `Key exchange under 2048 bits (${weakest}) (caps at B)`, FIX.key(tls.host), { url, evidence })],
        tests: { 'tls-key-size': tlsTest('tls-key-weak', false, data) },
      };
    }
    return { findings: [], tests: { 'tls-key-size': tlsTest('tls-key-strong', true, data) } };
  },
};
