/**
 * Who is calling: a gateway token in `Authorization: Bearer` (OpenAI SDK's apiKey), `x-api-key`
 * (Anthropic SDK) or `x-goog-api-key` (Google's @google/genai SDK), or a JWT from the app's own
 * login verified against a JWKS URL (jose).
 * A provider key sent by a client is refused with a message saying so: the gateway holds those.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Directory, TokenScope, UserPolicy, UserRecord } from '../store/types.js';
import { GatewayHttpError } from './http-error.js';
import { verifyToken, type TokenCheck } from './tokens.js';

export interface JwtOptions {
  /** JWKS URL of the app's identity provider. */
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  /** Claim naming the keyward user (default `sub`). */
  userClaim?: string;
  /** Create a user with this policy the first time a valid JWT names an unknown one; otherwise refuse. */
  createUsers?: UserPolicy;
}

export interface Caller {
  user: UserRecord;
  tokenId: string;
  /** The APIs the caller's token may call; absent: all (a JWT, the app's own auth, a token issued without scopes). */
  scopes?: readonly TokenScope[];
  /** The shared directory's version when the caller was authenticated (see Directory.currentVersion). */
  dirVersion?: number;
}

const PROVIDER_KEY_PREFIXES = ['sk-', 'sk_', 'AIza', 'xai-', 'gsk_', 'hf_', 'r8_', 'pplx-', 'fw_', 'tgp_', 'AQ.'];

function credential(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined) {
    if (auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
    return undefined;
  }
  const k = headers['x-api-key'] ?? headers['x-goog-api-key'] ?? headers['api-key'];
  return typeof k === 'string' ? k.trim() : undefined;
}

/** A token's use is recorded in the directory at most this often by one gateway (a write, not free on the hot path). */
export const TOUCH_EVERY_MS = 3_600_000;

export class Authenticator {
  private readonly jwks?: JWTVerifyGetKey;
  /** When this gateway last recorded each token's use. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly dir: Directory,
    private readonly jwt?: JwtOptions,
  ) {
    if (jwt) this.jwks = createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000 });
  }

  /** Returns the caller, or throws a 401/403 GatewayHttpError. Sync for gateway tokens (the hot path). */
  authenticate(headers: IncomingHttpHeaders): Caller | Promise<Caller> {
    const cred = credential(headers);
    if (!cred) {
      throw new GatewayHttpError(401, 'authentication_error', 'missing gateway token: send it as "Authorization: Bearer kw_…", "x-api-key: kw_…" or "x-goog-api-key: kw_…"');
    }
    if (cred.startsWith('kw_')) {
      const r = verifyToken(this.dir, cred);
      // A refusal on a shared directory's copy may be out of date (a token issued, a user re-enabled on
      // another machine a moment ago): catch up with the shared copy, then judge.
      // An expiry cannot be moved, so an expired token needs no catching up.
      if (!r.ok && r.reason !== 'malformed' && r.reason !== 'expired' && this.dir.catchUp) return this.afterCatchUp(cred, r);
      return this.judge(r);
    }
    if (this.jwks && cred.split('.').length === 3) return this.fromJwt(cred);
    if (PROVIDER_KEY_PREFIXES.some((p) => cred.startsWith(p))) {
      throw new GatewayHttpError(
        401,
        'authentication_error',
        'this looks like a provider API key: the gateway never accepts provider keys from clients; use a gateway token (keyward tokens issue <user>) and keep the provider key on the server',
      );
    }
    throw new GatewayHttpError(401, 'authentication_error', 'invalid gateway token');
  }

  private judge(r: TokenCheck): Caller {
    if (r.ok) {
      this.touch(r.token.id);
      return { user: r.user, tokenId: r.token.id, scopes: r.token.scopes };
    }
    if (r.reason === 'revoked') throw new GatewayHttpError(401, 'authentication_error', 'this gateway token has been revoked');
    if (r.reason === 'expired') throw new GatewayHttpError(401, 'authentication_error', `this gateway token expired at ${new Date(r.expiresAt).toISOString()}; ask the gateway's operator for a new one`);
    if (r.reason === 'disabled') throw new GatewayHttpError(403, 'permission_error', `user '${r.user!.name}' is disabled`);
    throw new GatewayHttpError(401, 'authentication_error', 'invalid gateway token');
  }

  /** Notes the token's use in the directory (for `keyward tokens list --unused-for`), once an hour at most; a failure only loses the note. */
  private touch(id: string): void {
    const now = Date.now();
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    if (this.touched.size >= 100_000) this.touched.clear();
    this.touched.set(id, now);
    try {
      this.dir.touchToken(id, now);
    } catch {
      // A busy or read-only file: the next use an hour on tries again.
    }
  }

  private async afterCatchUp(cred: string, first: TokenCheck): Promise<Caller> {
    let changed = false;
    try {
      changed = await this.dir.catchUp!();
    } catch {
      // The shared store is unreachable: judge on the local copy, as every other request does meanwhile.
    }
    return this.judge(changed ? verifyToken(this.dir, cred) : first);
  }

  private async fromJwt(jwt: string): Promise<Caller> {
    const o = this.jwt!;
    let claims: Record<string, unknown>;
    try {
      const r = await jwtVerify(jwt, this.jwks!, { issuer: o.issuer, audience: o.audience });
      claims = r.payload as Record<string, unknown>;
    } catch (err) {
      throw new GatewayHttpError(401, 'authentication_error', `invalid token: ${(err as { code?: string }).code ?? 'verification failed'}`);
    }
    const name = claims[o.userClaim ?? 'sub'];
    if (typeof name !== 'string' || name === '') throw new GatewayHttpError(401, 'authentication_error', `the token has no '${o.userClaim ?? 'sub'}' claim`);
    let user = this.dir.getUser(name);
    // As for tokens: a shared directory's copy may not have the latest word on this user yet.
    if ((!user || user.disabled) && this.dir.catchUp && (await this.dir.catchUp().catch(() => false))) user = this.dir.getUser(name);
    if (!user && o.createUsers) {
      try {
        user = this.dir.addUser(name, o.createUsers);
      } catch {
        user = this.dir.getUser(name);
      }
    }
    if (!user) throw new GatewayHttpError(403, 'permission_error', `no gateway user '${name.slice(0, 64)}'`);
    if (user.disabled) throw new GatewayHttpError(403, 'permission_error', `user '${user.name}' is disabled`);
    return { user, tokenId: 'jwt' };
  }
}
