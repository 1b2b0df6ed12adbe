import { describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../store/memory.js';
import { hashToken, issueToken, sameHex, verifyToken } from './tokens.js';

describe('gateway tokens', () => {
  it('accepts the token issued and refuses one differing in any character of its secret', () => {
    const dir = new MemoryDirectory();
    dir.addUser('ana', {});
    const { token } = issueToken(dir, 'ana');
    expect(verifyToken(dir, token)).toMatchObject({ ok: true });
    // `kw_` + 12 hex + `_`: the secret (base64url, which may hold `_` itself) starts at 16.
    const secretStart = 16;
    for (const i of [secretStart, secretStart + 20, token.length - 1]) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const forged = token.slice(0, i) + c + token.slice(i + 1);
      expect(verifyToken(dir, forged)).toEqual({ ok: false, reason: 'unknown' });
    }
    expect(verifyToken(dir, token.slice(0, -1))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('compares digests whole: equal ones only, whatever length or place differs', () => {
    const h = hashToken('kw_0123456789ab_x');
    expect(sameHex(h, hashToken('kw_0123456789ab_x'))).toBe(true);
    expect(sameHex(h, hashToken('kw_0123456789ab_y'))).toBe(false);
    expect(sameHex(h, h.slice(0, -1) + (h.endsWith('0') ? '1' : '0'))).toBe(false);
    expect(sameHex(h, h.slice(0, 63))).toBe(false);
    expect(sameHex('', '')).toBe(true);
  });
});
