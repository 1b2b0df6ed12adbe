/**
 * The TLS section's grade, along the lines of SSL Labs' SSL Server Rating Guide (2009r):
 * a score from protocol support (30%), key exchange (30%) and cipher strength (40%), then
 * caps from the results of the tls-* checks (one table below), T for trust failures and M for
 * a name mismatch (both shown as F), A- without TLS 1.3, A+ only with HSTS of 180 days or more.
 * docs/scoring.md ("TLS") explains every number here.
 */
import type { Finding } from '../../finding.js';
import type { Grade, TestResult } from '../types.js';

/** SSL Labs' letters; T (trust) and M (mismatch) rank with F. */
export type SslLabsGrade = 'A+' | 'A' | 'A-' | 'B' | 'C' | 'D' | 'E' | 'F' | 'T' | 'M';
const ORDER: readonly SslLabsGrade[] = ['A+', 'A', 'A-', 'B', 'C', 'D', 'E', 'F', 'T', 'M'];

/** Every result id of the tls-* checks that caps the grade, and the cap. */
export const TLS_CAPS: Readonly<Record<string, SslLabsGrade>> = {
  'tls-handshake-failed': 'F',
  'tls-protocols-legacy-enabled': 'B',
  'tls-protocols-no-tls12': 'C',
  'tls-protocols-no-tls13': 'A-',
  'tls-ciphers-insecure': 'F',
  'tls-ciphers-no-modern-suite': 'F',
  'tls-ciphers-3des-or-rc4': 'C',
  'tls-ciphers-no-forward-secrecy': 'B',
  'tls-ciphers-no-aead': 'B',
  'tls-key-weak': 'B',
  'tls-key-insecure': 'F',
  'tls-chain-incomplete': 'B',
  /** The page's verified fetch was refused (any reason, an incomplete chain included): see tls-certificate-rejected.ts. */
  'tls-certificate-rejected': 'T',
  'tls-certificate-expired': 'T',
  'tls-certificate-not-yet-valid': 'T',
  'tls-trust-self-signed': 'T',
  'tls-trust-untrusted': 'T',
  'tls-signature-sha1': 'T',
  'tls-hostname-mismatch': 'M',
};

/** Protocol scores (rating guide §2): the mean of the best and the worst protocol accepted. */
const PROTOCOL_SCORE: Readonly<Record<string, number>> = { SSLv2: 0, SSLv3: 80, TLSv1: 90, 'TLSv1.1': 95, 'TLSv1.2': 100, 'TLSv1.3': 100 };

/** Key exchange score (§3) from the weakest key in RSA-equivalent bits. */
export function keyExchangeScore(bits: number): number {
  if (bits <= 0) return 0;
  if (bits < 512) return 20;
  if (bits < 1024) return 40;
  if (bits < 2048) return 80;
  if (bits < 4096) return 90;
  return 100;
}

/** Cipher strength score (§4) of one suite's bits; the section takes the mean of the strongest and the weakest. */
export function cipherScore(bits: number): number {
  if (bits <= 0) return 0;
  if (bits < 128) return 20;
  if (bits < 256) return 80;
  return 100;
}

/** Score → letter (§5). */
export function letterForScore(score: number): SslLabsGrade {
  if (score >= 80) return 'A';
  if (score >= 65) return 'B';
  if (score >= 50) return 'C';
  if (score >= 35) return 'D';
  if (score >= 20) return 'E';
  return 'F';
}

/** keyward's letter for SSL Labs' (keyward has no E, T or M). */
const AS_KEYWARD: Readonly<Record<SslLabsGrade, Grade>> = { 'A+': 'A+', A: 'A', 'A-': 'A-', B: 'B', C: 'C', D: 'D', E: 'D-', F: 'F', T: 'F', M: 'F' };

/** The score band of each keyward letter (the grade chart's), so the section's score agrees with its letter. */
const BAND: Readonly<Partial<Record<Grade, readonly [number, number]>>> = {
  'A+': [100, 100],
  A: [90, 99],
  'A-': [85, 89],
  B: [70, 79],
  C: [50, 59],
  D: [30, 39],
  'D-': [25, 29],
  F: [0, 24],
};

const worse = (a: SslLabsGrade, b: SslLabsGrade): SslLabsGrade => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b);

export interface TlsRating {
  /** SSL Labs' letter, T and M included. */
  sslLabs: SslLabsGrade;
  grade: Grade;
  /** SSL Labs' numeric score (0–100) before caps. */
  rawScore: number;
  /** The raw score, clamped into the band of the final letter. */
  score: number;
  protocolScore: number;
  keyExchangeScore: number;
  cipherScore: number;
  /** Results that capped the grade. */
  caps: Array<{ result: string; cap: SslLabsGrade }>;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function rateTls(tests: Record<string, TestResult>): TlsRating {
  const protocols = tests['tls-protocols'];
  const accepted = Array.isArray(protocols?.data?.accepted) ? (protocols.data.accepted as string[]) : [];
  const pScores = accepted.map((v) => PROTOCOL_SCORE[v] ?? 0);
  const protocolScore = pScores.length > 0 ? (Math.max(...pScores) + Math.min(...pScores)) / 2 : 0;
  const kxBits = num(tests['tls-key-size']?.data?.kxBits) ?? 0;
  const kx = keyExchangeScore(kxBits);
  const strongest = num(tests['tls-cipher-suites']?.data?.strongestBits) ?? 0;
  const weakest = num(tests['tls-cipher-suites']?.data?.weakestBits) ?? 0;
  const cipher = (cipherScore(strongest) + cipherScore(weakest)) / 2;
  const rawScore = Math.round(0.3 * protocolScore + 0.3 * kx + 0.4 * cipher);

  let letter = letterForScore(rawScore);
  const caps: TlsRating['caps'] = [];
  for (const t of Object.values(tests)) {
    const cap = TLS_CAPS[t.result];
    if (cap === undefined) continue;
    caps.push({ result: t.result, cap });
    letter = worse(letter, cap);
  }
  // Zero in any category is F (rating guide §5).
  if (protocolScore === 0 || kx === 0 || cipher === 0) letter = worse(letter, 'F');
  if (letter === 'A' && tests['tls-hsts']?.result === 'tls-hsts-long') letter = 'A+';

  const grade = AS_KEYWARD[letter];
  const [lo, hi] = BAND[grade] ?? [0, 100];
  return { sslLabs: letter, grade, rawScore, score: Math.min(hi, Math.max(lo, rawScore)), protocolScore, keyExchangeScore: kx, cipherScore: cipher, caps };
}

/** The `tls` entry of SECTION_GRADERS. */
export function gradeTlsSection(tests: Record<string, TestResult>, _findings: Finding[]): { grade: Grade; score: number } {
  const { grade, score } = rateTls(tests);
  return { grade, score };
}
