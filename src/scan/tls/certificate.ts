/**
 * Certificate details from the bytes the server sent: Node's X509Certificate for names, dates
 * and keys; @peculiar/x509 for what Node does not expose (the signature algorithm, AIA).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import type { CertificateFacts } from './facts.js';

/** Signature algorithms by OID (RFC 3279, 4055, 5758, 8410), with the hash they sign with. */
const SIGNATURE_ALGORITHMS: Record<string, { name: string; hash?: string }> = {
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'MD5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'SHA-1' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'SHA-256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'SHA-384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'SHA-512' },
  '1.2.840.113549.1.1.10': { name: 'rsassa-pss' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'SHA-1' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'SHA-256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'SHA-384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'SHA-512' },
  '1.2.840.10040.4.3': { name: 'dsa-with-SHA1', hash: 'SHA-1' },
  '1.3.101.112': { name: 'Ed25519' },
  '1.3.101.113': { name: 'Ed448' },
};

/** Symmetric-equivalent sizes as RSA bits (NIST SP 800-57), so EC keys grade on the RSA scale. */
const CURVE_BITS: Record<string, { bits: number; rsa: number }> = {
  prime256v1: { bits: 256, rsa: 3072 },
  secp256r1: { bits: 256, rsa: 3072 },
  secp384r1: { bits: 384, rsa: 7680 },
  secp521r1: { bits: 521, rsa: 15360 },
  secp224r1: { bits: 224, rsa: 2048 },
  prime192v1: { bits: 192, rsa: 1024 },
};

export function isWeakHash(hash: string | undefined): boolean {
  return hash === 'SHA-1' || hash === 'MD5';
}

function signatureAlgorithm(cert: x509.X509Certificate): CertificateFacts['signatureAlgorithm'] {
  // The OID is only on the parsed ASN.1; the library's friendly form drops unknown algorithms.
  const oid = (cert as unknown as { asn: { signatureAlgorithm: { algorithm: string } } }).asn.signatureAlgorithm.algorithm;
  const known = SIGNATURE_ALGORITHMS[oid];
  if (known) return { oid, ...known };
  const friendly = cert.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  const hash = friendly.hash?.name;
  return { oid, name: friendly.name ?? oid, ...(hash ? { hash } : {}) };
}

function altNames(text: string | undefined): string[] {
  if (!text) return [];
  return text.split(', ').flatMap((part) => {
    const m = /^(DNS|IP Address):(.*)$/.exec(part);
    return m ? [m[2]] : [];
  });
}

function keyDetails(cert: X509Certificate): Pick<CertificateFacts, 'keyType' | 'keyBits' | 'keyRsaEquivalentBits' | 'curve'> {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType ?? 'unknown';
  const d = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const curve = d.namedCurve ?? 'unknown';
    const size = CURVE_BITS[curve] ?? { bits: 0, rsa: 0 };
    return { keyType: 'ec', keyBits: size.bits, keyRsaEquivalentBits: size.rsa, curve };
  }
  if (type === 'ed25519') return { keyType: type, keyBits: 256, keyRsaEquivalentBits: 3072 };
  if (type === 'ed448') return { keyType: type, keyBits: 456, keyRsaEquivalentBits: 7680 };
  const bits = d.modulusLength ?? 0;
  return { keyType: type, keyBits: bits, keyRsaEquivalentBits: bits };
}

/** Facts about one DER certificate. */
export function describeCertificate(der: Buffer): CertificateFacts {
  const cert = new X509Certificate(der);
  const parsed = new x509.X509Certificate(der);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  const aia = parsed.getExtension(x509.AuthorityInfoAccessExtension);
  const selfSigned = cert.subject === cert.issuer && safeVerify(cert);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    ...(cn ? { commonName: cn } : {}),
    altNames: altNames(cert.subjectAltName),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    ...keyDetails(cert),
    signatureAlgorithm: signatureAlgorithm(parsed),
    selfSigned,
    isCa: cert.ca,
    caIssuers: aia ? aia.caIssuers.filter((g) => g.type === 'url').map((g) => g.value) : [],
  };
}

function safeVerify(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}
