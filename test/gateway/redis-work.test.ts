import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/store/redis.js';
import type { SharedWork } from '../../src/store/types.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('work any instance can take over, on a real redis-server', () => {
  let redis: TestRedis;
  let a: RedisCounters;
  let b: RedisCounters;
  let workA: SharedWork;
  let workB: SharedWork;

  beforeAll(async () => {
    redis = await startRedis();
    a = await RedisCounters.connect(redis.url);
    b = await RedisCounters.connect(redis.url);
    workA = a.sharedWork('job');
    workB = b.sharedWork('job');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('leaves an item with its owner while the lease is renewed, and lets another take it over once it lapses', async () => {
    await workA.put('j1', Buffer.from('{"n":1}'), 'A', 150, 60_000);
    expect(await workB.adopt('B', 150, 10)).toEqual([]);
    await sleep(80);
    expect(await workA.renew(['j1'], 'A', 150)).toEqual({ taken: [], missing: [] });
    await sleep(100);
    // Renewed 100 ms ago for 150: still A's.
    expect(await workB.adopt('B', 150, 10)).toEqual([]);
    await sleep(200);
    const taken = await workB.adopt('B', 150, 10);
    expect(taken.map((t) => [t.id, t.item.toString()])).toEqual([['j1', '{"n":1}']]);
    // A learns it no longer holds it; B does.
    expect(await workA.renew(['j1'], 'A', 150)).toEqual({ taken: ['j1'], missing: [] });
    expect(await workB.renew(['j1'], 'B', 150)).toEqual({ taken: [], missing: [] });
    // Nobody else can take it over while B renews.
    expect(await workA.adopt('A', 150, 10)).toEqual([]);
    // Done: removed, so that no later test finds it lapsed and takes it over.
    expect(await workB.finish('j1')).toBe('mine');
  });

  it('hands an item over at once when its owner releases it, and lets only one caller finish it', async () => {
    await workA.put('j2', Buffer.from('two'), 'A', 60_000, 60_000);
    // Another owner's release does nothing.
    await workB.release(['j2'], 'B');
    expect(await workB.adopt('B', 60_000, 10)).toEqual([]);
    await workA.release(['j2'], 'A');
    expect((await workB.adopt('B', 60_000, 10)).map((t) => t.id)).toEqual(['j2']);
    const finished = await Promise.all([workA.finish('j2'), workB.finish('j2')]);
    expect(finished.sort()).toEqual(['done', 'mine']);
    expect(await workB.renew(['j2'], 'B', 1000)).toEqual({ taken: [], missing: ['j2'] });
  });

  it('forgets an item whose lifetime ran out, and takes over at most as many as asked', async () => {
    await workA.put('short', Buffer.from('x'), 'A', 10, 50);
    for (let i = 0; i < 5; i++) await workA.put(`many${i}`, Buffer.from(String(i)), 'A', 10, 60_000);
    await sleep(120);
    // Three looked at (the expired one among them, dropped), then the rest.
    const first = await workB.adopt('B', 60_000, 3);
    expect(first.length).toBeLessThanOrEqual(3);
    const rest = await workB.adopt('B', 60_000, 10);
    expect([...first, ...rest].map((t) => t.id).sort()).toEqual(['many0', 'many1', 'many2', 'many3', 'many4']);
    expect(await workB.finish('short')).toBe('unknown');
  });

  it('tells an owner which of its items Redis lost (restarted empty), and that it knows nothing of them when they finish', async () => {
    await workA.put('j3', Buffer.from('three'), 'A', 60_000, 60_000);
    await workA.put('j4', Buffer.from('four'), 'A', 60_000, 60_000);
    await workA.finish('j4');
    const raw = new Redis(redis.url);
    try {
      await raw.flushall();
    } finally {
      raw.disconnect();
    }
    expect(await workA.renew(['j3'], 'A', 60_000)).toEqual({ taken: [], missing: ['j3'] });
    expect(await workA.finish('j3')).toBe('unknown');
    // What was finished before is not known as done any more either: Redis keeps nothing.
    expect(await workB.finish('j4')).toBe('unknown');
  });
});
