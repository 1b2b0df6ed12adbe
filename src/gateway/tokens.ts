/**
 * Gateway tokens: `kw_<12 hex id>_<43 chars base64url secret>`. Only the sha256 of the whole token is
 * stored; the id locates the row and the hash is compared in constant time.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import { KeywardError } from '../errors.js';
import { TOKEN_SCOPES, type Directory, type TokenOptions, type TokenRecord, type TokenScope, type UserRecord } from '../store/types.js';

const TOKEN_RE = /^kw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

// One-shot hashing (Node ≥ 20.12) is several times cheaper than a Hash object on the hot path.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex' | 'buffer') => string | Buffer }).hash;

export function hashToken(token: string): string {
  return oneShot ? (oneShot('sha256', token, 'hex') as string) : createHash('sha256').update(token).digest('hex');
}

/**
 * Two hex digests compared in constant time (every character is looked at, whatever differs). On
 * strings: a hex digest is half the cost of a Buffer one here, and no Buffer is made per request.
 */
export function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** What `issueToken` takes: when the token expires, and the APIs it may call (see TOKEN_SCOPES). */
export type IssueOptions = TokenOptions;

/** Creates a token for a user; the returned `token` is shown once and never stored. */
export function issueToken(dir: Directory, user: string, options: IssueOptions = {}): { token: string; record: TokenRecord } {
  if (options.scopes !== undefined) checkScopes(options.scopes);
  const id = randomBytes(6).toString('hex');
  const token = `kw_${id}_${randomBytes(32).toString('base64url')}`;
  const record = dir.addToken(user, id, hashToken(token), options);
  return { token, record };
}

/** Scopes as a comma-separated list (`app,openai`), each one of TOKEN_SCOPES. */
export function parseScopes(list: string): TokenScope[] {
  const scopes = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  checkScopes(scopes);
  return scopes as TokenScope[];
}

function checkScopes(scopes: readonly string[]): void {
  const known: readonly string[] = TOKEN_SCOPES;
  const unknown = scopes.filter((s) => !known.includes(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new KeywardError('KW_USAGE', scopes.length === 0 ? 'a token needs at least one scope' : `unknown token scope${unknown.length > 1 ? 's' : ''}: ${unknown.map((s) => `'${s.slice(0, 40)}'`).join(', ')}`, {
      hint: `scopes are ${TOKEN_SCOPES.join(', ')} (app: POST /api/ai/chat; the others: that provider's API and model list); leave them out for a token that may call everything`,
    });
  }
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
  if (!sameHex(hashToken(token), found.token.hash)) return { ok: false, reason: 'unknown' };
  if (found.token.revokedAt !== undefined) return { ok: false, reason: 'revoked' };
  const expiresAt = found.token.expiresAt;
  if (expiresAt !== undefined && Date.now() >= expiresAt) return { ok: false, reason: 'expired', expiresAt };
  if (found.user.disabled) return { ok: false, reason: 'disabled', user: found.user };
  return { ok: true, token: found.token, user: found.user };
}
