/** In-process stores: one gateway instance, nothing shared. Counters are exact under concurrency because admit is synchronous. */
import { randomUUID } from 'node:crypto';
import { KeywardError } from '../errors.js';
import type {
  AdmitResult,
  CounterAdjustment,
  CounterCheck,
  CounterKind,
  Counters,
  Directory,
  DirectoryEvent,
  Ledger,
  LedgerQuery,
  LedgerRow,
  TokenOptions,
  TokenRecord,
  UsageByKey,
  UsageDimension,
  UserPolicy,
  UserRecord,
} from './types.js';
import { newTokenRecord } from './types.js';
import { applyPatch, checkTeam, checkUserName, DirectoryRecords, event, policyDetail, tokenDetail, totalsBy } from './records.js';

interface Slot {
  /** Window number (sliding) or 0 (fixed). */
  w: number;
  cur: number;
  prev: number;
  /** Expiry of a fixed counter, ms since epoch. */
  expires: number;
}

/** Sliding-window estimate (Cloudflare's weighted two-window counter), shared in spirit with the Redis script. */
function estimate(slot: Slot, now: number, windowMs: number): number {
  const f = (now % windowMs) / windowMs;
  return slot.prev * (1 - f) + slot.cur;
}

function retryAfter(slot: Slot, now: number, check: CounterCheck): number {
  if (check.kind === 'fixed') return Math.max(0, slot.expires - now);
  const { windowMs, limit, cost } = check;
  const untilNext = windowMs - (now % windowMs);
  if (cost > limit) return windowMs;
  if (slot.cur + cost > limit) {
    // Next window: the current count becomes `prev`, weighted down as the window advances.
    const room = limit - cost;
    const f = slot.cur === 0 ? 0 : Math.max(0, 1 - room / slot.cur);
    return untilNext + Math.ceil(f * windowMs);
  }
  const room = limit - slot.cur - cost;
  const f = slot.prev === 0 ? 1 : Math.min(1, 1 - room / slot.prev);
  return Math.max(1, Math.ceil(f * windowMs - (now % windowMs)));
}

export interface MemoryCountersOptions {
  /**
   * The value a fixed counter starts from when it is created (first used in its period): the spend a
   * ledger already holds for a budget, so that a restart, or a budget given to a user who has been
   * spending, never starts from nothing.
   */
  initial?: (key: string) => number;
}

export class MemoryCounters implements Counters {
  private readonly slots = new Map<string, Slot & { windowMs: number }>();
  private admits = 0;

  constructor(private readonly options: MemoryCountersOptions = {}) {}

  /** Forgets counters that can no longer matter (many client addresses must not grow memory forever). */
  private sweep(now: number): void {
    for (const [k, s] of this.slots) {
      const stale = s.expires !== 0 ? s.expires <= now : Math.floor(now / s.windowMs) > s.w + 1;
      if (stale) this.slots.delete(k);
    }
    for (const [k, until] of this.flags) if (until <= now) this.flags.delete(k);
    for (const k of [...this.leases.keys()]) if (this.held(k, now).size === 0) this.leases.delete(k);
  }

  private slot(check: { key: string; kind: CounterKind; windowMs: number }, now: number): Slot {
    let s = this.slots.get(check.key);
    if (check.kind === 'fixed') {
      if (s === undefined || s.expires <= now) {
        s = { w: 0, cur: this.options.initial?.(check.key) ?? 0, prev: 0, expires: now + check.windowMs, windowMs: check.windowMs };
        this.slots.set(check.key, s);
      }
      return s;
    }
    const w = Math.floor(now / check.windowMs);
    if (s === undefined) {
      s = { w, cur: 0, prev: 0, expires: 0, windowMs: check.windowMs };
      this.slots.set(check.key, s);
    } else if (s.w !== w) {
      s.prev = s.w === w - 1 ? s.cur : 0;
      s.cur = 0;
      s.w = w;
    }
    return s;
  }

  /** Requests in flight per lease counter: member → when its lease runs out. */
  private readonly leases = new Map<string, Map<string, number>>();

  private held(key: string, now: number): Map<string, number> {
    let m = this.leases.get(key);
    if (m === undefined) this.leases.set(key, (m = new Map()));
    for (const [member, until] of m) if (until <= now) m.delete(member);
    return m;
  }

  admit(checks: CounterCheck[]): AdmitResult {
    const now = Date.now();
    if (++this.admits % 10_000 === 0) this.sweep(now);
    const remaining = new Array<number>(checks.length);
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.kind === 'lease') {
        const held = this.held(c.key, now);
        // A member already held only has its lease renewed.
        const cost = held.has(c.member!) ? 0 : 1;
        // Room comes when a request ends, which nobody can date: a second is what clients wait.
        if (held.size + cost > c.limit) return { ok: false, failed: i, retryAfterMs: 1000, remaining: [], now };
        remaining[i] = c.limit - held.size - cost;
        continue;
      }
      const s = this.slot(c, now);
      const used = c.kind === 'fixed' ? s.cur : estimate(s, now, c.windowMs);
      if (used + c.cost > c.limit) {
        return { ok: false, failed: i, retryAfterMs: retryAfter(s, now, c), remaining: [], now };
      }
      remaining[i] = Math.max(0, Math.floor(c.limit - used - c.cost));
    }
    for (const c of checks) {
      if (c.kind === 'lease') this.leases.get(c.key)!.set(c.member!, now + c.windowMs);
      else this.slot(c, now).cur += c.cost;
    }
    return { ok: true, failed: -1, retryAfterMs: 0, remaining, now };
  }

  adjust(adjustments: CounterAdjustment[]): void {
    for (const a of adjustments) {
      if (a.kind === 'lease') {
        const m = this.leases.get(a.key);
        if (m !== undefined && m.delete(a.member!) && m.size === 0) this.leases.delete(a.key);
        continue;
      }
      if (a.delta === 0) continue;
      const s = this.slots.get(a.key);
      if (a.kind === 'fixed') {
        if (s !== undefined) s.cur += a.delta;
        else this.slots.set(a.key, { w: 0, cur: (this.options.initial?.(a.key) ?? 0) + a.delta, prev: 0, expires: Date.now() + a.windowMs, windowMs: a.windowMs });
        continue;
      }
      if (s === undefined) continue;
      const w = Math.floor(a.at / a.windowMs);
      if (s.w === w) s.cur = Math.max(0, s.cur + a.delta);
      else if (s.w === w + 1) s.prev = Math.max(0, s.prev + a.delta);
    }
  }

  /** Counters currently held. */
  get size(): number {
    return this.slots.size;
  }

  /** True when a budget counter starts from what a ledger holds (`initial`), so that one dropped starts again from it. */
  get seeded(): boolean {
    return this.options.initial !== undefined;
  }

  /** Drops the counters whose keys start with `prefix` (a budget taken away: given back, it starts again from `initial`). */
  forget(prefix: string): void {
    for (const k of this.slots.keys()) if (k.startsWith(prefix)) this.slots.delete(k);
  }

  peek(key: string): number {
    const s = this.slots.get(key);
    return s === undefined || (s.expires !== 0 && s.expires <= Date.now()) ? 0 : s.cur;
  }

  private readonly flags = new Map<string, number>();
  once(key: string, ttlMs: number): boolean {
    const now = Date.now();
    const until = this.flags.get(key);
    if (until !== undefined && until > now) return false;
    this.flags.set(key, now + ttlMs);
    return true;
  }

  async close(): Promise<void> {}
}

/** Changes kept by a MemoryDirectory, the newest this many. */
const MAX_EVENTS = 10_000;

export class MemoryDirectory implements Directory {
  private readonly r = new DirectoryRecords();
  private readonly events: DirectoryEvent[] = [];
  actor = 'library';

  private note(e: DirectoryEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  history(since: number, limit = 1000): DirectoryEvent[] {
    return this.events.filter((e) => e.ts >= since).slice(0, limit).map((e) => ({ ...e }));
  }

  addUser(name: string, policy: UserPolicy): UserRecord {
    checkUserName(name);
    if (policy.team !== undefined) checkTeam(policy.team);
    if (this.r.names.has(name)) throw new KeywardError('KW_USAGE', `a user named '${name}' already exists`, { hint: "use 'keyward users set' to change it" });
    const user: UserRecord = { ...policy, id: `u_${randomUUID().slice(0, 8)}`, name, disabled: false, createdAt: Date.now() };
    this.r.putUser(user);
    this.note(event(this.actor, 'user.add', name, policyDetail(policy as Record<string, unknown>)));
    return { ...user };
  }

  getUser(idOrName: string): UserRecord | undefined {
    return this.r.getUser(idOrName);
  }

  listUsers(): UserRecord[] {
    return this.r.listUsers();
  }

  setUser(idOrName: string, patch: Parameters<Directory['setUser']>[1]): UserRecord {
    const u = this.r.must(idOrName);
    applyPatch(u, patch);
    this.note(event(this.actor, 'user.set', u.name, policyDetail(patch)));
    return { ...u };
  }

  setDisabled(idOrName: string, disabled: boolean, reason?: string): UserRecord {
    const u = this.r.must(idOrName);
    u.disabled = disabled;
    u.disabledReason = disabled ? (reason ?? 'manual') : undefined;
    this.note(event(this.actor, disabled ? 'user.disable' : 'user.enable', u.name, u.disabledReason));
    return { ...u };
  }

  addToken(userId: string, id: string, hash: string, options: TokenOptions = {}): TokenRecord {
    const u = this.r.must(userId);
    const t = newTokenRecord(u.id, id, hash, options);
    this.r.putToken(t);
    this.note(event(this.actor, 'token.issue', id, tokenDetail(u.name, t)));
    return { ...t };
  }

  lookupToken(id: string): { token: TokenRecord; user: UserRecord } | undefined {
    return this.r.lookupToken(id);
  }

  listTokens(userId?: string): TokenRecord[] {
    return this.r.listTokens(userId);
  }

  touchToken(id: string, at: number): void {
    this.r.touch(id, at);
  }

  revokeToken(id: string): TokenRecord {
    const t = this.r.tokens.get(id);
    if (!t) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    t.revokedAt ??= Date.now();
    this.note(event(this.actor, 'token.revoke', id));
    return { ...t };
  }

  expireToken(id: string, at: number): TokenRecord {
    const t = this.r.tokens.get(id);
    if (!t) throw new KeywardError('KW_USAGE', `no token '${id}'`, { hint: "list tokens with 'keyward tokens list'" });
    t.expiresAt = Math.min(t.expiresAt ?? Infinity, at);
    this.note(event(this.actor, 'token.expire', id, `until=${new Date(t.expiresAt).toISOString()}`));
    return { ...t };
  }

  close(): void {}
}

export class MemoryLedger implements Ledger {
  private readonly all: LedgerRow[] = [];

  append(rows: LedgerRow[]): void {
    for (const r of rows) this.all.push(r);
  }

  rows(query: LedgerQuery): LedgerRow[] {
    return this.all.filter((r) => (query.userId === undefined || r.userId === query.userId) && (query.since === undefined || r.ts >= query.since));
  }

  totals(by: UsageDimension, query: LedgerQuery): UsageByKey[] {
    return totalsBy(this.rows(query), by);
  }

  spendSince(since: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.all) if (r.ts >= since) out.set(r.userId, (out.get(r.userId) ?? 0) + r.costUsd);
    return out;
  }

  close(): void {}
}
