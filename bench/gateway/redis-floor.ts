/**
 * The least an exact shared limit can add: one admission round trip to Redis, measured from this
 * process at concurrency 1 with the checks the bench's user makes (per-user and per-IP requests,
 * tokens per minute, the user's and the global budget), beside a bare PING. Limits and budgets that
 * must hold exactly across instances cannot skip a round trip: the PING is the floor for any exact
 * shared limit, the admission what keyward's script and client make of it; both are set against the
 * room the 1.5× target leaves over a bare proxy.
 */
import { Redis } from 'ioredis';
import { plan } from '../../src/gateway/policy.js';
import { RedisCounters } from '../../src/store/redis.js';
import type { UserRecord } from '../../src/store/types.js';

export interface RedisFloor {
  pingMs: number;
  admitMs: number;
}

const N = 3000;

async function p50(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return ms[N >> 1]!;
}

export async function redisFloor(url: string): Promise<RedisFloor> {
  const user: UserRecord = { id: 'floor', name: 'floor', disabled: false, createdAt: 0, rpm: 1e7, rpd: 1e8, tpm: 1e9, budgetUsd: 1e6, softBudgetUsd: 9e5, period: 'day' };
  const ping = new Redis(url);
  const counters = await RedisCounters.connect(url);
  try {
    const pingMs = await p50(() => ping.ping());
    let n = 0;
    const admitMs = await p50(() => counters.admit(plan(user, '127.0.0.1', { rpm: 1e7 }, { usd: 1e7, period: 'month' }, 76, 0.0001, Date.now(), `floor-${n++}`).checks));
    return { pingMs, admitMs };
  } finally {
    ping.disconnect();
    await counters.close();
  }
}
