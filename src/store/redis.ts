/**
 * Counters shared by any number of gateway instances through one Redis. Each admission runs inside
 * one atomic Lua script call: every check is read, and only if all pass are all incremented, so a
 * limit of N admits exactly N across instances and a budget reservation can never race. Admissions
 * made in the same turn of the event loop share the call (one round trip for all of them).
 * The script reads Redis's own clock (TIME), so instances with skewed clocks still share windows.
 * Window keys are derived inside the script: use a single Redis (or one hash slot), not a cluster.
 * With a RedisDirectory watched, the same script also returns the user/token directory's version, so
 * an instance that missed a change notices it without another round trip.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './redis-connect.js';
import { redisSharedWork } from './redis-work.js';
import type { AdmitResult, CounterAdjustment, CounterCheck, Counters, SharedValues, SharedWork } from './types.js';

/**
 * One settlement: corrects a reservation to the real usage, but only a counter that is still there (a
 * Redis restarted empty has none to correct); a sliding window's bucket is the one reserved in (`at`).
 * A counter that exists has its lifetime already: admission and seeding give it one when they create it.
 */
const SETTLE_FN = `
local function settle(key, kind, win, at, delta)
  -- A lease: delta is the member to release.
  if kind == 'l' then
    redis.call('ZREM', key, delta)
    return
  end
  if kind == 's' then key = key .. ':' .. string.format('%d', math.floor(at / win)) end
  if redis.call('EXISTS', key) == 1 then
    local v = redis.call('INCRBY', key, delta)
    if v < 0 and kind == 's' then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
`;

/**
 * Admissions made in one turn of the event loop share one call (one write to Redis, one reply), each
 * still all-or-nothing and in the order made; the script runs atomically, so a limit shared by any
 * number of instances is still exact.
 * KEYS: the carried settlements' keys, then each admission's check keys, the directory's version key
 * (when watched), the epoch key. ARGV: [1] the directory flag, [2] the number of carried settlements m,
 * [3] the number of admissions, then m × 4 settlement arguments, then per admission: the directory
 * version its caller was judged at ('' for none), its number of checks, and 4 per check.
 * Returns now, the directory's version, the epoch, then per admission: status (1 admitted, 0 refused,
 * 2 stale: nothing counted), the failed check's index, the time until there is room, and what remains
 * of each check.
 */
const ADMIT = `${SETTLE_FN}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The last key holds the data's epoch: set when first seen, so a Redis that lost its data (restarted
-- empty, FLUSHALL) shows a new one, and the instances put the period's spend back from their ledgers.
local epoch = redis.call('GET', KEYS[#KEYS])
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[#KEYS], epoch)
end
-- Settlements of earlier requests ride along (one round trip for both); they apply whatever the
-- admissions' outcome, and before their checks, so the reservations they release are free for them.
local m = tonumber(ARGV[2])
for i = 1, m do
  local b = 4 + (i - 1) * 4
  settle(KEYS[i], ARGV[b], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), ARGV[b + 3])
end
-- ARGV[1] other than '-': the key before the epoch's is the user/token directory's version, returned
-- so a missed change is noticed. An admission whose caller was judged at an older version counts
-- nothing (status 2): the gateway judges the caller again first.
local ver = 0
local watched = ARGV[1] ~= '-'
if watched then ver = tonumber(redis.call('GET', KEYS[#KEYS - 1]) or '0') end

-- A sliding window's current and previous bucket suffixes, by window length: every admission in the
-- call shares TIME, and formatting a number into a key is the costliest step of a check.
local buckets = {}

-- One admission: n checks from key k0 + 1 and argument a0 on. Each check costs two calls: one read
-- (MGET of a sliding window's two buckets) and, once all pass, one INCRBY; a lifetime is set only on
-- the counter that INCRBY has just created.
local function admit(k0, a0, n, out)
  local rem = {}
  local ks = {}
  for i = 1, n do
    local b = a0 + (i - 1) * 4
    local k = KEYS[k0 + i]
    local kind = ARGV[b]
    local limit = tonumber(ARGV[b + 1])
    local win = tonumber(ARGV[b + 2])
    local cost = tonumber(ARGV[b + 3])
    local used
    if kind == 'l' then
      -- Members (requests in flight, addresses seen), each scored with the end of its lease; those past
      -- it no longer count, and one already held only has its lease renewed.
      ks[i] = k
      redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
      used = redis.call('ZCARD', k)
      if redis.call('ZSCORE', k, ARGV[b + 3]) then
        cost = 0
      else
        if used + 1 > limit then
          out[#out + 1] = 0; out[#out + 1] = i - 1; out[#out + 1] = 1000
          return
        end
        cost = 1
      end
    elseif kind == 'f' then
      ks[i] = k
      used = tonumber(redis.call('GET', k) or '0')
      if used + cost > limit then
        local pttl = redis.call('PTTL', k)
        if pttl < 0 then pttl = win end
        out[#out + 1] = 0; out[#out + 1] = i - 1; out[#out + 1] = pttl
        return
      end
    else
      local into = now % win
      local sfx = buckets[win]
      if not sfx then
        local w = math.floor(now / win)
        sfx = {':' .. string.format('%d', w), ':' .. string.format('%d', w - 1)}
        buckets[win] = sfx
      end
      ks[i] = k .. sfx[1]
      local got = redis.call('MGET', ks[i], k .. sfx[2])
      local cur = tonumber(got[1] or '0')
      local prev = tonumber(got[2] or '0')
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
        out[#out + 1] = 0; out[#out + 1] = i - 1; out[#out + 1] = retry
        return
      end
    end
    rem[i] = math.max(0, math.floor(limit - used - cost))
  end
  for i = 1, n do
    local b = a0 + (i - 1) * 4
    if ARGV[b] == 'l' then
      -- The cost slot carries the request's id; the set lives as long as its longest lease.
      local win = tonumber(ARGV[b + 2])
      redis.call('ZADD', ks[i], now + win, ARGV[b + 3])
      redis.call('PEXPIRE', ks[i], win)
    -- The cost as passed (a string): Redis formats a Lua number argument with sprintf, twice as slow.
    elseif redis.call('INCRBY', ks[i], ARGV[b + 3]) == tonumber(ARGV[b + 3]) then
      -- Just created (or at 0): a fixed counter lives for its period, a window's bucket while it can count.
      if ARGV[b] == 'f' then
        redis.call('PEXPIRE', ks[i], tonumber(ARGV[b + 2]))
      else
        redis.call('PEXPIRE', ks[i], tonumber(ARGV[b + 2]) * 2 + 1000)
      end
    end
  end
  out[#out + 1] = 1; out[#out + 1] = -1; out[#out + 1] = 0
  for i = 1, n do out[#out + 1] = rem[i] end
end

local out = {now, ver, epoch}
local k0 = m
local a = 4 + m * 4
for j = 1, tonumber(ARGV[3]) do
  local want = tonumber(ARGV[a])
  local n = tonumber(ARGV[a + 1])
  if watched and want and ver > want then
    out[#out + 1] = 2; out[#out + 1] = -1; out[#out + 1] = 0
  else
    admit(k0, a + 2, n, out)
  end
  k0 = k0 + n
  a = a + 2 + n * 4
end
return out
`;

const ADJUST = `${SETTLE_FN}
for i = 1, #KEYS do
  local b = (i - 1) * 4
  settle(KEYS[i], ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4])
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

const KIND_ARG = { sliding: 's', fixed: 'f', lease: 'l' } as const;

/** A settlement's four script arguments: a lease's release carries its member where others carry the delta. */
function pushSettlement(args: Array<string | number>, a: CounterAdjustment): void {
  args.push(KIND_ARG[a.kind], a.windowMs, a.at, a.kind === 'lease' ? a.member! : Math.round(a.delta));
}

/** How long a settlement waits for an admission to carry it to Redis. */
const SETTLE_DELAY_MS = 5;
const MAX_SETTLES_PER_CALL = 500;
const MAX_ADMISSIONS_PER_CALL = 200;

interface QueuedAdmission {
  checks: CounterCheck[];
  dirVersion: number | undefined;
  resolve(r: AdmitResult): void;
  reject(err: unknown): void;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<void>((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  // Callers that do not wait for the write must not see an unhandled rejection; those that wait still get it.
  d.promise.catch(() => {});
  return d;
}

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

  /** Values under `<prefix>value:`, on this connection (the response cache's `shared` mode); `onError` hears each failure. */
  sharedValues(onError: (err: unknown) => void = () => {}): SharedValues {
    const key = (k: string) => `${this.prefix}value:${k}`;
    return {
      get: async (k) => {
        try {
          return (await this.redis.getBuffer(key(k))) ?? undefined;
        } catch (err) {
          onError(err);
          return undefined;
        }
      },
      set: (k, value, ttlMs) => void this.redis.set(key(k), value, 'PX', ttlMs).catch(onError),
      delete: (k) => void this.redis.del(key(k)).catch(onError),
    };
  }

  /** Work of one kind under `<prefix>work:<kind>`, that any instance on this Redis can take over. */
  sharedWork(kind: string): SharedWork {
    return redisSharedWork(this.redis, `${this.prefix}work:${kind}`);
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

  /**
   * Also looks for a new epoch every `ms`, so an idle instance notices a Redis that lost its data;
   * `then` runs after each look that reached Redis.
   */
  watchEpoch(ms: number, then?: () => Promise<void>): void {
    clearInterval(this.epochTimer);
    this.epochTimer = setInterval(() => void this.checkEpoch().then(then).catch(() => {}), ms);
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

  /**
   * Queues the admission; those made in the same turn of the event loop go to Redis together (one
   * script call), with the settlements waiting by then.
   */
  admit(checks: CounterCheck[], dirVersion?: number): Promise<AdmitResult> {
    return new Promise<AdmitResult>((resolve, reject) => {
      this.admissions.push({ checks, dirVersion, resolve, reject });
      if (this.admissions.length === 1) setImmediate(this.sendAdmissions);
    });
  }

  private admissions: QueuedAdmission[] = [];

  private readonly sendAdmissions = (): void => {
    const all = this.admissions;
    this.admissions = [];
    for (let i = 0; i < all.length; i += MAX_ADMISSIONS_PER_CALL) void this.admitTogether(all.slice(i, i + MAX_ADMISSIONS_PER_CALL));
  };

  private async admitTogether(queued: QueuedAdmission[]): Promise<void> {
    const d = this.directory;
    const carried = this.takeBatch();
    const settles = carried?.list ?? [];
    let nkeys = settles.length + (d ? 2 : 1);
    for (const q of queued) nkeys += q.checks.length;
    const args: Array<string | number> = [nkeys];
    for (const a of settles) args.push(this.prefix + a.key);
    for (const q of queued) for (const c of q.checks) args.push(this.prefix + c.key);
    if (d) args.push(d.versionKey);
    args.push(this.prefix + 'epoch');
    args.push(d ? '1' : '-', settles.length, queued.length);
    for (const a of settles) pushSettlement(args, a);
    for (const q of queued) {
      args.push(q.dirVersion === undefined ? '' : String(q.dirVersion), q.checks.length);
      for (const c of q.checks) args.push(KIND_ARG[c.kind], c.limit, c.windowMs, c.kind === 'lease' ? c.member! : c.cost);
    }
    let r: Array<number | string>;
    try {
      r = await this.redis.kwAdmit(...args);
    } catch (err) {
      if (carried) this.unwritten(carried.written, settles, err);
      for (const q of queued) q.reject(err);
      return;
    }
    carried?.written.resolve();
    const now = r[0] as number;
    this.noticeEpoch(String(r[2]));
    // A newer directory: wait until the local copy has caught up (so a stale answer is judged again on it).
    const behind = d?.seen(r[1] as number);
    if (behind) await behind.catch(() => {});
    let at = 3;
    for (const q of queued) {
      const status = r[at];
      const ok = status === 1;
      const n = ok ? q.checks.length : 0;
      const result: AdmitResult = { ok, failed: r[at + 1] as number, retryAfterMs: r[at + 2] as number, now, remaining: ok ? (r.slice(at + 3, at + 3 + n) as number[]) : [] };
      if (status === 2) result.stale = true;
      at += 3 + n;
      q.resolve(result);
    }
  }

  /**
   * Settlements wait up to SETTLE_DELAY_MS for the next admission and ride in its script call; under
   * load (or one client after another) that makes one round trip a request instead of two. Those not
   * carried by then go together in one script call of their own. The promise settles when they are
   * written; a delay only keeps a reservation (the worst case) a few milliseconds longer, which can
   * refuse early but never overshoot.
   */
  adjust(adjustments: CounterAdjustment[]): Promise<void> {
    const list = adjustments.filter((a) => a.delta !== 0 || a.kind === 'lease');
    if (list.length === 0) return Promise.resolve();
    for (const a of list) this.batch.push(a);
    if (this.batchWritten === undefined) {
      this.batchWritten = deferred();
      this.batchTimer = setTimeout(() => void this.flushBatch().catch(() => {}), SETTLE_DELAY_MS);
    }
    return this.batchWritten.promise;
  }

  private batch: CounterAdjustment[] = [];
  private batchWritten?: Deferred;
  private batchTimer?: NodeJS.Timeout;

  /** The waiting settlements, for an admission to carry (not when too many for one call). */
  private takeBatch(): { list: CounterAdjustment[]; written: Deferred } | undefined {
    const written = this.batchWritten;
    if (written === undefined || this.batch.length > MAX_SETTLES_PER_CALL) return undefined;
    const list = this.batch;
    this.batch = [];
    this.batchWritten = undefined;
    clearTimeout(this.batchTimer);
    return { list, written };
  }

  private async flushBatch(): Promise<void> {
    const written = this.batchWritten;
    if (written === undefined) return;
    const list = this.batch;
    this.batch = [];
    this.batchWritten = undefined;
    clearTimeout(this.batchTimer);
    let i = 0;
    try {
      for (; i < list.length; i += MAX_SETTLES_PER_CALL) await this.write(list.slice(i, i + MAX_SETTLES_PER_CALL));
    } catch (err) {
      this.unwritten(written, list.slice(i), err);
      throw err;
    }
    written.resolve();
  }

  /** Keeps the corrections not written: they are replayed when Redis is back (bounded, oldest dropped first). */
  private unwritten(written: Deferred, rest: CounterAdjustment[], err: unknown): void {
    this.pending.push(...rest);
    if (this.pending.length > 100_000) this.pending.splice(0, this.pending.length - 100_000);
    written.reject(err);
  }

  private async write(list: CounterAdjustment[]): Promise<void> {
    const args: Array<string | number> = [list.length];
    for (const a of list) args.push(this.prefix + a.key);
    for (const a of list) pushSettlement(args, a);
    await this.redis.kwAdjust(...args);
  }

  private async replay(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, MAX_SETTLES_PER_CALL);
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

  reachable(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    clearInterval(this.epochTimer);
    await this.flushBatch().catch(() => {});
    if (this.pending.length > 0) await this.replay().catch(() => {});
    this.redis.disconnect();
  }
}

/** A Redis URL with any password masked, for messages. */
