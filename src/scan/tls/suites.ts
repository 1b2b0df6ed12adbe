/** Classifies a negotiated cipher suite from its IANA name (key exchange, AEAD/CBC, strength). */
import type { CipherSuite, TlsVersion } from './facts.js';

/** Symmetric strength of the bulk cipher, by the name's cipher part. */
function cipherBits(cipher: string): number {
  if (/^NULL/.test(cipher)) return 0;
  if (/EXPORT|_40_/.test(cipher)) return 40;
  if (/^DES_CBC_/.test(cipher) || cipher === 'DES_CBC') return 56;
  if (/3DES/.test(cipher)) return 112;
  if (/CHACHA20/.test(cipher)) return 256;
  const m = /_(128|256|192)_/.exec(`_${cipher}_`);
  return m ? Number(m[1]) : 128;
}

export function classifySuite(
  protocol: TlsVersion,
  name: string,
  standardName: string,
  ephemeral?: CipherSuite['ephemeral'],
): CipherSuite {
  const std = standardName || name;
  let kx: string;
  let cipher: string;
  const withAt = std.indexOf('_WITH_');
  if (protocol === 'TLSv1.3' || withAt < 0) {
    kx = 'TLS13';
    cipher = std.replace(/^TLS_/, '');
  } else {
    kx = std.slice(4, withAt);
    cipher = std.slice(withAt + 6);
  }
  const anonymous = /anon/i.test(kx);
  const forwardSecrecy = kx === 'TLS13' || /^(ECDHE|DHE)(_|$)/.test(kx);
  const aead = /GCM|CCM|POLY1305/.test(cipher);
  const cbc = /CBC/.test(cipher);
  const shortKx = kx === 'TLS13' ? kx : anonymous ? `${kx.split('_')[0]}-anon` : kx.split('_')[0];
  return {
    protocol,
    name,
    standardName: std,
    kx: shortKx,
    forwardSecrecy,
    aead,
    cbc,
    bits: cipherBits(cipher),
    anonymous,
    ...(ephemeral ? { ephemeral } : {}),
  };
}
