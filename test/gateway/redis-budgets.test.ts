import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, keepSharedBudgets } from '../../src/gateway/index.js';
import { period } from '../../src/gateway/budget.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { LedgerRow } from '../../src/store/types.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { until } from './helpers/http.js';

const NANO = 1e9;

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('budgets in a shared Redis that loses its data', () => {
  let redis: TestRedis;
  let dir: string;
  const users = new MemoryDirectory();
  const ledgers: SqliteStore[] = [];
  const counters: RedisCounters[] = [];
  const lines: string[] = [];
  const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
  let key: string;

  const row = (userId: string, costUsd: number, team = 'ops'): LedgerRow => ({ ts: Date.now(), requestId: `r${Math.random()}`, userId, tokenId: 't', provider: 'openai', route: 'chat', model: 'gpt-4o-mini', tokensIn: 1, tokensOut: 1, costUsd, latencyMs: 1, status: 200, outcome: 'ok', team });
  async function instance(ledger: SqliteStore, checkEveryMs: number, teams?: () => ReadonlyMap<string, { period?: 'day' | 'month' }>): Promise<RedisCounters> {
    const c = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
    counters.push(c);
    await keepSharedBudgets({ counters: c, ledger, users: () => users.listUsers(), log, checkEveryMs, ...(teams ? { teams } : {}) });
    return c;
  }
  const spent = async (k = key) => Number((await counters[0]!.peek(k)) ?? 0) / NANO;
  /** The team's spend, counted whatever its period in the config, since that can change. */
  const teamSpent = async () => [await spent(`b:t:ops:${period('day').key}`), await spent(`b:t:ops:${period('month').key}`)];

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-budgets-'));
    const u = users.addUser('spender', { budgetUsd: 5, period: 'day' });
    key = `b:u:${u.id}:${period('day').key}`;
    // Two machines, each with its own ledger of what it billed today.
    for (const [i, usd] of [0.3, 0.2].entries()) {
      const l = new SqliteStore(join(dir, `machine-${i}.db`));
      l.append([row(u.id, usd)]);
      ledgers.push(l);
    }
  });
  afterAll(async () => {
    for (const c of counters) await c.close();
    for (const l of ledgers) l.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds each instance's ledger spend once when it first meets a Redis, and not again when it restarts", async () => {
    await instance(ledgers[0]!, 50);
    await instance(ledgers[1]!, 60_000);
    expect(await spent()).toBeCloseTo(0.5, 9);
    // Machine A restarts: its file already went into this Redis.
    await instance(ledgers[0]!, 60_000);
    expect(await spent()).toBeCloseTo(0.5, 9);
    expect((await teamSpent()).map((x) => x.toFixed(9))).toEqual(['0.500000000', '0.500000000']);
  });

  it('puts the whole spend back after Redis loses its data: an idle instance by its periodic look, a busy one on its next admission', async () => {
    const raw = new Redis(redis.url);
    try {
      await raw.flushall();
    } finally {
      raw.disconnect();
    }
    // Machine A looks every 50 ms.
    await until("machine A's share is back", async () => (await spent()) >= 0.3 - 1e-9);
    expect(await spent()).toBeCloseTo(0.3, 9);
    // Machine B looks only every minute, but its next admission sees the new epoch.
    await counters[1]!.admit([{ key: 'ip:127.0.0.1:rpm', kind: 'sliding', limit: 100, windowMs: 60_000, cost: 1 }]);
    await until("machine B's share is back", async () => (await spent()) >= 0.5 - 1e-9);
    expect(await spent()).toBeCloseTo(0.5, 9);
    await until("the team's spend is back", async () => (await teamSpent()).every((x) => x >= 0.5 - 1e-9));
    expect((await teamSpent()).map((x) => x.toFixed(9))).toEqual(['0.500000000', '0.500000000']);
    expect(lines.some((l) => l.includes('Redis lost its data'))).toBe(true);
  });

  it("counts, for a budget given to a user who has been spending, every instance's earlier spend this period, once", async () => {
    // Two more machines, each looking every 50 ms; 'late' spent $0.25 on one and $0.15 on the other before having a budget.
    const late = users.addUser('late', {});
    const lateKey = `b:u:${late.id}:${period('month').key}`;
    const more: RedisCounters[] = [];
    for (const [i, usd] of [0.25, 0.15].entries()) {
      const l = new SqliteStore(join(dir, `machine-late-${i}.db`));
      l.append([row(late.id, usd)]);
      ledgers.push(l);
      more.push(await instance(l, 50));
    }
    expect(await more[0]!.peek(lateKey)).toBe(0);
    users.setUser('late', { budgetUsd: 1, period: 'month' });
    await until('both shares are in', async () => Number(await more[0]!.peek(lateKey)) / NANO >= 0.4 - 1e-9);
    // A few more looks add nothing more.
    await new Promise((r) => setTimeout(r, 200));
    expect(Number(await more[0]!.peek(lateKey)) / NANO).toBeCloseTo(0.4, 9);
    expect(lines.some((l) => l.includes('budgets given or changed since the last look'))).toBe(true);
  });

  it('adds the earlier spend of an instance that was stopped when the budget was given, when it starts again', async () => {
    const absent = users.addUser('absent', {});
    const absentKey = `b:u:${absent.id}:${period('day').key}`;
    const l = new SqliteStore(join(dir, 'machine-stopped.db'));
    l.append([row(absent.id, 0.3)]);
    ledgers.push(l);
    const first = await instance(l, 50);
    await first.close();
    // Given while that instance is stopped: the running ones have no spend of this user to add.
    users.setUser('absent', { budgetUsd: 1, period: 'day' });
    await new Promise((r) => setTimeout(r, 150));
    expect(Number(await counters[0]!.peek(absentKey))).toBe(0);
    await instance(l, 50);
    await until("the stopped instance's share is in", async () => Number(await counters[0]!.peek(absentKey)) / NANO >= 0.3 - 1e-9);
    // Starting again adds nothing more, however many looks it makes.
    const again = await instance(l, 50);
    await new Promise((r) => setTimeout(r, 200));
    expect(Number(await counters[0]!.peek(absentKey)) / NANO).toBeCloseTo(0.3, 9);
    await again.close();
  });

  it("starts a user's counter for a new period (month to day) from every instance's spend of that day, once", async () => {
    const u = users.addUser('switch', { budgetUsd: 10, period: 'month' });
    const dayKey = `b:u:${u.id}:${period('day').key}`;
    const more: RedisCounters[] = [];
    for (const [i, usd] of [0.1, 0.2].entries()) {
      const l = new SqliteStore(join(dir, `machine-switch-${i}.db`));
      l.append([row(u.id, usd)]);
      ledgers.push(l);
      more.push(await instance(l, 50));
    }
    await new Promise((r) => setTimeout(r, 150));
    expect(await more[0]!.peek(dayKey)).toBe(0);
    users.setUser('switch', { budgetUsd: 0.5, period: 'day' });
    await until("both instances' spend of the day is in", async () => Number(await more[0]!.peek(dayKey)) / NANO >= 0.3 - 1e-9);
    await new Promise((r) => setTimeout(r, 200));
    expect(Number(await more[0]!.peek(dayKey)) / NANO).toBeCloseTo(0.3, 9);
  });

  it("starts a team's counter for a new period from every instance's spend of its members, when the config changes it", async () => {
    const teams = new Map<string, { period?: 'day' | 'month' }>([['crew', { period: 'month' }]]);
    const dayKey = `b:t:crew:${period('day').key}`;
    const more: RedisCounters[] = [];
    for (const [i, usd] of [0.05, 0.07].entries()) {
      const l = new SqliteStore(join(dir, `machine-crew-${i}.db`));
      ledgers.push(l);
      more.push(await instance(l, 50, () => teams));
      // Spent once the instance runs: counted by its admissions under the team's month, not yet by any day.
      l.append([row(`u_crew${i}`, usd, 'crew')]);
    }
    await new Promise((r) => setTimeout(r, 150));
    expect(await more[0]!.peek(dayKey)).toBe(0);
    teams.set('crew', { period: 'day' });
    await until("both instances' team spend of the day is in", async () => Number(await more[0]!.peek(dayKey)) / NANO >= 0.12 - 1e-9);
    await new Promise((r) => setTimeout(r, 200));
    expect(Number(await more[0]!.peek(dayKey)) / NANO).toBeCloseTo(0.12, 9);
  });
});
