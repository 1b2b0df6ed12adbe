/**
 * SharedWork on Redis: a sorted set of item ids scored by the end of their lease, a hash of whose each
 * is, and each item under its own key with a lifetime. Every step is one script, so two instances
 * never both take an item over, and only one removes it for good. Leases are timed by Redis's own
 * clock (`TIME`), not the instances', which may disagree.
 */
import type { Redis } from 'ioredis';
import type { SharedWork } from './types.js';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: leases, owners, item. ARGV: id, item, owner, leaseMs, ttlMs. */
const PUT = `${NOW}
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[5])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1`;

/** KEYS: leases, owners. ARGV: owner, leaseMs, item key prefix, ids…; returns 't:'..id for each held by another owner, 'm:'..id for each Redis no longer has. */
const RENEW = `${NOW}
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local who = redis.call('HGET', KEYS[2], id)
  if who == ARGV[1] and redis.call('ZSCORE', KEYS[1], id) and redis.call('EXISTS', ARGV[3] .. id) == 1 then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
  elseif who and who ~= ARGV[1] then
    out[#out + 1] = 't:' .. id
  else
    out[#out + 1] = 'm:' .. id
  end
end
return out`;

/** KEYS: leases, owners. ARGV: owner, leaseMs, max, item key prefix; returns id, item, id, item, … */
const ADOPT = `${NOW}
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local item = redis.call('GET', ARGV[4] .. id)
  if item then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[2], id, ARGV[1])
    out[#out + 1] = id
    out[#out + 1] = item
  else
    -- Its lifetime ran out: nothing is left to take over.
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return out`;

/** KEYS: leases, owners. ARGV: owner, ids…: the owner's leases end now. */
const RELEASE = `for i = 2, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
end
return 1`;

/**
 * KEYS: leases, owners, item, done mark. ARGV: id, markMs. 1 for the one call that removed the item
 * (it leaves a mark), 0 when another did (the mark is there), -1 when Redis knows nothing of it (it
 * lost its data).
 */
const FINISH = `local gone = redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if gone == 1 then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
  return 1
end
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
return -1`;

/** How long a finished item's mark says it was done (longer than any item lives). */
const DONE_MARK_MS = 7 * 24 * 60 * 60_000;

type WorkRedis = Redis & {
  kwWorkPut(...args: Array<string | number | Buffer>): Promise<number>;
  kwWorkRenew(...args: Array<string | number>): Promise<string[]>;
  kwWorkAdoptBuffer(...args: Array<string | number>): Promise<Buffer[]>;
  kwWorkRelease(...args: Array<string | number>): Promise<number>;
  kwWorkFinish(...args: Array<string | number>): Promise<number>;
};

const defined = new WeakSet<Redis>();

/** The work of one kind (`base`: its keys' prefix, as `kw:work:response`), on this connection. */
export function redisSharedWork(redis: Redis, base: string): SharedWork {
  const r = redis as WorkRedis;
  if (!defined.has(redis)) {
    defined.add(redis);
    r.defineCommand('kwWorkPut', { numberOfKeys: 3, lua: PUT });
    r.defineCommand('kwWorkRenew', { numberOfKeys: 2, lua: RENEW });
    r.defineCommand('kwWorkAdopt', { numberOfKeys: 2, lua: ADOPT });
    r.defineCommand('kwWorkRelease', { numberOfKeys: 2, lua: RELEASE });
    r.defineCommand('kwWorkFinish', { numberOfKeys: 4, lua: FINISH });
  }
  const leases = base;
  const owners = `${base}:owner`;
  const itemPrefix = `${base}:item:`;
  const donePrefix = `${base}:done:`;
  return {
    async put(id, item, owner, leaseMs, ttlMs) {
      await r.kwWorkPut(leases, owners, itemPrefix + id, id, item, owner, Math.ceil(leaseMs), Math.ceil(ttlMs));
    },
    async renew(ids, owner, leaseMs) {
      const taken: string[] = [];
      const missing: string[] = [];
      if (ids.length === 0) return { taken, missing };
      for (const x of await r.kwWorkRenew(leases, owners, owner, Math.ceil(leaseMs), itemPrefix, ...ids)) (x.startsWith('t:') ? taken : missing).push(x.slice(2));
      return { taken, missing };
    },
    async adopt(owner, leaseMs, max) {
      const flat = await r.kwWorkAdoptBuffer(leases, owners, owner, Math.ceil(leaseMs), max, itemPrefix);
      const out: Array<{ id: string; item: Buffer }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!.toString('utf8'), item: flat[i + 1]! });
      return out;
    },
    async release(ids, owner) {
      if (ids.length > 0) await r.kwWorkRelease(leases, owners, owner, ...ids);
    },
    async finish(id) {
      const n = await r.kwWorkFinish(leases, owners, itemPrefix + id, donePrefix + id, id, DONE_MARK_MS);
      return n === 1 ? 'mine' : n === 0 ? 'done' : 'unknown';
    },
  };
}
