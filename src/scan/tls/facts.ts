/** What the TLS handshakes learned about an https target (filled by `gatherTls`, read by the tls-* checks). */

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** How a protocol version was probed and what came back. */
export interface ProtocolProbe {
  accepted: boolean;
  /** True when the probe ran at OpenSSL security level 0, the only way to see TLS 1.0/1.1 at all. */
  legacyProbe: boolean;
  /** Why the handshake failed (OpenSSL's reason, shortened), when it did. */
  error?: string;
}

/** One accepted cipher suite, as negotiated in its own handshake. */
export interface CipherSuite {
  protocol: TlsVersion;
  /** OpenSSL name, e.g. `ECDHE-RSA-AES128-GCM-SHA256`. */
  name: string;
  /** IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`. */
  standardName: string;
  /** Key exchange: `ECDHE`, `DHE`, `RSA` (static, no forward secrecy), `TLS13`, or other (`PSK`, `anon`…). */
  kx: string;
  forwardSecrecy: boolean;
  /** GCM, CCM or ChaCha20-Poly1305. */
  aead: boolean;
  /** CBC-mode block cipher (vulnerable to padding-oracle families; no AEAD). */
  cbc: boolean;
  /** Symmetric strength in bits (3DES counts as 112). */
  bits: number;
  anonymous: boolean;
  /** The ephemeral key of this handshake, e.g. `{ type: 'ECDH', name: 'X25519', size: 253 }` or `{ type: 'DH', size: 2048 }`. */
  ephemeral?: { type: string; name?: string; size: number };
}

/** One certificate as the server presented it (leaf first). */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  commonName?: string;
  /** DNS names and IP addresses from subjectAltName. */
  altNames: string[];
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  fingerprint256: string;
  /** `rsa`, `ec`, `ed25519`, `ed448`, `dsa`… */
  keyType: string;
  /** RSA/DSA modulus bits, EC curve bits. */
  keyBits: number;
  /** Strength in RSA-equivalent bits (P-256 counts as 3072), for the key-exchange score. */
  keyRsaEquivalentBits: number;
  curve?: string;
  /** Read from the certificate bytes: OID, name (e.g. `sha256WithRSAEncryption`) and hash. */
  signatureAlgorithm: { oid: string; name: string; hash?: string };
  selfSigned: boolean;
  isCa: boolean;
  /** Authority Information Access "CA Issuers" URLs: where a client could fetch the issuer. */
  caIssuers: string[];
}

export interface TrustFacts {
  /** True when the chain verified against Node's roots plus the scan's extra CAs. */
  trusted: boolean;
  /** OpenSSL's verification error code, e.g. `CERT_HAS_EXPIRED`, `DEPTH_ZERO_SELF_SIGNED_CERT`. */
  error?: string;
  /** The server sent the leaf without the intermediate that signed it (and its issuer names a place to fetch it). */
  chainIncomplete: boolean;
}

/** What the TLS handshakes learned about an https target (filled by the TLS probe). */
export interface TlsFacts {
  host: string;
  port: number;
  /** The address actually connected to. */
  address?: string;
  /** Set when no handshake succeeded at all. */
  error?: string;
  protocols: Record<TlsVersion, ProtocolProbe>;
  /** What a modern client (Node's default offer, TLS 1.2+) negotiated; absent when such a client cannot connect. */
  negotiated?: { protocol: TlsVersion; cipher: CipherSuite };
  /** Every accepted suite per accepted protocol: the server's pick from a full offer first, then the rest as found. */
  suites: CipherSuite[];
  /** False when the suite enumeration stopped at its bound before the server ran out of suites. */
  suitesComplete: boolean;
  /** ALPN: what the server chose when offered `h2` and `http/1.1`. */
  alpn: { h2: boolean; selected?: string };
  /** The chain as the server presented it, leaf first. */
  chain: CertificateFacts[];
  trust?: TrustFacts;
  /** Whether the leaf is valid for the scanned host name. */
  hostname?: { matches: boolean; error?: string };
  /** The server stapled an OCSP response when asked. */
  ocspStapled: boolean;
  /** The stapled response's status (`successful`, `tryLater`, `unauthorized`…); not otherwise validated. */
  ocspStatus?: string;
  /** Handshakes made, for the report and the benchmark. */
  handshakes: number;
  /** When the handshakes ran (ISO): validity and expiry are judged at this instant. */
  checkedAt: string;
}
