/**
 * Gateway tokens: `kw_<12 hex id>_<43 chars base64url secret>`. Only the sha256 of the whole token is
 * stored; the id locates the row and the hash is compared in constant time.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Directory, TokenRecord, UserRecord } from '../store/types.js';

const TOKEN_RE = /^kw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

// One-shot hashing (Node ≥ 20.12) is several times cheaper than a Hash object on the hot path.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex' | 'buffer') => string | Buffer }).hash;

export function hashToken(token: string): string {
  return oneShot ? (oneShot('sha256', token, 'hex') as string) : createHash('sha256').update(token).digest('hex');
}

function hashBytes(token: string): Buffer {
  return oneShot ? (oneShot('sha256', token, 'buffer') as Buffer) : createHash('sha256').update(token).digest();
}

export interface IssueOptions {
  /** When the token stops being accepted (ms since the epoch); absent: until revoked. */
  expiresAt?: number;
}

/** Creates a token for a user; the returned `token` is shown once and never stored. */
export function issueToken(dir: Directory, user: string, options: IssueOptions = {}): { token: string; record: TokenRecord } {
  const id = randomBytes(6).toString('hex');
  const token = `kw_${id}_${randomBytes(32).toString('base64url')}`;
  const record = dir.addToken(user, id, hashToken(token), options.expiresAt);
  return { token, record };
}

export function tokenId(token: string): string | undefined {
  return TOKEN_RE.exec(token)?.[1];
}

export type TokenCheck =
  | { ok: true; token: TokenRecord; user: UserRecord }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'disabled'; user?: UserRecord }
  | { ok: false; reason: 'expired'; expiresAt: number };

/** Looks the token up in the directory (current on every call: revocation and disabling take effect at once) and compares hashes in constant time. */
export function verifyToken(dir: Directory, token: string): TokenCheck {
  const id = tokenId(token);
  if (id === undefined) return { ok: false, reason: 'malformed' };
  const found = dir.lookupToken(id);
  if (!found) return { ok: false, reason: 'unknown' };
  const a = hashBytes(token);
  const b = Buffer.from(found.token.hash, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'unknown' };
  if (found.token.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
  const expiresAt = found.token.expiresAt;
  if (expiresAt !== undefined && Date.now() >= expiresAt) return { ok: false, reason: 'expired', expiresAt };
  if (found.user.disabled) return { ok: false, reason: 'disabled', user: found.user };
  return { ok: true, token: found.token, user: found.user };
}
