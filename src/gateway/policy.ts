/**
 * Turns a user's policy and a request into counter checks (rate limits and budget reservations,
 * admitted together, all or nothing, in one store call) and settles them to the real usage after.
 */
import type { AdmitResult, CounterAdjustment, CounterCheck, Counters, Ledger, LedgerRow, UserRecord } from '../store/types.js';
import { NANO, period, toNano } from './budget.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/**
 * The longest a request counts as in flight: a request still running after it (a very long stream)
 * stops counting, and one whose end is never settled (its instance died) frees its place then.
 */
export const PARALLEL_LEASE_MS = 15 * MINUTE;
/** A limit no budget reaches: the user's spend is tracked (for the soft budget) without a hard cap. */
const UNCAPPED = 9e15;

export interface IpLimits {
  rpm?: number;
  rpd?: number;
}

export interface GlobalBudget {
  usd: number;
  period: 'day' | 'month';
}

/** A team's limits and budget (the config's `teams`), shared by the users whose `team` it is. */
export interface TeamPolicy {
  /** Requests per minute of all its members together (sliding window). */
  rpm?: number;
  /** Tokens per minute of all its members together (reserved before forwarding, settled after). */
  tpm?: number;
  /** Hard: the team's requests are refused once its members have spent it this period. */
  budgetUsd?: number;
  /** Soft: one alert a period. */
  softBudgetUsd?: number;
  period?: 'day' | 'month';
  /** Models its members may call (each member's own list, and the gateway's, apply too); absent: any. */
  models?: string[];
}

export type TeamPolicies = ReadonlyMap<string, TeamPolicy>;

/** What a check stands for, to name it in a refusal and in the rate-limit headers. */
export type CheckRole = 'user-rpm' | 'user-rpd' | 'user-tpm' | 'user-parallel' | 'ip-rpm' | 'ip-rpd' | 'team-rpm' | 'team-tpm' | 'user-budget' | 'team-budget' | 'global-budget';

export interface Plan {
  checks: CounterCheck[];
  roles: CheckRole[];
  /** Index of the budget checks, or -1. */
  userBudget: number;
  /** The team's spend is counted for every request of a user in a team, budgeted or not (so a budget given later counts what came before). */
  teamBudget: number;
  globalBudget: number;
  tpm: number;
  teamTpm: number;
  rpm: number;
  /** Index of the in-flight check, or -1. */
  parallel: number;
  /** Reserved amounts, to settle. */
  reservedTokens: number;
  reservedNano: number;
}

/**
 * `requestId`: unique across instances; it holds the request's place among those in flight.
 * `spends` false: a call that can add nothing to what the caller owes (reading, listing, cancelling,
 * deleting what they made). Its budgets are counted but never refuse it, so a user whose budget was
 * lowered below their spend (or overshot by a settled stream) can still fetch the results they paid
 * for and stop what keeps costing; rate limits still apply.
 */
export function plan(user: UserRecord, ip: string | undefined, ipLimits: IpLimits | undefined, global: GlobalBudget | undefined, tokens: number, costUsd: number, now: number, requestId: string, teams?: TeamPolicies, spends = true): Plan {
  const checks: CounterCheck[] = [];
  const roles: CheckRole[] = [];
  const p: Plan = { checks, roles, userBudget: -1, teamBudget: -1, globalBudget: -1, tpm: -1, teamTpm: -1, rpm: -1, parallel: -1, reservedTokens: tokens, reservedNano: toNano(costUsd) };
  const id = user.id;
  if (user.rpm !== undefined) {
    p.rpm = checks.length;
    checks.push({ key: `u:${id}:rpm`, kind: 'sliding', limit: user.rpm, windowMs: MINUTE, cost: 1 });
    roles.push('user-rpm');
  }
  if (user.rpd !== undefined) {
    checks.push({ key: `u:${id}:rpd`, kind: 'sliding', limit: user.rpd, windowMs: DAY, cost: 1 });
    roles.push('user-rpd');
  }
  if (user.tpm !== undefined) {
    p.tpm = checks.length;
    checks.push({ key: `u:${id}:tpm`, kind: 'sliding', limit: user.tpm, windowMs: MINUTE, cost: tokens });
    roles.push('user-tpm');
  }
  if (user.parallel !== undefined) {
    p.parallel = checks.length;
    checks.push({ key: `u:${id}:par`, kind: 'lease', limit: user.parallel, windowMs: PARALLEL_LEASE_MS, cost: 1, member: requestId });
    roles.push('user-parallel');
  }
  if (ip !== undefined && ipLimits) {
    if (ipLimits.rpm !== undefined) {
      checks.push({ key: `ip:${ip}:rpm`, kind: 'sliding', limit: ipLimits.rpm, windowMs: MINUTE, cost: 1 });
      roles.push('ip-rpm');
    }
    if (ipLimits.rpd !== undefined) {
      checks.push({ key: `ip:${ip}:rpd`, kind: 'sliding', limit: ipLimits.rpd, windowMs: DAY, cost: 1 });
      roles.push('ip-rpd');
    }
  }
  if (user.budgetUsd !== undefined || user.softBudgetUsd !== undefined) {
    const per = period(user.period ?? 'month', now);
    p.userBudget = checks.length;
    checks.push({ key: `b:u:${id}:${per.key}`, kind: 'fixed', limit: user.budgetUsd !== undefined && spends ? toNano(user.budgetUsd) : UNCAPPED, windowMs: per.remainingMs + 3_600_000, cost: p.reservedNano });
    roles.push('user-budget');
  }
  if (user.team !== undefined) {
    const t = teams?.get(user.team);
    if (t?.rpm !== undefined) {
      checks.push({ key: `t:${user.team}:rpm`, kind: 'sliding', limit: t.rpm, windowMs: MINUTE, cost: 1 });
      roles.push('team-rpm');
    }
    if (t?.tpm !== undefined) {
      p.teamTpm = checks.length;
      checks.push({ key: `t:${user.team}:tpm`, kind: 'sliding', limit: t.tpm, windowMs: MINUTE, cost: tokens });
      roles.push('team-tpm');
    }
    const per = period(t?.period ?? 'month', now);
    p.teamBudget = checks.length;
    checks.push({ key: `b:t:${user.team}:${per.key}`, kind: 'fixed', limit: t?.budgetUsd !== undefined && spends ? toNano(t.budgetUsd) : UNCAPPED, windowMs: per.remainingMs + 3_600_000, cost: p.reservedNano });
    roles.push('team-budget');
  }
  if (global) {
    const per = period(global.period, now);
    p.globalBudget = checks.length;
    checks.push({ key: `b:g:${per.key}`, kind: 'fixed', limit: spends ? toNano(global.usd) : UNCAPPED, windowMs: per.remainingMs + 3_600_000, cost: p.reservedNano });
    roles.push('global-budget');
  }
  return p;
}

/** True when a hard budget (the user's, the team's or the gateway's) is among the checks: a store that cannot be reached then refuses. */
export function budgetChecked(p: Plan): boolean {
  return p.userBudget >= 0 || p.globalBudget >= 0 || (p.teamBudget >= 0 && p.checks[p.teamBudget]!.limit !== UNCAPPED);
}

/**
 * Spend in USD of the user's period (or, with `which` the team's check, the team's) after settling,
 * from the admission's remaining allowance. `heldNano`: what the request held there, when more than
 * the plan reserved (a relayed session's holds).
 */
export function spendAfter(p: Plan, admitted: AdmitResult, actualUsd: number, which = p.userBudget, heldNano = p.reservedNano): number | undefined {
  if (which < 0) return undefined;
  const c = p.checks[which]!;
  const spentWithReserve = c.limit - admitted.remaining[which]!;
  return (spentWithReserve - heldNano) / NANO + actualUsd;
}

/**
 * The plan's budget checks alone, reserving `costUsd` more in each: a long session taking more of
 * the budgets as it spends (see SessionHold), in the budget periods `p` was planned in.
 */
export function budgetPlan(p: Plan, costUsd: number): Plan {
  const q: Plan = { checks: [], roles: [], userBudget: -1, teamBudget: -1, globalBudget: -1, tpm: -1, teamTpm: -1, rpm: -1, parallel: -1, reservedTokens: 0, reservedNano: toNano(costUsd) };
  for (const which of ['userBudget', 'teamBudget', 'globalBudget'] as const) {
    const i = p[which];
    if (i < 0) continue;
    q[which] = q.checks.length;
    q.checks.push({ ...p.checks[i]!, cost: q.reservedNano });
    q.roles.push(p.roles[i]!);
  }
  return q;
}

/**
 * The tokens-per-minute checks alone (the user's and the team's), costing `tokens`: what a long
 * session's response used, counted when it ends, in the minute it ends in. Refused, the tokens are
 * counted all the same (they were used) by settling the plan: it reserved none.
 */
export function tokenPlan(p: Plan, tokens: number): Plan {
  const q: Plan = { checks: [], roles: [], userBudget: -1, teamBudget: -1, globalBudget: -1, tpm: -1, teamTpm: -1, rpm: -1, parallel: -1, reservedTokens: 0, reservedNano: 0 };
  for (const which of ['tpm', 'teamTpm'] as const) {
    const i = p[which];
    if (i < 0) continue;
    q[which] = q.checks.length;
    q.checks.push({ ...p.checks[i]!, cost: tokens });
    q.roles.push(p.roles[i]!);
  }
  return q;
}

/**
 * Keeps a long session's place among the user's requests in flight (`parallel`) while it runs: a
 * place is a lease (PARALLEL_LEASE_MS) so that an instance that dies frees its places, and a session
 * may outlive one. Renewed every third of its length; returns what stops it.
 */
export function keepLease(counters: Counters, p: Plan, onError: (err: unknown) => void): () => void {
  if (p.parallel < 0) return () => undefined;
  const lease = [p.checks[p.parallel]!];
  const renew = () => {
    try {
      // The member is held: admitting it again only moves the end of its lease.
      const r = counters.admit(lease);
      if (r instanceof Promise) r.catch(onError);
    } catch (err) {
      onError(err);
    }
  };
  const t = setInterval(renew, lease[0]!.windowMs / 3);
  t.unref();
  return () => clearInterval(t);
}

/**
 * Gives back a request's place among the requests in flight before it is settled (a batch: created,
 * it runs for hours at the provider, apart from the user's live requests); the plan it returns no
 * longer holds one, so that settling does not give it back twice.
 */
export function releaseLease(counters: Counters, p: Plan, at: number): { plan: Plan; done: void | Promise<void> } {
  if (p.parallel < 0) return { plan: p, done: undefined };
  const c = p.checks[p.parallel]!;
  const done = counters.adjust([{ key: c.key, kind: 'lease', member: c.member, windowMs: c.windowMs, at, delta: -1 }]);
  return { plan: { ...p, parallel: -1 }, done };
}

/** `reservedNano`: what the budgets hold for the request, when more than the plan reserved (a session's later holds). */
export function settle(counters: Counters, p: Plan, at: number, actualTokens: number, actualUsd: number, reservedNano = p.reservedNano): void | Promise<void> {
  const adj: CounterAdjustment[] = [];
  if (p.parallel >= 0) {
    const c = p.checks[p.parallel]!;
    adj.push({ key: c.key, kind: 'lease', member: c.member, windowMs: c.windowMs, at, delta: -1 });
  }
  const dTokens = actualTokens - p.reservedTokens;
  const dNano = toNano(actualUsd) - reservedNano;
  for (const i of [p.tpm, p.teamTpm]) if (i >= 0 && dTokens !== 0) adj.push({ key: p.checks[i]!.key, kind: 'sliding', windowMs: MINUTE, at, delta: dTokens });
  for (const i of [p.userBudget, p.teamBudget, p.globalBudget]) {
    if (i >= 0 && dNano !== 0) {
      const c = p.checks[i]!;
      adj.push({ key: c.key, kind: 'fixed', windowMs: c.windowMs, at, delta: dNano });
    }
  }
  if (adj.length === 0) return;
  return counters.adjust(adj);
}

export function refusalMessage(role: CheckRole, check: CounterCheck, retryAfterS: number): { status: number; type: string; message: string } {
  switch (role) {
    case 'user-rpm':
      return { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached: ${check.limit} requests per minute; retry in ${retryAfterS}s` };
    case 'user-rpd':
      return { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached: ${check.limit} requests per day; retry in ${retryAfterS}s` };
    case 'user-tpm':
      return check.cost > check.limit
        ? { status: 429, type: 'rate_limit_exceeded', message: `this request may use ${check.cost} tokens, more than the limit of ${check.limit} tokens per minute; lower max_tokens or shorten the prompt` }
        : { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached: ${check.limit} tokens per minute; retry in ${retryAfterS}s` };
    case 'user-parallel':
      return { status: 429, type: 'rate_limit_exceeded', message: `too many requests in flight: this user may have ${check.limit} at once; retry when one of them has ended` };
    case 'ip-rpm':
      return { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached for this client address: ${check.limit} requests per minute; retry in ${retryAfterS}s` };
    case 'ip-rpd':
      return { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached for this client address: ${check.limit} requests per day; retry in ${retryAfterS}s` };
    case 'team-rpm':
      return { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached for team '${teamOfKey(check.key)}': ${check.limit} requests per minute across its members; retry in ${retryAfterS}s` };
    case 'team-tpm':
      return check.cost > check.limit
        ? { status: 429, type: 'rate_limit_exceeded', message: `this request may use ${check.cost} tokens, more than team '${teamOfKey(check.key)}''s limit of ${check.limit} tokens per minute; lower max_tokens or shorten the prompt` }
        : { status: 429, type: 'rate_limit_exceeded', message: `rate limit reached for team '${teamOfKey(check.key)}': ${check.limit} tokens per minute across its members; retry in ${retryAfterS}s` };
    case 'user-budget':
      return { status: 402, type: 'budget_exceeded', message: `budget reached: this user's spending limit of $${(check.limit / NANO).toFixed(2)} for the period is spent (or this request's worst case would pass it); it resets in ${fmtDuration(retryAfterS)}` };
    case 'team-budget':
      return { status: 402, type: 'budget_exceeded', message: `budget reached: team '${teamOfKey(check.key)}' has spent its limit of $${(check.limit / NANO).toFixed(2)} for the period (or this request's worst case would pass it); it resets in ${fmtDuration(retryAfterS)}` };
    case 'global-budget':
      return { status: 402, type: 'budget_exceeded', message: `budget reached: the gateway's global spending limit for the period is spent; it resets in ${fmtDuration(retryAfterS)}` };
  }
}

/** The team a team's key (`b:t:<team>:<period>`, `t:<team>:rpm`) counts for. */
export function teamOfKey(key: string): string {
  return key.slice(key.startsWith('b:') ? 4 : 2, key.lastIndexOf(':'));
}

function fmtDuration(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** When a budget period began, from the key `period()` gives it (`m202611`, `d20261129`). */
function periodStart(key: string): number | undefined {
  const m = /^(?:m(\d{4})(\d{2})|d(\d{4})(\d{2})(\d{2}))$/.exec(key);
  if (!m) return undefined;
  return m[1] !== undefined ? Date.UTC(Number(m[1]), Number(m[2]) - 1, 1) : Date.UTC(Number(m[3]), Number(m[4]) - 1, Number(m[5]));
}

/**
 * For in-memory counters (`MemoryCounters({ initial })`): a budget counter starts, when first used in
 * its period, from the spend the ledger holds for that user (or team, or everyone) since the period
 * began, with the rows still queued for it (`pending`, the last fraction of a second) counted too. So
 * neither a restart nor a budget given to a user who has been spending starts from nothing.
 */
export function budgetSeeder(ledger: Ledger, pending: () => readonly LedgerRow[] = () => []): (key: string) => number {
  const queued = (start: number, counts: (r: LedgerRow) => boolean): number => {
    let usd = 0;
    for (const r of pending()) if (r.ts >= start && counts(r)) usd += r.costUsd;
    return usd;
  };
  return (key) => {
    const user = /^b:u:(.+):([md]\d+)$/.exec(key);
    const team = user ? null : /^b:t:(.+):([md]\d+)$/.exec(key);
    const global = user || team ? null : /^b:g:([md]\d+)$/.exec(key);
    const start = periodStart(user ? user[2]! : team ? team[2]! : global ? global[1]! : '');
    if (start === undefined) return 0;
    if (user) return toNano((ledger.totals('user', { userId: user[1]!, since: start })[0]?.costUsd ?? 0) + queued(start, (r) => r.userId === user[1]));
    if (team) return toNano((ledger.totals('team', { since: start }).find((t) => t.key === team[1])?.costUsd ?? 0) + queued(start, (r) => r.team === team[1]));
    let total = queued(start, () => true);
    for (const v of ledger.spendSince(start).values()) total += v;
    return toNano(total);
  };
}

/** Users whose spend a budget counter counts (a hard or a soft budget). */
export function budgetedIds(users: UserRecord[]): Set<string> {
  return new Set(users.filter((u) => u.budgetUsd !== undefined || u.softBudgetUsd !== undefined).map((u) => u.id));
}

/**
 * In-memory budgets stop counting while a user has no budget, so a counter kept through that time
 * would miss what was spent meanwhile: a budget taken away drops its counter, and when one is given
 * back it starts again from the ledger (`budgetSeeder`), the time without it included. Returns the
 * users budgeted now, for the next look.
 */
export function forgetRemovedBudgets(users: UserRecord[], before: Set<string>, forget: (prefix: string) => void): Set<string> {
  const now = budgetedIds(users);
  for (const id of before) if (!now.has(id)) forget(`b:u:${id}:`);
  return now;
}

/**
 * After a restart, in-memory budget counters start from what the ledger says was spent this period,
 * so a restart never hands a user a fresh budget.
 */
export async function seedBudgets(counters: Counters, ledger: Ledger, users: UserRecord[], global: GlobalBudget | undefined, now = Date.now(), teams = false): Promise<void> {
  const adj = ledgerSpend(ledger, users, global, now, teams);
  if (adj.length > 0) await counters.adjust(adj);
}

/** A team's spend in a ledger this period (`p`), as an addition to its budget counter (none when nothing was spent). */
export function teamSpend(ledger: Ledger, team: string, p: 'day' | 'month', now = Date.now()): CounterAdjustment[] {
  const per = period(p, now);
  const spent = ledger.totals('team', { since: per.start }).find((t) => t.key === team)?.costUsd ?? 0;
  return spent > 0 ? [{ key: `b:t:${team}:${per.key}`, kind: 'fixed', windowMs: per.remainingMs + 3_600_000, at: now, delta: toNano(spent) }] : [];
}

/**
 * This period's spend in a ledger, per budgeted user, per team (with `teams`: every team the ledger
 * names, for this day and this month alike, since the config can change a team's period) and in
 * total, as additions to the budget counters.
 */
export function ledgerSpend(ledger: Ledger, users: UserRecord[], global: GlobalBudget | undefined, now = Date.now(), teams = false): CounterAdjustment[] {
  const adj: CounterAdjustment[] = [];
  const cache = new Map<number, Map<string, number>>();
  const spendSince = (start: number) => {
    let m = cache.get(start);
    if (!m) cache.set(start, (m = ledger.spendSince(start)));
    return m;
  };
  for (const u of users) {
    if (u.budgetUsd === undefined && u.softBudgetUsd === undefined) continue;
    const per = period(u.period ?? 'month', now);
    const spent = spendSince(per.start).get(u.id) ?? 0;
    if (spent > 0) adj.push({ key: `b:u:${u.id}:${per.key}`, kind: 'fixed', windowMs: per.remainingMs + 3_600_000, at: now, delta: toNano(spent) });
  }
  if (global) {
    const per = period(global.period, now);
    let total = 0;
    for (const v of spendSince(per.start).values()) total += v;
    if (total > 0) adj.push({ key: `b:g:${per.key}`, kind: 'fixed', windowMs: per.remainingMs + 3_600_000, at: now, delta: toNano(total) });
  }
  if (teams) {
    for (const p of ['day', 'month'] as const) {
      const per = period(p, now);
      for (const t of ledger.totals('team', { since: per.start })) {
        if (t.key === '' || t.costUsd <= 0) continue;
        adj.push({ key: `b:t:${t.key}:${per.key}`, kind: 'fixed', windowMs: per.remainingMs + 3_600_000, at: now, delta: toNano(t.costUsd) });
      }
    }
  }
  return adj;
}
