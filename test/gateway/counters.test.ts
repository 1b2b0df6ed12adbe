import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCounters } from '../../src/store/memory.js';
import type { Redis } from 'ioredis';
import { RedisCounters } from '../../src/store/redis.js';
import type { CounterCheck, Counters } from '../../src/store/types.js';
import { hasProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

// The same contract for every store (DESIGN.md: the tests run both).
const stores: Array<[string, () => Promise<Counters>]> = [['memory', async () => new MemoryCounters()]];
let redis: TestRedis | undefined;
if (hasProgram('redis-server')) stores.push(['redis', async () => RedisCounters.connect(redis!.url, { prefix: `t${Math.random().toString(36).slice(2, 8)}:` })]);

beforeAll(async () => {
  if (hasProgram('redis-server')) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(stores)('counters on %s', (_name, make) => {
  let c: Counters;
  beforeAll(async () => {
    c = await make();
  });
  afterAll(() => c.close());

  const rpm = (key: string, limit: number, cost = 1): CounterCheck => ({ key, kind: 'sliding', limit, windowMs: 60_000, cost });
  const budget = (key: string, limit: number, cost: number): CounterCheck => ({ key, kind: 'fixed', limit, windowMs: 3_600_000, cost });

  it('admits up to the limit, then refuses with the time until there is room', async () => {
    for (let i = 0; i < 3; i++) expect((await c.admit([rpm('a', 3)])).ok).toBe(true);
    const r = await c.admit([rpm('a', 3)]);
    expect(r.ok).toBe(false);
    expect(r.failed).toBe(0);
    expect(r.retryAfterMs).toBeGreaterThan(0);
    expect(r.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('applies all checks or none: a refused budget leaves the rate counter untouched', async () => {
    expect((await c.admit([rpm('b', 10), budget('bb', 100, 60)])).ok).toBe(true);
    const r = await c.admit([rpm('b', 10), budget('bb', 100, 60)]);
    expect(r).toMatchObject({ ok: false, failed: 1 });
    const after = await c.admit([rpm('b', 10)]);
    expect(after.remaining[0]).toBe(8);
  });

  it('reports what remains after each admission', async () => {
    const r = await c.admit([rpm('c', 10, 4), budget('cb', 1000, 250)]);
    expect(r.remaining).toEqual([6, 750]);
  });

  it('settles a reservation down to the real amount, freeing the difference', async () => {
    const r = await c.admit([budget('d', 100, 90)]);
    expect((await c.admit([budget('d', 100, 20)])).ok).toBe(false);
    await c.adjust([{ key: 'd', kind: 'fixed', windowMs: 3_600_000, at: r.now, delta: -80 }]);
    expect(await c.peek('d')).toBe(10);
    expect((await c.admit([budget('d', 100, 20)])).ok).toBe(true);
    const t = await c.admit([rpm('dt', 100, 90)]);
    await c.adjust([{ key: 'dt', kind: 'sliding', windowMs: 60_000, at: t.now, delta: -85 }]);
    expect((await c.admit([rpm('dt', 100, 90)])).ok).toBe(true);
  });

  it('says yes to `once` only the first time in its period', async () => {
    expect(await c.once('alert:x', 10_000)).toBe(true);
    expect(await c.once('alert:x', 10_000)).toBe(false);
  });

  it('never admits past the limit under concurrent admissions', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => c.admit([rpm('e', 17)])));
    expect(results.filter((r) => r.ok)).toHaveLength(17);
  });

  const inFlight = (key: string, limit: number, member: string, leaseMs = 60_000): CounterCheck => ({ key, kind: 'lease', limit, windowMs: leaseMs, cost: 1, member });
  const release = (key: string, member: string) => c.adjust([{ key, kind: 'lease', member, windowMs: 60_000, at: Date.now(), delta: -1 }]);

  it('holds requests in flight up to the limit, frees a place when one is released, and counts each release once', async () => {
    expect(await c.admit([inFlight('p', 2, 'r1')])).toMatchObject({ ok: true, remaining: [1] });
    expect(await c.admit([inFlight('p', 2, 'r2')])).toMatchObject({ ok: true, remaining: [0] });
    expect(await c.admit([inFlight('p', 2, 'r3')])).toMatchObject({ ok: false, failed: 0, retryAfterMs: 1000 });
    await release('p', 'r1');
    // Released twice (a settlement replayed after Redis came back): still one place, not two.
    await release('p', 'r1');
    expect((await c.admit([inFlight('p', 2, 'r3')])).ok).toBe(true);
    expect((await c.admit([inFlight('p', 2, 'r4')])).ok).toBe(false);
  });

  it('frees the place of a request never released once its lease runs out (its instance died)', async () => {
    expect((await c.admit([inFlight('q', 1, 'lost', 150)])).ok).toBe(true);
    expect((await c.admit([inFlight('q', 1, 'next', 150)])).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect((await c.admit([inFlight('q', 1, 'next', 150)])).ok).toBe(true);
  });

  it('takes no place when another check of the same admission refuses', async () => {
    expect((await c.admit([inFlight('s', 1, 'a'), budget('sb', 10, 50)])).ok).toBe(false);
    expect((await c.admit([inFlight('s', 1, 'b')])).ok).toBe(true);
  });

  it('counts a member once: one already held (an address seen again) is admitted at the limit, its lease renewed', async () => {
    expect(await c.admit([inFlight('ips', 2, '10.0.0.1', 1000)])).toMatchObject({ ok: true, remaining: [1] });
    expect(await c.admit([inFlight('ips', 2, '10.0.0.2', 1000)])).toMatchObject({ ok: true, remaining: [0] });
    expect(await c.admit([inFlight('ips', 2, '10.0.0.1', 1000)])).toMatchObject({ ok: true, remaining: [0] });
    expect((await c.admit([inFlight('ips', 2, '10.0.0.3', 1000)])).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    // Renewed now, the first address is still held after the second's lease has ended.
    expect((await c.admit([inFlight('ips', 2, '10.0.0.1', 1000)])).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect(await c.admit([inFlight('ips', 2, '10.0.0.3', 1000)])).toMatchObject({ ok: true, remaining: [0] });
  });

  it('never holds more than the limit in flight under concurrent admissions', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => c.admit([inFlight('t', 7, `m${i}`)])));
    expect(results.filter((r) => r.ok)).toHaveLength(7);
  });
});

describe('memory counters', () => {
  it('forget counters of windows long past, so many client addresses do not grow memory forever', async () => {
    const c = new MemoryCounters();
    for (let i = 0; i < 5000; i++) c.admit([{ key: `ip:${i}`, kind: 'sliding', limit: 10, windowMs: 1, cost: 1 }]);
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 5000; i++) c.admit([{ key: 'steady', kind: 'sliding', limit: 1e9, windowMs: 60_000, cost: 1 }]);
    expect(c.size).toBeLessThan(10);
  });
});

/** Counters under `prefix` and a plain client on the same Redis, both closed after `fn`. */
async function withRedisCounters(prefix: string, fn: (c: RedisCounters, raw: Redis) => Promise<void>): Promise<void> {
  const { Redis } = await import('ioredis');
  const c = await RedisCounters.connect(redis!.url, { prefix });
  const raw = new Redis(redis!.url);
  try {
    await fn(c, raw);
  } finally {
    raw.disconnect();
    await c.close();
  }
}

/** Script calls Redis has run, by hash or (the first time, after NOSCRIPT) whole. */
async function scriptCalls(raw: Redis): Promise<number> {
  const info = await raw.info('commandstats');
  return ['evalsha', 'eval'].reduce((n, cmd) => n + Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0), 0);
}

describe.skipIf(!hasProgram('redis-server'))('redis counters', () => {
  it('send the admissions made in one turn in one script call, each all or nothing, in the order made', async () => {
    await withRedisCounters('together:', async (c, raw) => {
      const rpm = (cost: number): CounterCheck => ({ key: 'rpm', kind: 'sliding', limit: 10, windowMs: 60_000, cost });
      const spend = (cost: number): CounterCheck => ({ key: 'spend', kind: 'fixed', limit: 100, windowMs: 3_600_000, cost });
      await c.admit([]);
      const before = await scriptCalls(raw);
      const rs = await Promise.all([c.admit([rpm(4), spend(50)]), c.admit([rpm(4), spend(60)]), c.admit([rpm(4), spend(50)]), c.admit([rpm(4)]), c.admit([rpm(2)])]);
      expect((await scriptCalls(raw)) - before).toBe(1);
      expect(rs.map((r) => r.ok)).toEqual([true, false, true, false, true]);
      // The second is refused on its budget and counts nothing, so the third still fits both.
      expect(rs[1]).toMatchObject({ failed: 1, remaining: [] });
      expect(rs[3]).toMatchObject({ failed: 0 });
      expect(rs[3]!.retryAfterMs).toBeGreaterThan(0);
      expect(rs.map((r) => r.remaining)).toEqual([[6, 50], [], [2, 0], [], [0]]);
      expect(await c.peek('spend')).toBe(100);

      // With a directory watched, an admission judged at an older version counts nothing; the others in the call count.
      await raw.set('together:dir', '5');
      c.watchDirectory({ versionKey: 'together:dir', seen: () => undefined });
      const one = (): CounterCheck[] => [{ key: 'n', kind: 'fixed', limit: 10, windowMs: 60_000, cost: 1 }];
      const [old, current, unjudged] = await Promise.all([c.admit(one(), 4), c.admit(one(), 5), c.admit(one())]);
      expect(old).toMatchObject({ ok: false, stale: true });
      expect(current).toMatchObject({ ok: true, remaining: [9] });
      expect(unjudged).toMatchObject({ ok: true, remaining: [8] });
      expect(await c.peek('n')).toBe(2);
      expect((await scriptCalls(raw)) - before).toBe(2);

      // More than one call holds (200 admissions a call): still exact across the calls.
      const many = await Promise.all(Array.from({ length: 450 }, () => c.admit([{ key: 'many', kind: 'fixed', limit: 300, windowMs: 60_000, cost: 1 }])));
      expect((await scriptCalls(raw)) - before).toBe(5);
      expect(many.filter((r) => r.ok)).toHaveLength(300);
      expect(many.slice(0, 300).every((r) => r.ok)).toBe(true);
      expect(await c.peek('many')).toBe(300);
    });
  });

  it('write settlements still waiting for an admission when they are closed', async () => {
    const c = await RedisCounters.connect(redis!.url, { prefix: 'closing:' });
    const r = await c.admit([{ key: 'spend', kind: 'fixed', limit: 1000, windowMs: 3_600_000, cost: 100 }]);
    void c.adjust([{ key: 'spend', kind: 'fixed', windowMs: 3_600_000, at: r.now, delta: -60 }]);
    await c.close();
    const other = await RedisCounters.connect(redis!.url, { prefix: 'closing:' });
    try {
      expect(await other.peek('spend')).toBe(40);
    } finally {
      await other.close();
    }
  });

  it('give every counter they create a lifetime, and keep it through later admissions and settlements', async () => {
    await withRedisCounters('life:', async (c, raw) => {
    const checks: CounterCheck[] = [
      // An hour's window, so that both admissions below fall in the same bucket.
      { key: 'rph', kind: 'sliding', limit: 100, windowMs: 3_600_000, cost: 1 },
      { key: 'spend', kind: 'fixed', limit: 1000, windowMs: 3_600_000, cost: 100 },
    ];
    const first = await c.admit(checks);
    const bucket = `life:rph:${Math.floor(first.now / 3_600_000)}`;
    const ttls = async () => [await raw.pttl(bucket), await raw.pttl('life:spend')];
    const [b1, s1] = await ttls();
    // A bucket counts in its own window and the next: two windows and a second.
    expect(b1).toBeGreaterThan(7_190_000);
    expect(b1).toBeLessThanOrEqual(7_201_000);
    expect(s1).toBeGreaterThan(3_590_000);
    expect(s1).toBeLessThanOrEqual(3_600_000);
    const second = await c.admit(checks);
    await c.adjust([
      { key: 'rph', kind: 'sliding', windowMs: 3_600_000, at: second.now, delta: -5 },
      { key: 'spend', kind: 'fixed', windowMs: 3_600_000, at: second.now, delta: -150 },
    ]);
    expect(await raw.get(bucket)).toBe('0');
    expect(await c.peek('spend')).toBe(50);
    const [b2, s2] = await ttls();
    expect(b2).toBeGreaterThan(0);
    expect(b2).toBeLessThanOrEqual(b1);
    expect(s2).toBeGreaterThan(0);
    expect(s2).toBeLessThanOrEqual(s1);
    });
  });

  it('send waiting settlements in one script call, their own or the next admission\'s, and apply every one', async () => {
    await withRedisCounters('batch:', async (c, raw) => {
    expect((await c.admit([{ key: 'spend', kind: 'fixed', limit: 1e12, windowMs: 3_600_000, cost: 1000 }])).ok).toBe(true);
    const evals = () => scriptCalls(raw);
    const before = await evals();
    // 50 requests settle at once, each giving back 10 of what it reserved.
    await Promise.all(Array.from({ length: 50 }, () => c.adjust([{ key: 'spend', kind: 'fixed', windowMs: 3_600_000, at: Date.now(), delta: -10 }])));
    expect((await evals()) - before).toBe(1);
    expect(await c.peek('spend')).toBe(500);

    // Settlements waiting when the next admission goes out ride in its script call, before its checks.
    const settled = Promise.all(Array.from({ length: 50 }, () => c.adjust([{ key: 'spend', kind: 'fixed', windowMs: 3_600_000, at: Date.now(), delta: -10 }])));
    const next = await c.admit([{ key: 'spend', kind: 'fixed', limit: 100, windowMs: 3_600_000, cost: 100 }]);
    await settled;
    expect((await evals()) - before).toBe(2);
    // 500 given back to 0 before the check: the limit of 100 has room for this 100.
    expect(next.ok).toBe(true);
    expect(await c.peek('spend')).toBe(100);

    // A refused admission still applies what it carries, to a sliding window's bucket too.
    const tpm = await c.admit([{ key: 'tpm', kind: 'sliding', limit: 1000, windowMs: 60_000, cost: 100 }]);
    const last = c.adjust([
      { key: 'spend', kind: 'fixed', windowMs: 3_600_000, at: Date.now(), delta: -30 },
      { key: 'tpm', kind: 'sliding', windowMs: 60_000, at: tpm.now, delta: -60 },
    ]);
    expect((await c.admit([{ key: 'spend', kind: 'fixed', limit: 100, windowMs: 3_600_000, cost: 500 }])).ok).toBe(false);
    await last;
    expect((await evals()) - before).toBe(4);
    expect(await c.peek('spend')).toBe(70);
    expect(await c.peek(`tpm:${Math.floor(tpm.now / 60_000)}`)).toBe(40);
    });
  });
});
