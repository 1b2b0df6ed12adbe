/**
 * Counters shared by any number of gateway instances through one Redis. Each admission is ONE Lua
 * script (one round trip, atomic): every check is read, and only if all pass are all incremented,
 * so a limit of N admits exactly N across instances and a budget reservation can never race.
 * The script reads Redis's own clock (TIME), so instances with skewed clocks still share windows.
 * Window keys are derived inside the script: use a single Redis (or one hash slot), not a cluster.
 * With a RedisDirectory watched, the same script also returns the user/token directory's version, so
 * an instance that missed a change notices it without another round trip.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './redis-connect.js';
import type { AdmitResult, CounterAdjustment, CounterCheck, Counters } from './types.js';

const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The last key holds the data's epoch: set when first seen, so a Redis that lost its data (restarted
-- empty, FLUSHALL) shows a new one, and the instances put the period's spend back from their ledgers.
local n = #KEYS
local epoch = redis.call('GET', KEYS[n])
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[n], epoch)
end
n = n - 1
-- ARGV[1] other than '-': the key before it is the user/token directory's version, returned so a
-- missed change is noticed. When ARGV[1] is the version the caller was judged at and the directory
-- has moved past it, nothing is counted (status 2): the gateway judges the caller again first.
local ver = 0
if ARGV[1] ~= '-' then
  ver = tonumber(redis.call('GET', KEYS[n]) or '0')
  n = n - 1
  local want = tonumber(ARGV[1])
  if want and ver > want then return {2, -1, 0, now, ver, epoch} end
end
local rem = {}
local ks = {}
for i = 1, n do
  local b = 2 + (i - 1) * 4
  local kind = ARGV[b]
  local limit = tonumber(ARGV[b + 1])
  local win = tonumber(ARGV[b + 2])
  local cost = tonumber(ARGV[b + 3])
  local used
  if kind == 'f' then
    ks[i] = KEYS[i]
    used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used + cost > limit then
      local pttl = redis.call('PTTL', KEYS[i])
      if pttl < 0 then pttl = win end
      return {0, i - 1, pttl, now, ver, epoch}
    end
  else
    local w = math.floor(now / win)
    local into = now % win
    ks[i] = KEYS[i] .. ':' .. w
    local cur = tonumber(redis.call('GET', ks[i]) or '0')
    local prev = tonumber(redis.call('GET', KEYS[i] .. ':' .. (w - 1)) or '0')
    local f = into / win
    used = prev * (1 - f) + cur
    if used + cost > limit then
      local retry
      if cost > limit then
        retry = win
      elseif cur + cost > limit then
        local g = 0
        if cur > 0 then g = math.max(0, 1 - (limit - cost) / cur) end
        retry = (win - into) + math.ceil(g * win)
      else
        local g = 1
        if prev > 0 then g = math.min(1, 1 - (limit - cur - cost) / prev) end
        retry = math.max(1, math.ceil(g * win - into))
      end
      return {0, i - 1, retry, now, ver, epoch}
    end
  end
  rem[i] = math.max(0, math.floor(limit - used - cost))
end
for i = 1, n do
  local b = 2 + (i - 1) * 4
  redis.call('INCRBY', ks[i], ARGV[b + 3])
  if ARGV[b] == 'f' then
    if redis.call('PTTL', ks[i]) < 0 then redis.call('PEXPIRE', ks[i], tonumber(ARGV[b + 2])) end
  else
    redis.call('PEXPIRE', ks[i], tonumber(ARGV[b + 2]) * 2 + 1000)
  end
end
local out = {1, -1, 0, now, ver, epoch}
for i = 1, n do out[6 + i] = rem[i] end
return out
`;

const ADJUST = `
for i = 1, #KEYS do
  local b = (i - 1) * 4
  local kind = ARGV[b + 1]
  local win = tonumber(ARGV[b + 2])
  local at = tonumber(ARGV[b + 3])
  local delta = ARGV[b + 4]
  if kind == 'f' then
    -- Only correct a reservation that is still there (a Redis restarted empty has none to correct).
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('INCRBY', KEYS[i], delta)
      if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], win) end
    end
  else
    local k = KEYS[i] .. ':' .. string.format('%d', math.floor(at / win))
    if redis.call('EXISTS', k) == 1 then
      local v = redis.call('INCRBY', k, delta)
      if v < 0 then redis.call('SET', k, 0, 'KEEPTTL') end
    end
  end
end
return 1
`;

/** Adds spend read from a ledger to budget counters, creating them (ADJUST only corrects live ones). */
const SEED = `
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[(i - 1) * 2 + 1])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[(i - 1) * 2 + 2])) end
end
return 1
`;

type ScriptRedis = Redis & {
  kwAdmit(...args: Array<string | number>): Promise<Array<number | string>>;
  kwSeed(...args: Array<string | number>): Promise<number>;
  kwAdjust(...args: Array<string | number>): Promise<number>;
};

export interface RedisCountersOptions {
  /** Key prefix, so several gateways can share one Redis. */
  prefix?: string;
  /** Milliseconds before a command counts as failed (Redis gone). */
  commandTimeoutMs?: number;
}

/** What the admission script needs from a RedisDirectory. */
export interface DirectoryVersion {
  readonly versionKey: string;
  /** A promise when the directory's mirror is behind: admission waits until it has caught up. */
  seen(version: number): Promise<void> | undefined;
}

export class RedisCounters implements Counters {
  private readonly redis: ScriptRedis;
  private directory?: DirectoryVersion;
  private readonly prefix: string;
  /** Settlements that could not be written while Redis was away; replayed when it is back. */
  private pending: CounterAdjustment[] = [];

  private constructor(redis: Redis, prefix: string) {
    this.redis = redis as ScriptRedis;
    this.prefix = prefix;
    this.redis.defineCommand('kwAdmit', { lua: ADMIT });
    this.redis.defineCommand('kwAdjust', { lua: ADJUST });
    this.redis.defineCommand('kwSeed', { lua: SEED });
    this.redis.on('ready', () => void this.replay());
    // ioredis reports connection errors here; the gateway sees them as failed commands.
    this.redis.on('error', () => {});
  }

  static async connect(url: string, options: RedisCountersOptions = {}): Promise<RedisCounters> {
    const redis = await connectRedis(url, options.commandTimeoutMs ?? 1000);
    const c = new RedisCounters(redis, options.prefix ?? 'kw:');
    c.epoch = await c.readEpoch();
    return c;
  }

  /** Identifies the data Redis holds: it changes when Redis loses its data (restarted empty, FLUSHALL). */
  epoch = '';
  private epochListener?: (epoch: string) => void;

  /** Called with the new epoch when an admission (or watchEpoch) finds that Redis lost its data. */
  onEpochChange(listener: (epoch: string) => void): void {
    this.epochListener = listener;
  }

  /** Also looks for a new epoch every `ms`, so an idle instance notices a Redis that lost its data. */
  watchEpoch(ms: number): void {
    clearInterval(this.epochTimer);
    this.epochTimer = setInterval(() => void this.checkEpoch().catch(() => {}), ms);
    this.epochTimer.unref();
  }

  private epochTimer?: NodeJS.Timeout;

  /** The epoch Redis holds, set first if it holds none (as the admission script does). */
  private async readEpoch(): Promise<string> {
    const key = this.prefix + 'epoch';
    await this.redis.set(key, `${Date.now()}.0`, 'NX');
    return (await this.redis.get(key)) ?? '';
  }

  private async checkEpoch(): Promise<void> {
    this.noticeEpoch(await this.readEpoch());
  }

  private noticeEpoch(epoch: string): void {
    if (epoch === '' || epoch === this.epoch) return;
    this.epoch = epoch;
    this.epochListener?.(epoch);
  }

  /** Adds amounts to fixed counters, creating them with the given lifetime (budgets put back from a ledger). */
  async seed(adjustments: CounterAdjustment[]): Promise<void> {
    const list = adjustments.filter((a) => a.kind === 'fixed' && a.delta > 0);
    if (list.length === 0) return;
    const args: Array<string | number> = [list.length];
    for (const a of list) args.push(this.prefix + a.key);
    for (const a of list) args.push(Math.round(a.delta), a.windowMs);
    await this.redis.kwSeed(...args);
  }

  /**
   * Lets the admission script read the user/token directory's version in the same round trip, so an
   * instance that missed a change (RedisDirectory) notices it on its next admitted request.
   */
  watchDirectory(directory: DirectoryVersion): void {
    this.directory = directory;
  }

  get checksDirectory(): boolean {
    return this.directory !== undefined;
  }

  async admit(checks: CounterCheck[], dirVersion?: number): Promise<AdmitResult> {
    const d = this.directory;
    const args: Array<string | number> = [checks.length + (d ? 2 : 1)];
    for (const c of checks) args.push(this.prefix + c.key);
    if (d) args.push(d.versionKey);
    args.push(this.prefix + 'epoch');
    args.push(d ? (dirVersion === undefined ? '' : String(dirVersion)) : '-');
    for (const c of checks) args.push(c.kind === 'fixed' ? 'f' : 's', c.limit, c.windowMs, c.cost);
    const r = (await this.redis.kwAdmit(...args)) as number[];
    const ok = r[0] === 1;
    const result: AdmitResult = { ok, failed: r[1]!, retryAfterMs: r[2]!, now: r[3]!, remaining: ok ? r.slice(6) : [] };
    if (r[0] === 2) result.stale = true;
    this.noticeEpoch(String(r[5]));
    // A newer directory: wait until the local copy has caught up (so a stale answer is judged again on it).
    const behind = d?.seen(r[4]!);
    if (behind) await behind;
    return result;
  }

  /**
   * Settlements made in the same turn of the event loop go to Redis together, in one script call:
   * under load that is one round trip for many requests instead of one each.
   */
  adjust(adjustments: CounterAdjustment[]): Promise<void> {
    const list = adjustments.filter((a) => a.delta !== 0);
    if (list.length === 0) return Promise.resolve();
    for (const a of list) this.batch.push(a);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushBatch());
    return this.flushing;
  }

  private batch: CounterAdjustment[] = [];
  private flushing?: Promise<void>;

  private async flushBatch(): Promise<void> {
    const list = this.batch;
    this.batch = [];
    this.flushing = undefined;
    let i = 0;
    try {
      for (; i < list.length; i += 500) await this.write(list.slice(i, i + 500));
    } catch (err) {
      // Keep the corrections not written: they are replayed when Redis is back (bounded, oldest dropped first).
      this.pending.push(...list.slice(i));
      if (this.pending.length > 100_000) this.pending.splice(0, this.pending.length - 100_000);
      throw err;
    }
  }

  private async write(list: CounterAdjustment[]): Promise<void> {
    const args: Array<string | number> = [list.length];
    for (const a of list) args.push(this.prefix + a.key);
    for (const a of list) args.push(a.kind === 'fixed' ? 'f' : 's', a.windowMs, a.at, Math.round(a.delta));
    await this.redis.kwAdjust(...args);
  }

  private async replay(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, 500);
      try {
        await this.write(batch);
        this.pending.splice(0, batch.length);
      } catch {
        return;
      }
    }
  }

  async peek(key: string): Promise<number> {
    return Number((await this.redis.get(this.prefix + key)) ?? 0);
  }

  async once(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.prefix + key, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Settlements waiting for Redis to come back. */
  get pendingAdjustments(): number {
    return this.pending.length;
  }

  async close(): Promise<void> {
    clearInterval(this.epochTimer);
    if (this.pending.length > 0) await this.replay().catch(() => {});
    this.redis.disconnect();
  }
}

/** A Redis URL with any password masked, for messages. */
