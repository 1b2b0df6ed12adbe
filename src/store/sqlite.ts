/**
 * The default store: one SQLite file (better-sqlite3) holding users, tokens and the usage ledger.
 * Several gateway instances on one machine may share the file (WAL mode); every token lookup reads
 * it fresh, so a revoked token or a disabled user is refused at once by every instance.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { KeywardError } from '../errors.js';
import { applyPatch, checkTeam, checkUserName, event, POLICY_KEYS, policyDetail, tokenDetail } from './records.js';
import { newTokenRecord, type Directory, type DirectoryEvent, type Ledger, type LedgerQuery, type LedgerRow, type SharedValues, type TokenOptions, type TokenRecord, type TokenScope, type UsageByKey, type UsageDimension, type UserPolicy, type UserRecord } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  policy TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  expires_at INTEGER,
  scopes TEXT,
  last_used_at INTEGER
);
CREATE TABLE IF NOT EXISTS ledger (
  ts INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  token_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  route TEXT NOT NULL,
  model TEXT NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  latency_ms REAL NOT NULL,
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  tag TEXT,
  team TEXT
);
CREATE INDEX IF NOT EXISTS ledger_user_ts ON ledger(user_id, ts);
CREATE TABLE IF NOT EXISTS events (
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kept (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_ts ON ledger(ts);
`;

interface UserRow {
  id: string;
  name: string;
  disabled: number;
  disabled_reason: string | null;
  policy: string;
  created_at: number;
}
interface TokenRow {
  id: string;
  user_id: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
  expires_at: number | null;
  /** Comma-separated; NULL: every API. */
  scopes: string | null;
  last_used_at: number | null;
}

function toUser(r: UserRow): UserRecord {
  const policy = JSON.parse(r.policy) as UserPolicy;
  const u: UserRecord = { ...policy, id: r.id, name: r.name, disabled: r.disabled === 1, createdAt: r.created_at };
  if (r.disabled_reason) u.disabledReason = r.disabled_reason;
  return u;
}

function toToken(r: TokenRow): TokenRecord {
  const t: TokenRecord = { id: r.id, userId: r.user_id, hash: r.hash, createdAt: r.created_at };
  if (r.revoked_at !== null) t.revokedAt = r.revoked_at;
  if (r.expires_at !== null) t.expiresAt = r.expires_at;
  if (r.scopes !== null) t.scopes = (r.scopes === '' ? [] : r.scopes.split(',')) as TokenScope[];
  if (r.last_used_at !== null) t.lastUsedAt = r.last_used_at;
  return t;
}

function policyOf(u: UserRecord): string {
  return JSON.stringify(Object.fromEntries(POLICY_KEYS.map((k) => [k, u[k]])));
}

/** Brings a file made by an older keyward up to the current schema (CREATE … IF NOT EXISTS keeps old tables as they were). */
function migrate(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(tokens)').all();
  if (!columns.some((c) => c.name === 'expires_at')) db.exec('ALTER TABLE tokens ADD COLUMN expires_at INTEGER');
  if (!columns.some((c) => c.name === 'scopes')) db.exec('ALTER TABLE tokens ADD COLUMN scopes TEXT');
  if (!columns.some((c) => c.name === 'last_used_at')) db.exec('ALTER TABLE tokens ADD COLUMN last_used_at INTEGER');
  const ledgerColumns = db.prepare<[], { name: string }>('PRAGMA table_info(ledger)').all();
  if (!ledgerColumns.some((c) => c.name === 'tag')) db.exec('ALTER TABLE ledger ADD COLUMN tag TEXT');
  if (!ledgerColumns.some((c) => c.name === 'team')) db.exec('ALTER TABLE ledger ADD COLUMN team TEXT');
}

const COLUMN = { user: 'user_id', model: 'model', provider: 'provider', route: 'route', token: 'token_id', tag: "COALESCE(tag, '')", team: "COALESCE(team, '')" } as const satisfies Record<UsageDimension, string>;
const TOTALS = 'COUNT(*) AS requests, SUM(tokens_in) AS tokensIn, SUM(tokens_out) AS tokensOut, SUM(cost_usd) AS costUsd';

function ledgerWhere(query: LedgerQuery): [string, Record<string, unknown>] {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (query.userId !== undefined) {
    where.push('user_id = @userId');
    params.userId = query.userId;
  }
  if (query.since !== undefined) {
    where.push('ts >= @since');
    params.since = query.since;
  }
  return [where.length ? 'WHERE ' + where.join(' AND ') : '', params];
}

export function openDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    migrate(db);
  } catch (err) {
    throw new KeywardError('KW_STORE', `cannot open the gateway database '${path}': ${(err as Error).message}`, {
      hint: 'pass --db with a writable path (or set KEYWARD_DB); the file is created if missing',
      cause: err,
    });
  }
  return db;
}

export class SqliteStore implements Directory, Ledger {
  readonly db: Database.Database;
  private readonly q;

  constructor(pathOrDb: string | Database.Database) {
    this.db = typeof pathOrDb === 'string' ? openDatabase(pathOrDb) : pathOrDb;
    const db = this.db;
    this.q = {
      userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
      userByName: db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?'),
      users: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY created_at, name'),
      insertUser: db.prepare('INSERT INTO users (id, name, disabled, policy, created_at) VALUES (?, ?, 0, ?, ?)'),
      updatePolicy: db.prepare('UPDATE users SET policy = ? WHERE id = ?'),
      updateDisabled: db.prepare('UPDATE users SET disabled = ?, disabled_reason = ? WHERE id = ?'),
      insertToken: db.prepare('INSERT INTO tokens (id, user_id, hash, created_at, expires_at, scopes) VALUES (?, ?, ?, ?, ?, ?)'),
      token: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
      tokenAndUser: db.prepare<[string], TokenRow & { u_id: string; name: string; disabled: number; disabled_reason: string | null; policy: string; u_created: number }>(
        'SELECT t.*, u.id AS u_id, u.name, u.disabled, u.disabled_reason, u.policy, u.created_at AS u_created FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?',
      ),
      tokens: db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created_at'),
      tokensOf: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at'),
      revoke: db.prepare('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?'),
      expire: db.prepare('UPDATE tokens SET expires_at = MIN(COALESCE(expires_at, @at), @at) WHERE id = @id'),
      insertEvent: db.prepare('INSERT INTO events (ts, actor, action, target, detail) VALUES (@ts, @actor, @action, @target, @detail)'),
      events: db.prepare<[number, number], { ts: number; actor: string; action: DirectoryEvent['action']; target: string; detail: string | null }>('SELECT * FROM events WHERE ts >= ? ORDER BY ts, rowid LIMIT ?'),
      touch: db.prepare('UPDATE tokens SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)'),
      insertRow: db.prepare(
        'INSERT INTO ledger (ts, request_id, user_id, token_id, provider, route, model, tokens_in, tokens_out, cost_usd, latency_ms, status, outcome, tag, team) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      spend: db.prepare<[number], { user_id: string; cost: number }>('SELECT user_id, SUM(cost_usd) AS cost FROM ledger WHERE ts >= ? GROUP BY user_id'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      kept: db.prepare<[string, number], { value: Buffer }>('SELECT value FROM kept WHERE key = ? AND expires_at > ?'),
      keep: db.prepare('INSERT INTO kept (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at'),
      unkeep: db.prepare('DELETE FROM kept WHERE key = ?'),
      expired: db.prepare('DELETE FROM kept WHERE expires_at <= ?'),
    };
  }

  /**
   * Token lookups (one a request) are answered from memory while the file has not changed: `PRAGMA
   * data_version` moves when another connection commits (the `keyward users` and `tokens` commands
   * are other processes), and this store's own writes drop the copy. So a revoked token or a disabled
   * user is still refused on the very next request, without a join and a JSON parse on every one.
   * (So two stores must not share one Database object: the version does not move for a connection's
   * own commits.)
   */
  private readonly tokens = new Map<string, { token: TokenRecord; user: UserRecord }>();
  private tokensVersion = -1;

  private forget(): void {
    this.tokens.clear();
  }

  /** A note kept with the file (e.g. that its users and tokens moved to Redis). */
  meta(key: string): string | undefined {
    return this.q.meta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.q.setMeta.run(key, value);
  }

  /**
   * Sets a note to `value` unless it already is, in one immediate transaction, and says whether this
   * call changed it: of several processes sharing the file, exactly one wins (e.g. the right to put
   * the file's spend back into a Redis that lost its data). Returns the previous value to undo with.
   */
  claimMeta(key: string, value: string): { claimed: boolean; previous: string | undefined } {
    return this.db
      .transaction(() => {
        const previous = this.meta(key);
        if (previous === value) return { claimed: false, previous };
        this.setMeta(key, value);
        return { claimed: true, previous };
      })
      .immediate();
  }

  private find(idOrName: string): UserRecord | undefined {
    const r = this.q.userById.get(idOrName) ?? this.q.userByName.get(idOrName);
    return r && toUser(r);
  }

  private must(idOrName: string): UserRecord {
    const u = this.find(idOrName);
    if (!u) throw new KeywardError('KW_USAGE', `no user '${idOrName}'`, { hint: "list users with 'keyward users list'" });
    return u;
  }

  actor = 'library';

  /** A change and its event, in one transaction: the history holds what the file holds. */
  private change<T>(apply: () => T, describe: (result: T) => DirectoryEvent): T {
    return this.db.transaction(() => {
      const result = apply();
      const e = describe(result);
      this.q.insertEvent.run({ ...e, detail: e.detail ?? null });
      return result;
    })();
  }

  history(since: number, limit = 1000): DirectoryEvent[] {
    return this.q.events.all(since, limit).map((r) => {
      const e: DirectoryEvent = { ts: r.ts, actor: r.actor, action: r.action, target: r.target };
      if (r.detail !== null) e.detail = r.detail;
      return e;
    });
  }

  addUser(name: string, policy: UserPolicy): UserRecord {
    checkUserName(name);
    if (policy.team !== undefined) checkTeam(policy.team);
    if (this.q.userByName.get(name)) throw new KeywardError('KW_USAGE', `a user named '${name}' already exists`, { hint: "use 'keyward users set' to change it" });
    const user: UserRecord = { ...policy, id: `u_${randomUUID().slice(0, 8)}`, name, disabled: false, createdAt: Date.now() };
    this.change(
      () => this.q.insertUser.run(user.id, name, policyOf(user), user.createdAt),
      () => event(this.actor, 'user.add', name, policyDetail(policy as Record<string, unknown>)),
    );
    return user;
  }

  getUser(idOrName: string): UserRecord | undefined {
    return this.find(idOrName);
  }

  listUsers(): UserRecord[] {
    return this.q.users.all().map(toUser);
  }

  setUser(idOrName: string, patch: Parameters<Directory['setUser']>[1]): UserRecord {
    const u = this.must(idOrName);
    applyPatch(u, patch);
    this.change(
      () => this.q.updatePolicy.run(policyOf(u), u.id),
      () => event(this.actor, 'user.set', u.name, policyDetail(patch)),
    );
    this.forget();
    return u;
  }

  setDisabled(idOrName: string, disabled: boolean, reason?: string): UserRecord {
    const u = this.must(idOrName);
    const why = disabled ? (reason ?? 'manual') : undefined;
    this.change(
      () => this.q.updateDisabled.run(disabled ? 1 : 0, why ?? null, u.id),
      () => event(this.actor, disabled ? 'user.disable' : 'user.enable', u.name, why),
    );
    this.forget();
    return this.must(u.id);
  }

  addToken(userId: string, id: string, hash: string, options: TokenOptions = {}): TokenRecord {
    const u = this.must(userId);
    const t = newTokenRecord(u.id, id, hash, options);
    this.change(
      () => this.q.insertToken.run(id, t.userId, hash, t.createdAt, t.expiresAt ?? null, t.scopes?.join(',') ?? null),
      () => event(this.actor, 'token.issue', id, tokenDetail(u.name, t)),
    );
    this.forget();
    return t;
  }

  lookupToken(id: string): { token: TokenRecord; user: UserRecord } | undefined {
    const version = this.q.dataVersion.get()!;
    if (version !== this.tokensVersion) {
      this.forget();
      this.tokensVersion = version;
    }
    const known = this.tokens.get(id);
    if (known) return known;
    const r = this.q.tokenAndUser.get(id);
    if (!r) return undefined;
    const found = {
      token: toToken(r),
      user: toUser({ id: r.u_id, name: r.name, disabled: r.disabled, disabled_reason: r.disabled_reason, policy: r.policy, created_at: r.u_created }),
    };
    // Unknown ids are not kept (random ones would fill memory); known tokens are few.
    if (this.tokens.size >= 10_000) this.forget();
    this.tokens.set(id, found);
    return found;
  }

  listTokens(userId?: string): TokenRecord[] {
    const rows = userId === undefined ? this.q.tokens.all() : this.q.tokensOf.all(this.must(userId).id);
    return rows.map(toToken);
  }

  revokeToken(id: string): TokenRecord {
    if (!this.q.token.get(id)) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    this.change(
      () => this.q.revoke.run(Date.now(), id),
      () => event(this.actor, 'token.revoke', id),
    );
    this.forget();
    return toToken(this.q.token.get(id)!);
  }

  expireToken(id: string, at: number): TokenRecord {
    if (!this.q.token.get(id)) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    this.change(
      () => this.q.expire.run({ at, id }),
      () => event(this.actor, 'token.expire', id, `until=${new Date(toToken(this.q.token.get(id)!).expiresAt!).toISOString()}`),
    );
    this.forget();
    return toToken(this.q.token.get(id)!);
  }

  touchToken(id: string, at: number): void {
    this.q.touch.run({ at, id });
  }

  append(rows: LedgerRow[]): void {
    if (rows.length === 0) return;
    const insert = this.q.insertRow;
    this.db.transaction((batch: LedgerRow[]) => {
      // Positional parameters: binding 13 named ones from an object took about a third of each insert.
      for (const r of batch) insert.run(r.ts, r.requestId, r.userId, r.tokenId, r.provider, r.route, r.model, r.tokensIn, r.tokensOut, r.costUsd, r.latencyMs, r.status, r.outcome, r.tag ?? null, r.team ?? null);
    })(rows);
  }

  rows(query: LedgerQuery): LedgerRow[] {
    const [where, params] = ledgerWhere(query);
    const sql = `SELECT ts, request_id AS requestId, user_id AS userId, token_id AS tokenId, provider, route, model, tokens_in AS tokensIn, tokens_out AS tokensOut, cost_usd AS costUsd, latency_ms AS latencyMs, status, outcome, tag, team FROM ledger ${where} ORDER BY ts`;
    const rows = this.db.prepare(sql).all(params) as Array<LedgerRow & { tag: string | null; team: string | null }>;
    for (const r of rows) {
      if (r.tag === null) delete (r as LedgerRow).tag;
      if (r.team === null) delete (r as LedgerRow).team;
    }
    return rows;
  }

  // Totals are summed by SQLite: a month of a busy gateway's rows would not fit in memory as objects.
  totals(by: UsageDimension, query: LedgerQuery): UsageByKey[] {
    const [where, params] = ledgerWhere(query);
    return this.db.prepare(`SELECT ${COLUMN[by]} AS key, ${TOTALS} FROM ledger ${where} GROUP BY ${COLUMN[by]} ORDER BY costUsd DESC`).all(params) as UsageByKey[];
  }

  spendSince(since: number): Map<string, number> {
    return new Map(this.q.spend.all(since).map((r) => [r.user_id, r.cost]));
  }

  /**
   * Values kept in the file for a while (whose a file, batch, conversation or vector store is), so that a gateway alone
   * still knows them after a restart. A failure (a full disk) is a miss, as the interface says.
   */
  keptValues(onError: (err: unknown) => void = () => {}): SharedValues {
    let sets = 0;
    const guard = <T>(fn: () => T, fallback: T): T => {
      try {
        return fn();
      } catch (err) {
        onError(err);
        return fallback;
      }
    };
    return {
      get: (key) => Promise.resolve(guard(() => this.q.kept.get(key, Date.now())?.value, undefined)),
      set: (key, value, ttlMs) =>
        guard(() => {
          const now = Date.now();
          // Expired values go every so often, so that the table does not grow without end.
          if (++sets % 256 === 0) this.q.expired.run(now);
          this.q.keep.run(key, value, now + ttlMs);
        }, undefined),
      delete: (key) => guard(() => void this.q.unkeep.run(key), undefined),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
