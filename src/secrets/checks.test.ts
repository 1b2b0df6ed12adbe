import { describe, expect, it } from 'vitest';
import { crc32Base62, hasCrc32Checksum, isPlaceholder, looksLikeIdentifier, looksRandom, shannonEntropy } from './checks.js';
import { checksummedToken, ExampleRandom } from './examples.js';

const r = new ExampleRandom(31);

describe('structural checks', () => {
  it('tells identifiers from random letters', () => {
    for (const id of ['getUserAccessTokenFromSession', 'ASAuthorizationSingleSignOnProvider', 'k8sServiceAccountTokenProvider', 'TKTokenSession', 'refresh_token_expires_at']) {
      expect(looksLikeIdentifier(id), id).toBe(true);
    }
    let judged = 0;
    for (let i = 0; i < 20_000; i++) if (looksLikeIdentifier(r.chars('letters', 20 + r.int(30)))) judged++;
    expect(judged / 20_000).toBeLessThan(0.002);
  });

  it('accepts random key material of every length and alphabet, and rejects words and filler', () => {
    for (const [alphabet, n] of [['alnum', 24], ['alnum', 48], ['hex', 32], ['hex', 64], ['base64url', 20], ['letters', 34]] as const) {
      let ok = 0;
      for (let i = 0; i < 2000; i++) if (looksRandom(r.chars(alphabet, n))) ok++;
      expect(ok / 2000, `${alphabet} ${n}`).toBeGreaterThan(0.998);
    }
    for (const s of ['transformersModelConfigurationLoad', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'abababababababababababab']) expect(looksRandom(s), s).toBe(false);
  });

  it('checks GitHub-style CRC32 checksums', () => {
    const t = checksummedToken('ghp_', r);
    expect(hasCrc32Checksum(t, 4)).toBe(true);
    expect(hasCrc32Checksum(t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'), 4)).toBe(false);
    expect(crc32Base62('')).toBe('000000');
  });

  it('recognises placeholders', () => {
    for (const p of ['your-key-here', 'xxxxxxxx', '<OPENAI_API_KEY>', '${TOKEN}', 'sk-...', 'REDACTED', '********']) expect(isPlaceholder(p), p).toBe(true);
    expect(isPlaceholder(r.chars('alnum', 40))).toBe(false);
  });

  it('measures entropy in bits per character', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});
