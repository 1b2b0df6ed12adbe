/**
 * Certificate details from the bytes the server sent: Node's X509Certificate for names, dates,
 * keys and AIA; the one field Node does not expose, the signature algorithm, is read straight
 * from the DER (Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }).
 * A full ASN.1 library would cost a scan's cold start several hundred milliseconds for one OID.
 */
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

/** One DER element at `at`: its tag, where its content starts and ends. */
export function derElement(der: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = der[at];
  let len = der[at + 1];
  let start = at + 2;
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

/** Dotted form of a DER OBJECT IDENTIFIER's content. */
function oidText(bytes: Buffer): string {
  const first = bytes[0] ?? 0;
  const parts = [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40))];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The outer signatureAlgorithm's OID (the algorithm the issuer signed with). */
export function signatureAlgorithmOid(der: Buffer): string {
  const cert = derElement(der, 0);
  const tbs = derElement(der, cert.start);
  const algId = derElement(der, tbs.end);
  const oid = derElement(der, algId.start);
  if (cert.tag !== 0x30 || tbs.tag !== 0x30 || algId.tag !== 0x30 || oid.tag !== 0x06) throw new Error('not an X.509 certificate');
  return oidText(der.subarray(oid.start, oid.end));
}

function signatureAlgorithm(der: Buffer): CertificateFacts['signatureAlgorithm'] {
  const oid = signatureAlgorithmOid(der);
  return { oid, ...(SIGNATURE_ALGORITHMS[oid] ?? { name: oid }) };
}

/** "CA Issuers - URI:http://…" lines of Node's infoAccess. */
function caIssuers(infoAccess: string | undefined): string[] {
  if (!infoAccess) return [];
  return [...infoAccess.matchAll(/^CA Issuers - URI:(.+)$/gm)].map((m) => m[1]!.trim());
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
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
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
    signatureAlgorithm: signatureAlgorithm(der),
    selfSigned,
    isCa: cert.ca,
    caIssuers: caIssuers(cert.infoAccess),
  };
}

function safeVerify(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

const OCSP_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', 'unknown(4)', 'sigRequired', 'unauthorized'];

/** The responseStatus of a DER OCSPResponse (RFC 6960 §4.2.1), e.g. `successful`; undefined if unreadable. */
export function ocspResponseStatus(der: Buffer): string | undefined {
  try {
    const outer = derElement(der, 0);
    const status = derElement(der, outer.start);
    if (outer.tag !== 0x30 || status.tag !== 0x0a || status.end - status.start !== 1) return undefined;
    const code = der[status.start] ?? 255;
    return OCSP_STATUS[code] ?? `unknown(${code})`;
  } catch {
    return undefined;
  }
}
