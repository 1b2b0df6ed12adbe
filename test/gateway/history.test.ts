import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/tokens.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { RedisDirectory } from '../../src/store/redis-directory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Directory } from '../../src/store/types.js';
import { runKeyward } from '../helpers/cli.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

/** The same changes through any directory, and what its history must then say. */
async function changeAndRead(dir: Directory, flush: () => Promise<void> = async () => {}) {
  const start = Date.now();
  dir.actor = 'ops@laptop';
  dir.addUser('hana', { rpm: 60, budgetUsd: 5, period: 'day', team: 'research' });
  expect(dir.getUser('hana')).toMatchObject({ rpm: 60, team: 'research' });
  dir.setUser('hana', { budgetUsd: 50, rpm: null, team: 'docs' });
  expect(dir.getUser('hana')).toMatchObject({ budgetUsd: 50, team: 'docs' });
  dir.actor = 'gateway@gw-1';
  dir.setDisabled('hana', true, 'anomaly: 900 requests in a minute');
  dir.actor = 'ops@laptop';
  dir.setDisabled('hana', false);
  const { record } = issueToken(dir, 'hana', { scopes: ['app'], expiresAt: Date.UTC(2030, 0, 1) });
  dir.expireToken(record.id, Date.UTC(2029, 0, 1));
  dir.revokeToken(record.id);
  await flush();
  const events = await dir.history(start);
  expect(events.map((e) => [e.actor, e.action, e.target, e.detail])).toEqual([
    ['ops@laptop', 'user.add', 'hana', 'rpm=60 budgetUsd=5 period=day team=research'],
    ['ops@laptop', 'user.set', 'hana', 'budgetUsd=50 rpm=none team=docs'],
    ['gateway@gw-1', 'user.disable', 'hana', 'anomaly: 900 requests in a minute'],
    ['ops@laptop', 'user.enable', 'hana', undefined],
    ['ops@laptop', 'token.issue', record.id, 'user=hana scopes=app expires=2030-01-01T00:00:00.000Z'],
    ['ops@laptop', 'token.expire', record.id, 'until=2029-01-01T00:00:00.000Z'],
    ['ops@laptop', 'token.revoke', record.id, undefined],
  ]);
  for (const e of events) expect(e.ts).toBeGreaterThanOrEqual(start);
  expect(await dir.history(start, 2)).toHaveLength(2);
  expect(await dir.history(Date.now() + 60_000)).toEqual([]);
  // A change refused records nothing, and changes nothing.
  expect(() => dir.addUser('hana', {})).toThrow(/already exists/);
  expect(() => dir.addUser('ivo', { team: 'a team' })).toThrow(/invalid team name 'a team'/);
  expect(() => dir.setUser('hana', { team: 'a:b', rpm: 5 })).toThrow(/invalid team name 'a:b'/);
  expect(dir.getUser('hana')).toMatchObject({ team: 'docs' });
  expect(dir.getUser('hana')).not.toHaveProperty('rpm');
  expect(dir.getUser('ivo')).toBeUndefined();
  await flush();
  expect(await dir.history(start)).toHaveLength(7);
}

describe('the history of changes to users and tokens', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kw-history-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('in memory', async () => {
    await changeAndRead(new MemoryDirectory());
  });

  it('in SQLite, with each change in the same transaction as its record, kept across a reopen', async () => {
    const file = join(tmp, 'h.db');
    const store = new SqliteStore(file);
    try {
      await changeAndRead(store);
    } finally {
      store.close();
    }
    const again = new SqliteStore(file);
    try {
      expect((await again.history(0)).map((e) => e.action)).toHaveLength(7);
      expect(again.getUser('hana')).toMatchObject({ budgetUsd: 50, team: 'docs' });
      expect(again.getUser('hana')).not.toHaveProperty('rpm');
    } finally {
      again.close();
    }
  });

  it('`keyward history` shows who changed what, from the CLI, for one user or all, as text or JSON', async () => {
    const db = join(tmp, 'cli.db');
    const me = `${userInfo().username}@${hostname()}`;
    for (const args of [['users', 'add', 'ivo', '--rpm', '5'], ['users', 'add', 'jan'], ['users', 'set', 'ivo', '--budget-usd', '2', '--period', 'day'], ['users', 'disable', 'ivo']]) {
      const r = await runKeyward([...args, '--db', db]);
      expect(r.code, r.stderr).toBe(0);
    }
    const id = (await runKeyward(['tokens', 'issue', 'ivo', '--db', db])).stdout.trim().slice(3, 15);
    await runKeyward(['tokens', 'revoke', id, '--db', db]);
    const all = await runKeyward(['history', '--db', db]);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(l).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z  ${me.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  `));
    expect(lines[2]).toMatch(/user\.set {2}ivo {2}budgetUsd=2 period=day$/);
    expect(lines[5]).toMatch(new RegExp(`token\\.revoke  ${id}$`));
    const ivo = await runKeyward(['history', '--user', 'ivo', '--json', '--db', db]);
    const changes = JSON.parse(ivo.stdout).changes as Array<{ action: string }>;
    expect(changes.map((c) => c.action)).toEqual(['user.add', 'user.set', 'user.disable', 'token.issue', 'token.revoke']);
    expect((await runKeyward(['history', '--since', '1m', '--user', 'nobody', '--db', db])).stderr).toMatch(/no user 'nobody'/);
    expect((await runKeyward(['history', '--limit', '0', '--db', db])).code).toBe(2);
    // The token itself is never in the history.
    expect(all.stdout).not.toMatch(/kw_/);
  });
});

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('the history of changes in a shared Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('records each change Redis took, readable from any machine', async () => {
    const a = await RedisDirectory.connect(redis.url, { subscribe: false });
    try {
      await changeAndRead(a, () => a.flush().catch(() => {}));
    } finally {
      a.close();
    }
    const b = await RedisDirectory.connect(redis.url, { subscribe: false });
    try {
      expect((await b.history(0)).map((e) => e.action)).toEqual(['user.add', 'user.set', 'user.disable', 'user.enable', 'token.issue', 'token.expire', 'token.revoke']);
      // Another machine's copy has the user's team as changed.
      expect(b.getUser('hana')).toMatchObject({ budgetUsd: 50, team: 'docs' });
      expect(b.getUser('hana')).not.toHaveProperty('rpm');
    } finally {
      b.close();
    }
  });
});
