/**
 * Users and tokens shared through Redis, for gateway instances on different machines (each with its
 * own SQLite ledger). Redis holds the authoritative copy; every instance keeps a full mirror in memory
 * so authentication costs no round trip. Each change is ONE Lua script that updates the record,
 * increments a version counter and publishes the new record on a channel, atomically; every
 * instance applies it from its subscription as soon as it arrives, which is before any request sent
 * after the change returned can reach it. A gap in versions (a missed message), a reconnected
 * subscription, or a newer version seen by the admission script (RedisCounters, same round trip as
 * the limits) reloads the whole mirror.
 *
 * While Redis is unreachable an instance keeps authenticating from its last mirror (limits and
 * budgets then follow --limits-on-store-failure); it reloads as soon as Redis is back. A change made
 * on an instance stays in force in its mirror until Redis has taken it, through any reload or other
 * instance's message in between, and one made while Redis was away is sent when it is back.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KeywardError } from '../errors.js';
import { applyPatch, checkTeam, checkUserName, DirectoryRecords, event, policyDetail, tokenDetail } from './records.js';
import { connectRedis, unreachableRedis } from './redis-connect.js';
import { newTokenRecord, type Directory, type DirectoryEvent, type TokenOptions, type TokenRecord, type UserPolicy, type UserRecord } from './types.js';

/** Records a token's use, never moving it back (instances' clocks and hours differ). */
const TOUCH = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if cur < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
`;

const WRITE = `
local op = ARGV[1]
local kind, rec
if op == 'addUser' then
  local u = cjson.decode(ARGV[2])
  if redis.call('HEXISTS', KEYS[2], u.name) == 1 then return redis.error_reply('KW_EXISTS') end
  redis.call('HSET', KEYS[2], u.name, u.id)
  kind = 'user'
  rec = ARGV[2]
  redis.call('HSET', KEYS[1], u.id, rec)
elseif op == 'setUser' or op == 'setDisabled' then
  local cur = redis.call('HGET', KEYS[1], ARGV[2])
  if not cur then return redis.error_reply('KW_NO_USER') end
  local u = cjson.decode(cur)
  if op == 'setUser' then
    for k, v in pairs(cjson.decode(ARGV[3])) do
      if v == cjson.null then u[k] = nil else u[k] = v end
    end
  else
    u.disabled = ARGV[3] == '1'
    if u.disabled then u.disabledReason = ARGV[4] else u.disabledReason = nil end
  end
  kind = 'user'
  rec = cjson.encode(u)
  redis.call('HSET', KEYS[1], ARGV[2], rec)
elseif op == 'addToken' then
  local t = cjson.decode(ARGV[2])
  if redis.call('HEXISTS', KEYS[1], t.userId) == 0 then return redis.error_reply('KW_NO_USER') end
  if redis.call('HEXISTS', KEYS[3], t.id) == 1 then return redis.error_reply('KW_EXISTS') end
  kind = 'token'
  rec = ARGV[2]
  redis.call('HSET', KEYS[3], t.id, rec)
elseif op == 'revoke' or op == 'expire' then
  local cur = redis.call('HGET', KEYS[3], ARGV[2])
  if not cur then return redis.error_reply('KW_NO_TOKEN') end
  local t = cjson.decode(cur)
  local at = tonumber(ARGV[3])
  if op == 'revoke' then
    if t.revokedAt == nil then t.revokedAt = at end
  elseif t.expiresAt == nil or t.expiresAt > at then
    -- A lifetime is only ever shortened.
    t.expiresAt = at
  end
  kind = 'token'
  rec = cjson.encode(t)
  redis.call('HSET', KEYS[3], ARGV[2], rec)
elseif op == 'restore' then
  -- Redis lost the directory (restarted empty): put back what an instance still holds, keeping
  -- anything Redis has already, move the version past the instance's, and tell everyone to reload.
  for _, json in ipairs(cjson.decode(ARGV[3])) do
    local u = cjson.decode(json)
    if redis.call('HEXISTS', KEYS[2], u.name) == 0 and redis.call('HEXISTS', KEYS[1], u.id) == 0 then
      redis.call('HSET', KEYS[2], u.name, u.id)
      redis.call('HSET', KEYS[1], u.id, json)
    end
  end
  for _, json in ipairs(cjson.decode(ARGV[4])) do
    local t = cjson.decode(json)
    if redis.call('HEXISTS', KEYS[3], t.id) == 0 then redis.call('HSET', KEYS[3], t.id, json) end
  end
  local v = math.max(tonumber(redis.call('GET', KEYS[4]) or '0'), tonumber(ARGV[2])) + 1
  redis.call('SET', KEYS[4], v)
  local msg = '{"v":' .. v .. ',"kind":"reload"}'
  redis.call('PUBLISH', KEYS[5], msg)
  return msg
else
  return redis.error_reply('KW_BAD_OP')
end
local v = redis.call('INCR', KEYS[4])
local msg = '{"v":' .. v .. ',"kind":"' .. kind .. '","record":' .. rec .. '}'
redis.call('PUBLISH', KEYS[5], msg)
return msg
`;

/** Changes kept in the history stream, about (Redis trims whole nodes). */
const MAX_EVENTS = 100_000;

/** How long a request waits for a change's message before the mirror reads the whole directory. */
const CATCH_UP_MS = 50;

type WriteRedis = Redis & { kwDirWrite(...args: Array<string | number>): Promise<string>; kwTouch(key: string, id: string, at: string): Promise<unknown> };

interface PendingWrite {
  args: string[];
  ev?: DirectoryEvent;
}

interface Change {
  v: number;
  kind: 'user' | 'token' | 'reload';
  record: Record<string, unknown>;
}

export interface RedisDirectoryOptions {
  /** Key prefix, the same as the RedisCounters of the same gateway. */
  prefix?: string;
  /** Follow other instances' changes (a gateway does; a one-shot CLI command does not need to). */
  subscribe?: boolean;
  commandTimeoutMs?: number;
  /** A background write (an anomaly auto-disable) or reload that failed. */
  onError?: (err: Error) => void;
}

/** Lua's cjson turns an empty array into an object and drops nothing else we use: undo that. */
function toUser(r: Record<string, unknown>): UserRecord {
  const u = { ...r } as unknown as UserRecord;
  if (u.models !== undefined && !Array.isArray(u.models)) delete u.models;
  if (!u.disabledReason) delete u.disabledReason;
  u.disabled = u.disabled === true;
  return u;
}

function toToken(r: Record<string, unknown>): TokenRecord {
  return r as unknown as TokenRecord;
}

export class RedisDirectory implements Directory {
  private readonly redis: WriteRedis;
  private sub?: Redis;
  private readonly keys: string[];
  /** When each token was last accepted: a hash apart from the versioned records, since a use changes nobody's rights. */
  private readonly usedKey: string;
  /** The mirror: read by every lookup, updated from Redis's answers and messages. */
  private readonly r = new DirectoryRecords();
  /** Version of the mirror: every change up to it is applied. */
  private version = 0;
  private loading?: Promise<void>;
  private reloadAgain = false;
  private writes: Promise<void> = Promise.resolve();
  private failures: Error[] = [];
  /**
   * Changes made here that Redis has not taken yet, in order. A reload puts them back on top of what
   * it read: otherwise a user just disabled here (an anomaly auto-disable while Redis was away) would
   * be let in again between the reload that precedes the resend and Redis's answer to it.
   */
  private pending: PendingWrite[] = [];
  /** Pending changes whose send failed because Redis was unreachable: sent again when it is back. */
  private unsent: PendingWrite[] = [];
  /** History entries of changes Redis took, whose own write failed. */
  private unsentEvents: DirectoryEvent[] = [];
  /** The history of changes: a stream, capped near MAX_EVENTS entries. */
  private readonly eventsKey: string;
  actor = 'library';
  private check?: NodeJS.Timeout;
  private waiters: Array<{ version: number; resolve: () => void }> = [];
  private readonly onError: (err: Error) => void;

  private constructor(redis: Redis, options: RedisDirectoryOptions) {
    this.redis = redis as WriteRedis;
    const p = (options.prefix ?? 'kw:') + 'dir:';
    this.keys = [`${p}users`, `${p}names`, `${p}tokens`, `${p}ver`, `${p}changes`];
    this.usedKey = `${p}used`;
    this.eventsKey = `${p}events`;
    this.redis.defineCommand('kwDirWrite', { lua: WRITE, numberOfKeys: 5 });
    this.redis.defineCommand('kwTouch', { lua: TOUCH, numberOfKeys: 1 });
    this.redis.on('error', () => {});
    this.onError = options.onError ?? (() => {});
  }

  /** The version key, read by the admission script in the same round trip as the limits. */
  get versionKey(): string {
    return this.keys[3]!;
  }

  static async connect(url: string, options: RedisDirectoryOptions = {}): Promise<RedisDirectory> {
    const redis = await connectRedis(url, options.commandTimeoutMs ?? 2000);
    const dir = new RedisDirectory(redis, options);
    try {
      // Subscribe before loading, so no change can fall between the snapshot and the subscription.
      if (options.subscribe !== false) await dir.follow();
      await dir.reload();
    } catch (err) {
      dir.close();
      throw err instanceof KeywardError ? err : unreachableRedis(url, err);
    }
    return dir;
  }

  private async follow(): Promise<void> {
    const sub = this.redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, lazyConnect: true });
    this.sub = sub;
    sub.on('error', () => {});
    sub.on('message', (_channel: string, message: string) => this.receive(message));
    await sub.connect();
    await sub.subscribe(this.keys[4]!);
    // Any later 'ready' is a reconnection: messages sent while away are lost, so read everything again.
    sub.on('ready', () => void this.reload().catch((err: Error) => this.onError(err)));
    // The command connection may come back after the subscription did (the reload then failed).
    this.redis.on('ready', () => this.resend());
  }

  private receive(message: string): void {
    let c: Change;
    try {
      c = JSON.parse(message) as Change;
    } catch {
      return;
    }
    this.apply(c);
  }

  private apply(c: Change): void {
    if (c.v <= this.version) return;
    if (c.kind === 'reload') {
      void this.reload().catch((err: Error) => this.onError(err));
      return;
    }
    if (c.kind === 'user') this.r.putUser(toUser(c.record));
    else this.r.putToken(toToken(c.record));
    // Another instance's change to a record this one changed too and has not sent yet: ours is later.
    for (const w of this.pending) this.replay(w.args);
    if (c.v === this.version + 1 && !this.loading) {
      this.version = c.v;
      this.caughtUp();
    } else void this.reload().catch((err: Error) => this.onError(err));
  }

  /** Reads the whole directory; called at start, after a reconnection, and when a version was missed. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    const run = async () => {
      do {
        this.reloadAgain = false;
        const [users, names, tokens, ver] = this.keys;
        const r = await this.redis.multi().hgetall(users!).hgetall(names!).hgetall(tokens!).get(ver!).hgetall(this.usedKey).exec();
        if (!r) throw new KeywardError('KW_STORE', 'reading the directory from Redis was aborted', { hint: 'retry' });
        for (const [err] of r) if (err) throw err;
        const [u, n, t, v, used] = r.map(([, val]) => val) as [Record<string, string>, Record<string, string>, Record<string, string>, string | null, Record<string, string>];
        const version = Number(v ?? 0);
        if (version < this.version && this.r.users.size + this.r.tokens.size > 0) {
          // The version went back: Redis restarted without its data. Refusing every token would lock
          // everybody out and forget every revocation; put back this instance's copy instead.
          this.onError(new KeywardError('KW_STORE', `Redis lost the user/token directory (version ${version} < ${this.version}); restoring it from this instance's copy`, { hint: 'run Redis with persistence (AOF or RDB)' }));
          const users = [...this.r.users.values()].map((x) => JSON.stringify(x));
          const tokens = [...this.r.tokens.values()].map((x) => JSON.stringify(x));
          await this.redis.kwDirWrite(...this.keys, 'restore', String(this.version), JSON.stringify(users), JSON.stringify(tokens));
          this.reloadAgain = true;
          continue;
        }
        this.r.clear();
        for (const json of Object.values(u)) this.r.putUser(toUser(JSON.parse(json) as Record<string, unknown>));
        for (const [name, id] of Object.entries(n)) this.r.names.set(name, id);
        for (const json of Object.values(t)) this.r.putToken(toToken(JSON.parse(json) as Record<string, unknown>));
        for (const [id, at] of Object.entries(used)) this.r.touch(id, Number(at));
        for (const w of this.pending) this.replay(w.args);
        this.version = version;
        this.caughtUp();
      } while (this.reloadAgain);
    };
    this.loading = run().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Told by the admission script which version Redis is at. A newer one means a change this mirror
   * has not applied yet: usually its message is a few microseconds behind, sometimes it was lost.
   * Returns a promise that settles once the mirror has caught up (from the message, or from a
   * reload after CATCH_UP_MS), so the caller can check the request again against the current
   * directory: a revocation or disabling is then refused on the very next request, on every instance.
   * An older version is a race with a change applied after the admission ran, or a Redis that lost
   * its data: look again a moment later, with one GET, and reload (which restores it) if still off.
   */
  seen(version: number): Promise<void> | undefined {
    if (version === this.version) return undefined;
    if (version > this.version) return this.waitFor(version);
    if (this.loading || this.check) return undefined;
    this.check = setTimeout(() => {
      this.check = undefined;
      void this.redis
        .get(this.keys[3]!)
        .then((v) => (Number(v ?? 0) !== this.version && !this.loading ? this.reload() : undefined))
        .catch((err: Error) => this.onError(err));
    }, 100);
    this.check.unref();
    return undefined;
  }

  async catchUp(): Promise<boolean> {
    const before = this.version;
    const v = Number((await this.redis.get(this.keys[3]!)) ?? 0);
    if (v > this.version) await this.waitFor(v);
    return this.version !== before;
  }

  private waitFor(version: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter = { version, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        if (!this.waiters.includes(waiter)) return;
        // The message did not come: read everything (a failed reload still lets the request go on,
        // judged by the mirror as it is, as when Redis is unreachable).
        const done = () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve();
        };
        // reload() during a load asks it to read once more, so the read starts after the change.
        this.reload().then(done, (err: Error) => {
          this.onError(err);
          done();
        });
      }, CATCH_UP_MS).unref();
    });
  }

  /** Wakes the requests that waited for the mirror to reach a version. */
  private caughtUp(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.version <= this.version) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** The mirror's version (for tests and diagnostics). */
  get currentVersion(): number {
    return this.version;
  }

  /** Queues one write and its event; the mirror is updated from Redis's answer (the authoritative record). */
  private write(args: string[], ev?: DirectoryEvent): void {
    const w: PendingWrite = { args, ev };
    this.pending.push(w);
    this.send(w);
  }

  private send(w: PendingWrite): void {
    const done = () => {
      this.pending = this.pending.filter((p) => p !== w);
    };
    this.writes = this.writes.then(async () => {
      let msg: string;
      try {
        msg = await this.redis.kwDirWrite(...this.keys, ...w.args);
      } catch (err) {
        const e = this.explain(err as Error, w.args);
        this.failures.push(e);
        this.onError(e);
        if (e instanceof KeywardError && e.code === 'KW_STORE') {
          // Redis unreachable: keep the change (an auto-disable must not be lost) and send it when Redis is back.
          this.unsent.push(w);
          return;
        }
        // Refused by Redis (e.g. the name was taken meanwhile): undo the optimistic local change.
        done();
        await this.reload().catch(() => {});
        return;
      }
      done();
      this.receive(msg);
      // Only a change Redis took is history.
      if (w.ev) await this.note(w.ev);
    });
  }

  private async note(ev: DirectoryEvent): Promise<void> {
    try {
      await this.redis.xadd(this.eventsKey, 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', JSON.stringify(ev));
    } catch (err) {
      const e = new KeywardError('KW_STORE', `writing the directory's history to Redis failed: ${(err as Error).message}`, { hint: 'check that Redis is running and reachable; the entry is written when it is back', cause: err });
      this.failures.push(e);
      this.onError(e);
      this.unsentEvents.push(ev);
    }
  }

  /** Applies a change not yet taken by Redis to the mirror, as Redis's script will (each is idempotent). */
  private replay(args: string[]): void {
    const [op, a1 = '', a2 = '', a3 = ''] = args;
    if (op === 'addUser') {
      const u = toUser(JSON.parse(a1) as Record<string, unknown>);
      if (!this.r.names.has(u.name) && !this.r.users.has(u.id)) this.r.putUser(u);
    } else if (op === 'addToken') {
      const t = toToken(JSON.parse(a1) as Record<string, unknown>);
      if (!this.r.tokens.has(t.id) && this.r.users.has(t.userId)) this.r.putToken(t);
    } else if (op === 'setUser' || op === 'setDisabled') {
      const cur = this.r.users.get(a1);
      if (!cur) return;
      const u = { ...cur };
      if (op === 'setUser') applyPatch(u, JSON.parse(a2) as Parameters<typeof applyPatch>[1]);
      else {
        u.disabled = a2 === '1';
        if (u.disabled) u.disabledReason = a3;
        else delete u.disabledReason;
      }
      this.r.users.set(u.id, u);
    } else if (op === 'revoke' || op === 'expire') {
      const cur = this.r.tokens.get(a1);
      if (!cur) return;
      const at = Number(a2);
      const t = { ...cur };
      if (op === 'revoke') t.revokedAt ??= at;
      else t.expiresAt = Math.min(t.expiresAt ?? Infinity, at);
      this.r.tokens.set(t.id, t);
    }
  }

  /** When Redis is back: reloads (restoring an emptied Redis), then sends the changes kept meanwhile. */
  private resend(): void {
    const list = this.unsent;
    const events = this.unsentEvents;
    this.unsent = [];
    this.unsentEvents = [];
    this.writes = this.writes.then(() => this.reload()).catch((err: Error) => this.onError(err));
    for (const w of list) this.send(w);
    for (const ev of events) this.writes = this.writes.then(() => this.note(ev));
  }

  private explain(err: Error, args: string[]): Error {
    const m = err.message;
    if (m.includes('KW_EXISTS')) return new KeywardError('KW_USAGE', args[0] === 'addUser' ? 'a user by that name already exists (added by another instance)' : 'a token with that id already exists', { hint: "use 'keyward users set' to change a user" });
    if (m.includes('KW_NO_USER')) return new KeywardError('KW_USAGE', `no user '${args[1]}' in Redis`, { hint: "list users with 'keyward users list --redis …'" });
    if (m.includes('KW_NO_TOKEN')) return new KeywardError('KW_USAGE', `no token '${args[1]}' in Redis`, { hint: "list tokens with 'keyward tokens list --redis …'" });
    return new KeywardError('KW_STORE', `writing the directory to Redis failed: ${m}`, { hint: 'check that Redis is running and reachable, then retry', cause: err });
  }

  /** Waits for every queued write; throws the first that failed (the CLI calls it before reporting success). */
  async flush(): Promise<void> {
    await this.writes;
    const f = this.failures;
    this.failures = [];
    if (f.length > 0) throw f[0]!;
  }

  addUser(name: string, policy: UserPolicy): UserRecord {
    checkUserName(name);
    if (policy.team !== undefined) checkTeam(policy.team);
    if (this.r.names.has(name)) throw new KeywardError('KW_USAGE', `a user named '${name}' already exists`, { hint: "use 'keyward users set' to change it" });
    const user: UserRecord = { ...policy, id: `u_${randomUUID().slice(0, 8)}`, name, disabled: false, createdAt: Date.now() };
    return this.putUser(user, event(this.actor, 'user.add', name, policyDetail(policy as Record<string, unknown>)));
  }

  private putUser(user: UserRecord, ev?: DirectoryEvent): UserRecord {
    this.r.putUser(user);
    this.write(['addUser', JSON.stringify(user)], ev);
    return { ...user };
  }

  async history(since: number, limit = 1000): Promise<DirectoryEvent[]> {
    const entries = await this.redis.xrange(this.eventsKey, String(Math.max(0, Math.floor(since))), '+', 'COUNT', limit);
    const out: DirectoryEvent[] = [];
    for (const [, fields] of entries) {
      const json = fields[fields.indexOf('e') + 1];
      if (json === undefined) continue;
      try {
        out.push(JSON.parse(json) as DirectoryEvent);
      } catch {
        // Not written by keyward: skipped.
      }
    }
    return out;
  }

  getUser(idOrName: string): UserRecord | undefined {
    return this.r.getUser(idOrName);
  }

  listUsers(): UserRecord[] {
    return this.r.listUsers();
  }

  setUser(idOrName: string, patch: Parameters<Directory['setUser']>[1]): UserRecord {
    const u = { ...this.r.must(idOrName) };
    applyPatch(u, patch);
    this.r.users.set(u.id, u);
    const wire: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) wire[k] = v;
    this.write(['setUser', u.id, JSON.stringify(wire)], event(this.actor, 'user.set', u.name, policyDetail(patch)));
    return { ...u };
  }

  setDisabled(idOrName: string, disabled: boolean, reason?: string): UserRecord {
    const u: UserRecord = { ...this.r.must(idOrName), disabled };
    if (disabled) u.disabledReason = reason ?? 'manual';
    else delete u.disabledReason;
    this.r.users.set(u.id, u);
    this.write(['setDisabled', u.id, disabled ? '1' : '0', u.disabledReason ?? ''], event(this.actor, disabled ? 'user.disable' : 'user.enable', u.name, u.disabledReason));
    return { ...u };
  }

  addToken(userId: string, id: string, hash: string, options: TokenOptions = {}): TokenRecord {
    const u = this.r.must(userId);
    const t = newTokenRecord(u.id, id, hash, options);
    return this.putToken(t, event(this.actor, 'token.issue', id, tokenDetail(u.name, t)));
  }

  private putToken(t: TokenRecord, ev?: DirectoryEvent): TokenRecord {
    this.r.putToken(t);
    this.write(['addToken', JSON.stringify(t)], ev);
    return { ...t };
  }

  lookupToken(id: string): { token: TokenRecord; user: UserRecord } | undefined {
    return this.r.lookupToken(id);
  }

  listTokens(userId?: string): TokenRecord[] {
    return this.r.listTokens(userId);
  }

  revokeToken(id: string): TokenRecord {
    const cur = this.r.tokens.get(id);
    if (!cur) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    const t: TokenRecord = { ...cur, revokedAt: cur.revokedAt ?? Date.now() };
    this.r.tokens.set(id, t);
    this.write(['revoke', id, String(t.revokedAt)], event(this.actor, 'token.revoke', id));
    return { ...t };
  }

  expireToken(id: string, at: number): TokenRecord {
    const cur = this.r.tokens.get(id);
    if (!cur) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    const t: TokenRecord = { ...cur, expiresAt: Math.min(cur.expiresAt ?? Infinity, at) };
    this.r.tokens.set(id, t);
    this.write(['expire', id, String(t.expiresAt)], event(this.actor, 'token.expire', id, `until=${new Date(t.expiresAt!).toISOString()}`));
    return { ...t };
  }

  touchToken(id: string, at: number): void {
    this.r.touch(id, at);
    // Only a note: lost if Redis is away, and the next use (an hour on) records it again.
    this.redis.kwTouch(this.usedKey, id, String(at)).catch(() => {});
  }

  /**
   * Copies users and tokens that Redis does not have yet from another directory (the instance's
   * SQLite file), keeping their ids, so switching a gateway to --redis loses nobody. A name already
   * taken in Redis by a different user is skipped and reported.
   */
  async importFrom(source: Directory): Promise<{ users: number; tokens: number; skipped: string[] }> {
    let users = 0;
    let tokens = 0;
    const skipped: string[] = [];
    const taken = new Set<string>();
    for (const u of source.listUsers()) {
      const mine = this.r.find(u.name);
      if (mine && mine.id !== u.id) {
        skipped.push(u.name);
        taken.add(u.id);
        continue;
      }
      if (!mine) {
        this.putUser({ ...u });
        users++;
      }
    }
    for (const t of source.listTokens()) {
      if (taken.has(t.userId) || this.r.tokens.has(t.id)) continue;
      this.putToken({ ...t });
      tokens++;
    }
    await this.flush();
    return { users, tokens, skipped };
  }

  close(): void {
    clearTimeout(this.check);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    void this.writes.finally(() => {
      this.sub?.disconnect();
      this.redis.disconnect();
    });
  }
}
