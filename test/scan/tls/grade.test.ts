/** The TLS grader's arithmetic and caps, on results as the tls-* checks report them. */
import { describe, expect, it } from 'vitest';
import { cipherScore, keyExchangeScore, letterForScore, rateTls, TLS_CAPS } from '../../../src/scan/tls/grade.js';
import type { TestResult } from '../../../src/scan/types.js';

const t = (result: string, data?: Record<string, unknown>): TestResult => ({ result, pass: true, scoreModifier: 0, ...(data ? { data } : {}) });

/** A server with TLS 1.2 + 1.3, RSA-2048 and AES-128…256 suites, plus the given results. */
function rated(extra: Record<string, TestResult> = {}) {
  return rateTls({
    'tls-protocols': t('tls-protocols-modern', { accepted: ['TLSv1.2', 'TLSv1.3'] }),
    'tls-key-size': t('tls-key-strong', { kxBits: 2048 }),
    'tls-cipher-suites': t('tls-ciphers-strong', { strongestBits: 256, weakestBits: 128 }),
    ...extra,
  });
}

describe('gradeTlsSection', () => {
  it('scores 30% protocol, 30% key exchange, 40% cipher as the rating guide tables say', () => {
    expect(rated()).toMatchObject({ rawScore: 93, protocolScore: 100, keyExchangeScore: 90, cipherScore: 90, sslLabs: 'A', grade: 'A', score: 93 });
    expect([keyExchangeScore(511), keyExchangeScore(1023), keyExchangeScore(2047), keyExchangeScore(3072), keyExchangeScore(4096)]).toEqual([20, 40, 80, 90, 100]);
    expect([cipherScore(0), cipherScore(56), cipherScore(128), cipherScore(256)]).toEqual([0, 20, 80, 100]);
    expect([80, 65, 50, 35, 20, 19].map(letterForScore)).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('applies every cap in its table and keeps the score inside the letter band', () => {
    for (const [result, cap] of Object.entries(TLS_CAPS)) {
      const r = rated({ [`probe-${result}`]: t(result) });
      expect(r.caps).toContainEqual({ result, cap });
      const shown = cap === 'T' || cap === 'M' ? 'F' : cap;
      expect(r.grade, result).toBe(shown);
      if (shown === 'F') expect(r.score).toBeLessThanOrEqual(24);
      if (shown === 'B') expect(r.score).toBeLessThanOrEqual(79);
    }
  });

  it('gives A+ only with long HSTS and nothing capping, and lifts the score to 100', () => {
    expect(rated({ 'tls-hsts': t('tls-hsts-long') })).toMatchObject({ grade: 'A+', score: 100 });
    expect(rated({ 'tls-hsts': t('tls-hsts-short') }).grade).toBe('A');
    expect(rated({ 'tls-hsts': t('tls-hsts-long'), 'tls-protocols-x': t('tls-protocols-no-tls13') }).grade).toBe('A-');
  });

  it('grades F when nothing was learned (no protocol, key or cipher)', () => {
    expect(rateTls({}).grade).toBe('F');
  });

  it('grades the weakest server with no zero category D: E (and its D- in keyward) is out of reach, a zero category is F', () => {
    // TLS 1.0 only (90), a 512-bit key exchange (40), 56-bit ciphers (20): 27 + 12 + 8 = 47 → D.
    const d = rateTls({ 'tls-protocols': t('x', { accepted: ['TLSv1'] }), 'tls-key-size': t('x', { kxBits: 512 }), 'tls-cipher-suites': t('x', { strongestBits: 56, weakestBits: 56 }) });
    expect(d).toMatchObject({ rawScore: 47, sslLabs: 'D', grade: 'D' });
    const weakest = rateTls({ 'tls-protocols': t('x', { accepted: ['SSLv3'] }), 'tls-key-size': t('x', { kxBits: 256 }), 'tls-cipher-suites': t('x', { strongestBits: 40, weakestBits: 40 }) });
    expect(weakest).toMatchObject({ rawScore: 38, sslLabs: 'D', grade: 'D' });
    const nullCipher = rateTls({ 'tls-protocols': t('x', { accepted: ['TLSv1.2'] }), 'tls-key-size': t('x', { kxBits: 2048 }), 'tls-cipher-suites': t('x', { strongestBits: 256, weakestBits: 0 }) });
    // (100 + 0) / 2 = 50 for ciphers: 30 + 27 + 20 = 77, B; the NULL suite's F comes from its result (tls-ciphers-insecure).
    expect(nullCipher).toMatchObject({ rawScore: 77, cipherScore: 50, sslLabs: 'B' });
    const noKeyExchange = rateTls({ 'tls-protocols': t('x', { accepted: ['TLSv1.2'] }), 'tls-key-size': t('x', { kxBits: 0 }), 'tls-cipher-suites': t('x', { strongestBits: 256, weakestBits: 256 }) });
    expect(noKeyExchange).toMatchObject({ keyExchangeScore: 0, grade: 'F' });
  });
});
