/** Shared rules for user records, used by every Directory implementation. */
import { KeywardError } from '../errors.js';
import type { DirectoryEvent, LedgerRow, TokenRecord, UsageByKey, UsageDimension, UserPolicy, UserRecord } from './types.js';

/** A team's name: it is part of store keys and log lines, so letters, digits, dot, dash and underscore only. */
const TEAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why a team name is not one, or undefined. */
export function teamNameError(name: string): string | undefined {
  return TEAM_NAME.test(name) ? undefined : `invalid team name '${name.slice(0, 40)}': use 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit`;
}

/** Refuses a team name that could not be stored cleanly (it becomes part of counter keys). */
export function checkTeam(team: unknown): void {
  const err = typeof team === 'string' ? teamNameError(team) : 'a team is named by a string';
  if (err) throw new KeywardError('KW_USAGE', err, { hint: 'name teams like research or ml-platform' });
}

export function checkUserName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(name)) {
    throw new KeywardError('KW_USAGE', `invalid user name '${name.slice(0, 40)}'`, {
      hint: 'use 1-128 letters, digits, dot, dash, underscore or @, starting with a letter or digit',
    });
  }
}

/** Every field of a user's policy: what a patch may change, and what a store writes. */
export const POLICY_KEYS = ['rpm', 'rpd', 'tpm', 'parallel', 'budgetUsd', 'softBudgetUsd', 'period', 'models', 'allowIps', 'team'] as const satisfies ReadonlyArray<keyof UserPolicy>;

export function applyPatch(user: UserRecord, patch: { [K in keyof UserPolicy]?: UserPolicy[K] | null }): void {
  if (patch.team !== undefined && patch.team !== null) checkTeam(patch.team);
  const target = user as unknown as Record<string, unknown>;
  for (const k of POLICY_KEYS) {
    if (!(k in patch)) continue;
    const v = patch[k];
    if (v === null || v === undefined) delete target[k];
    else target[k] = v;
  }
}

const FIELD = { user: 'userId', model: 'model', provider: 'provider', route: 'route', token: 'tokenId', tag: 'tag', team: 'team' } as const satisfies Record<UsageDimension, keyof LedgerRow>;

/** A policy (or a patch of one) as `rpm=60 budgetUsd=5`; a field cleared is `=none`. */
export function policyDetail(p: Record<string, unknown>): string {
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v === null ? 'none' : Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
}

/** What a new token is, for the history: its user, and its scopes and end when it has them. */
export function tokenDetail(userName: string, t: TokenRecord): string {
  return [`user=${userName}`, t.scopes !== undefined ? `scopes=${t.scopes.join(',')}` : '', t.expiresAt !== undefined ? `expires=${new Date(t.expiresAt).toISOString()}` : ''].filter(Boolean).join(' ');
}

/** The event of a change, stamped now. */
export function event(actor: string, action: DirectoryEvent['action'], target: string, detail?: string): DirectoryEvent {
  const e: DirectoryEvent = { ts: Date.now(), actor, action, target };
  if (detail) e.detail = detail;
  return e;
}

/** Usage totals of rows in memory, highest cost first (what SQLite's GROUP BY gives for the same rows). */
export function totalsBy(rows: LedgerRow[], by: UsageDimension): UsageByKey[] {
  const field = FIELD[by];
  const totals = new Map<string, UsageByKey>();
  for (const r of rows) {
    const k = r[field] ?? '';
    let s = totals.get(k);
    if (!s) totals.set(k, (s = { key: k, requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 }));
    s.requests++;
    s.tokensIn += r.tokensIn;
    s.tokensOut += r.tokensOut;
    s.costUsd += r.costUsd;
  }
  return [...totals.values()].sort((a, b) => b.costUsd - a.costUsd);
}

/**
 * Users and tokens held in memory, with the lookups every in-memory copy answers the same way: the
 * whole of MemoryDirectory, and the mirror RedisDirectory keeps of Redis.
 */
export class DirectoryRecords {
  readonly users = new Map<string, UserRecord>();
  /** Name → id. */
  readonly names = new Map<string, string>();
  readonly tokens = new Map<string, TokenRecord>();

  putUser(u: UserRecord): void {
    this.users.set(u.id, u);
    this.names.set(u.name, u.id);
  }

  putToken(t: TokenRecord): void {
    this.tokens.set(t.id, t);
  }

  clear(): void {
    this.users.clear();
    this.names.clear();
    this.tokens.clear();
    this.used.clear();
  }

  find(idOrName: string): UserRecord | undefined {
    const byId = this.users.get(idOrName);
    if (byId) return byId;
    const id = this.names.get(idOrName);
    return id === undefined ? undefined : this.users.get(id);
  }

  must(idOrName: string): UserRecord {
    const u = this.find(idOrName);
    if (!u) throw new KeywardError('KW_USAGE', `no user '${idOrName}'`, { hint: "list users with 'keyward users list'" });
    return u;
  }

  getUser(idOrName: string): UserRecord | undefined {
    const u = this.find(idOrName);
    return u && { ...u };
  }

  listUsers(): UserRecord[] {
    return [...this.users.values()].sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name)).map((u) => ({ ...u }));
  }

  lookupToken(id: string): { token: TokenRecord; user: UserRecord } | undefined {
    const token = this.tokens.get(id);
    if (!token) return undefined;
    const user = this.users.get(token.userId);
    return user && { token, user };
  }

  listTokens(userId?: string): TokenRecord[] {
    const uid = userId === undefined ? undefined : this.must(userId).id;
    return [...this.tokens.values()]
      .filter((t) => uid === undefined || t.userId === uid)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((t) => {
        const used = Math.max(t.lastUsedAt ?? 0, this.used.get(t.id) ?? 0);
        return used > 0 ? { ...t, lastUsedAt: used } : { ...t };
      });
  }

  /** When each token was last accepted, kept apart from the records (a use is not a change of the directory). */
  readonly used = new Map<string, number>();

  touch(id: string, at: number): void {
    if (this.tokens.has(id) && at > (this.used.get(id) ?? 0)) this.used.set(id, at);
  }
}
