import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { RedisCounters } from '../../src/store/redis.js';
import { RedisDirectory } from '../../src/store/redis-directory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { LedgerRow } from '../../src/store/types.js';
import { runKeyward } from '../helpers/cli.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const row = (userId: string, costUsd: number, extra: Partial<LedgerRow> = {}): LedgerRow => ({ ts: Date.now(), requestId: `r${Math.random()}`, userId, tokenId: 't', provider: 'openai', route: 'chat', model: 'gpt-4o-mini', tokensIn: 1, tokensOut: 1, costUsd, latencyMs: 1, status: 200, outcome: 'ok', ...extra });

describe('keyward budgets', () => {
  let dir: string;
  let db: string;
  let config: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-budgets-'));
    db = join(dir, 'keyward.db');
    config = join(dir, 'keyward.config.json');
    writeFileSync(config, JSON.stringify({ teams: { research: { budgetUsd: 10, softBudgetUsd: 5 }, unbudgeted: { rpm: 60 } }, globalBudget: { usd: 100, period: 'month' } }));
    const s = new SqliteStore(db);
    const alice = s.addUser('alice', { budgetUsd: 5, period: 'day', team: 'research' });
    const bob = s.addUser('bob', { softBudgetUsd: 2 });
    const carol = s.addUser('carol', { team: 'research' });
    s.append([
      row(alice.id, 4.5, { team: 'research' }),
      // Before this period: not counted.
      row(alice.id, 50, { ts: period('month').start - 1, team: 'research' }),
      row(bob.id, 3),
      row(carol.id, 1, { team: 'research' }),
    ]);
    s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists each user's, team's and the global budget with this period's spend from the ledger, the closest to its limit first", async () => {
    const r = await runKeyward(['budgets', '--db', db, '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const day = period('day').key.slice(1);
    const month = period('month').key.slice(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`budgets this period (from the ledger in ${db})`);
    expect(lines[1]).toMatch(/^kind\s+name\s+period\s+spent\s+budget\s+soft\s+used$/);
    expect(lines.slice(2).map((l) => l.split(/\s{2,}/))).toEqual([
      ['user', 'bob', `month ${month}`, '$3.0000', '—', '$2.00', '150%', 'soft budget passed'],
      ['user', 'alice', `day ${day}`, '$4.5000', '$5.00', '—', '90%'],
      ['team', 'research', `month ${month}`, '$5.5000', '$10.00', '$5.00', '55%', 'soft budget passed'],
      ['global', 'gateway', `month ${month}`, '$8.5000', '$100.00', '—', '9%'],
    ]);
  });

  it('says the same as JSON, and names what to do when there is no budget', async () => {
    const json = JSON.parse((await runKeyward(['budgets', '--db', db, '--config', config, '--json'])).stdout) as { budgets: Array<Record<string, unknown>> };
    expect(json.budgets[1]).toMatchObject({ kind: 'user', name: 'alice', spentUsd: 4.5, budgetUsd: 5, usedPercent: 90, status: 'ok' });
    expect(json.budgets.map((b) => b.name)).toEqual(['bob', 'alice', 'research', 'gateway']);
    const empty = join(dir, 'empty.db');
    new SqliteStore(empty).close();
    expect((await runKeyward(['budgets', '--db', empty])).stdout).toMatch(/^no budgets: give one with 'keyward users set <name> --budget-usd 5'/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ teams: { 'no spaces': { budgetUsd: 1 } } }));
    const refused = await runKeyward(['budgets', '--db', db, '--config', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/invalid team name 'no spaces'/);
  });
});

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('keyward budgets --redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("reads the instances' shared totals, what requests in flight reserved included", async () => {
    const users = await RedisDirectory.connect(redis.url, { subscribe: false });
    const counters = await RedisCounters.connect(redis.url);
    try {
      const u = users.addUser('dana', { budgetUsd: 2, period: 'day' });
      await users.flush();
      const per = period('day');
      // What the gateways admitted against dana's budget: $1.50.
      expect((await counters.admit([{ key: `b:u:${u.id}:${per.key}`, kind: 'fixed', limit: 2e9, windowMs: per.remainingMs, cost: 1.5e9 }])).ok).toBe(true);
    } finally {
      users.close();
      await counters.close();
    }
    const r = await runKeyward(['budgets', '--redis', redis.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^budgets this period \(from the instances' shared totals in Redis, requests in flight included at what they reserved\)$/m);
    expect(r.stdout).toMatch(/^user\s+dana\s+day \d{8}\s+\$1\.5000\s+\$2\.00\s+—\s+75%$/m);
  });
});
