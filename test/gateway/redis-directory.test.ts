import { request } from 'node:http';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { RedisCounters } from '../../src/store/redis.js';
import { RedisDirectory } from '../../src/store/redis-directory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { runKeyward, startKeyward } from '../helpers/cli.js';
import { requireProgram } from '../helpers/programs.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, sleep } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('two gateway instances on different machines (each its own SQLite file) sharing users and tokens through one real redis-server', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let dir: string;
  const dbs: string[] = [];
  const ledgers: SqliteStore[] = [];
  const dirs: RedisDirectory[] = [];
  const counters: RedisCounters[] = [];
  const gws: TestGateway[] = [];
  const cli = (args: string[], db: string) => runKeyward([...args, '--redis', redis.url, '--db', db]);
  const ask = (i: number, token: string) => post(`${gws[i]!.origin}/v1/chat/completions`, chat(), bearer(token));

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    dir = mkdtempSync(join(tmpdir(), 'kw-gw-redis-dir-'));
    for (let i = 0; i < 2; i++) {
      const db = join(dir, `machine-${i}.db`);
      dbs.push(db);
      const ledger = new SqliteStore(db);
      const d = await RedisDirectory.connect(redis.url);
      const c = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
      c.watchDirectory(d);
      ledgers.push(ledger);
      dirs.push(d);
      counters.push(c);
      gws.push(await startGateway(upstream, keys, { directory: d, counters: c, ledger, aliases: { fast: 'gpt-4o-mini' } }));
    }
  });
  afterAll(async () => {
    for (const g of gws) {
      await g.stop();
    }
    for (const c of counters) await c.close();
    for (const d of dirs) d.close();
    for (const l of ledgers) l.close();
    await upstream.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a token issued and revoked by the CLI on machine A is accepted, then refused on the next request, by the instance on machine B', async () => {
    const add = await cli(['users', 'add', 'carol'], dbs[0]!);
    expect(add.code, add.stderr).toBe(0);
    const issued = await cli(['tokens', 'issue', 'carol'], dbs[0]!);
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^kw_[0-9a-f]{12}_/);
    expect((await ask(1, token)).status).toBe(200);
    expect((await ask(0, token)).status).toBe(200);

    const revoke = await cli(['tokens', 'revoke', token.slice(3, 15)], dbs[0]!);
    expect(revoke.code, revoke.stderr).toBe(0);
    const refused = await ask(1, token);
    expect(refused.status).toBe(401);
    expect(String((refused.json.error as { message: string }).message)).toMatch(/revoked/);
    expect((await ask(0, token)).status).toBe(401);
    // The SQLite files were never the copy that counted: nothing was written there.
    expect(ledgers[0]!.listUsers().map((u) => u.name)).not.toContain('carol');
    const list = await cli(['tokens', 'list', '--user', 'carol'], dbs[1]!);
    expect(list.stdout).toMatch(/carol .*REVOKED/);
  });

  it("`tokens list` on any machine shows when a token was last used on either instance, and the note moves no directory version", async () => {
    await cli(['users', 'add', 'lou'], dbs[0]!);
    const used = (await cli(['tokens', 'issue', 'lou'], dbs[0]!)).stdout.trim();
    const idle = (await cli(['tokens', 'issue', 'lou'], dbs[0]!)).stdout.trim();
    await until('both instances know the tokens', () => dirs.every((d) => d.lookupToken(idle.slice(3, 15)) !== undefined));
    const versions = dirs.map((d) => d.currentVersion);
    const before = Date.now();
    expect((await ask(1, used)).status).toBe(200);
    expect(dirs.map((d) => d.currentVersion)).toEqual(versions);
    let listed = '';
    await until('the use is in Redis', async () => {
      listed = (await cli(['tokens', 'list', '--user', 'lou'], dbs[0]!)).stdout;
      return /last used/.test(listed);
    });
    const at = Date.parse(new RegExp(`^${used.slice(3, 15)}\\s+lou\\s+issued \\S+\\s+last used (\\S+)$`, 'm').exec(listed)![1]!);
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(listed).toMatch(new RegExp(`^${idle.slice(3, 15)}\\s+lou\\s+issued \\S+\\s+never used$`, 'm'));
    // An older note (another instance's, from before) does not move it back.
    dirs[0]!.touchToken(used.slice(3, 15), 1_000);
    const fresh = await RedisDirectory.connect(redis.url, { subscribe: false });
    try {
      expect(fresh.listTokens('lou').map((t) => t.lastUsedAt)).toEqual([at, undefined]);
    } finally {
      fresh.close();
    }
  });

  it('a user disabled by the CLI is refused by both instances on the next request, and works again once re-enabled', async () => {
    expect((await cli(['users', 'add', 'dave'], dbs[0]!)).code).toBe(0);
    const token = (await cli(['tokens', 'issue', 'dave'], dbs[0]!)).stdout.trim();
    expect((await ask(1, token)).status).toBe(200);

    expect((await cli(['users', 'disable', 'dave'], dbs[0]!)).stdout).toMatch(/disabled dave .*DISABLED/);
    for (const i of [1, 0]) {
      const r = await ask(i, token);
      expect(r.status).toBe(403);
      expect(String((r.json.error as { message: string }).message)).toMatch(/dave' is disabled/);
    }
    expect((await cli(['users', 'enable', 'dave'], dbs[1]!)).code).toBe(0);
    expect((await ask(1, token)).status).toBe(200);
    expect((await ask(0, token)).status).toBe(200);
  });

  it('a change made through one instance (its directory, as the API or the anomaly guard does) is refused by the other at once', async () => {
    dirs[0]!.addUser('erin', {});
    const t1 = issueToken(dirs[0]!, 'erin');
    const t2 = issueToken(dirs[0]!, 'erin');
    await dirs[0]!.flush();
    expect((await ask(1, t1.token)).status).toBe(200);
    dirs[0]!.revokeToken(t1.record.id);
    await dirs[0]!.flush();
    expect((await ask(1, t1.token)).status).toBe(401);
    expect((await ask(1, t2.token)).status).toBe(200);
    dirs[0]!.setDisabled('erin', true, 'manual');
    await dirs[0]!.flush();
    expect((await ask(1, t2.token)).status).toBe(403);
    dirs[0]!.setDisabled('erin', false);
    await dirs[0]!.flush();
    expect((await ask(1, t2.token)).status).toBe(200);
  });

  it("a token's expiry set on one machine holds on the other", async () => {
    expect((await cli(['users', 'add', 'hana'], dbs[0]!)).code).toBe(0);
    const issued = await cli(['tokens', 'issue', 'hana', '--expires-in', '1h'], dbs[0]!);
    expect(issued.stderr).toMatch(/valid until \d{4}-\d\d-\d\dT/);
    const token = issued.stdout.trim();
    expect((await ask(1, token)).status).toBe(200);
    const id = token.slice(3, 15);
    const expiresAt = dirs[1]!.lookupToken(id)!.token.expiresAt!;
    expect(expiresAt - Date.now()).toBeGreaterThan(3_500_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_600_000);
    const list = await cli(['tokens', 'list', '--user', 'hana'], dbs[1]!);
    expect(list.stdout).toContain(`expires ${new Date(expiresAt).toISOString()}`);
    // A rotation on one machine: the old token's shortened end, then its revocation, hold on the other.
    const rotated = await cli(['tokens', 'rotate', id, '--grace', '30m'], dbs[0]!);
    expect(rotated.code, rotated.stderr).toBe(0);
    const successor = rotated.stdout.trim();
    expect(dirs[1]!.lookupToken(successor.slice(3, 15))!.token.expiresAt).toBe(expiresAt);
    const graceEnd = dirs[1]!.lookupToken(id)!.token.expiresAt!;
    expect(Math.abs(graceEnd - (Date.now() + 1_800_000))).toBeLessThan(60_000);
    expect((await ask(1, token)).status).toBe(200);
    expect((await ask(1, successor)).status).toBe(200);
    expect((await cli(['tokens', 'rotate', successor.slice(3, 15)], dbs[0]!)).code).toBe(0);
    expect((await ask(1, successor)).status).toBe(401);
    // So do its scopes: an app-only token is refused OpenAI's API on the other instance.
    const appOnly = (await cli(['tokens', 'issue', 'hana', '--scopes', 'app'], dbs[0]!)).stdout.trim();
    expect(dirs[1]!.lookupToken(appOnly.slice(3, 15))!.token.scopes).toEqual(['app']);
    expect((await ask(1, appOnly)).status).toBe(403);
    // One issued already expired (as a clock would leave it) is refused by the other instance.
    const gone = issueToken(dirs[0]!, 'hana', { expiresAt: Date.now() - 1000 });
    await dirs[0]!.flush();
    const refused = await ask(1, gone.token);
    expect(refused.status).toBe(401);
    expect(String((refused.json.error as { message: string }).message)).toMatch(/expired at/);
  });

  it('limits set by the CLI on one machine apply on the other', async () => {
    expect((await cli(['users', 'add', 'frank'], dbs[0]!)).code).toBe(0);
    const token = (await cli(['tokens', 'issue', 'frank'], dbs[0]!)).stdout.trim();
    const set = await cli(['users', 'set', 'frank', '--rpm', '2'], dbs[0]!);
    expect(set.stdout).toMatch(/updated frank .*rpm 2/);
    const statuses = [(await ask(1, token)).status, (await ask(0, token)).status, (await ask(1, token)).status];
    expect(statuses).toEqual([200, 200, 429]);
    // The networks a user may call from, too (the test calls from 127.0.0.1).
    expect((await cli(['users', 'set', 'frank', '--rpm', 'none', '--allow-ips', '10.0.0.0/8'], dbs[0]!)).code).toBe(0);
    const outside = await ask(1, token);
    expect(outside.status).toBe(403);
    expect(String((outside.json.error as { message: string }).message)).toMatch(/may not call the gateway from this address/);
    expect((await cli(['users', 'set', 'frank', '--allow-ips', '127.0.0.1'], dbs[0]!)).code).toBe(0);
    expect((await ask(1, token)).status).toBe(200);
  });

  it('an instance that missed a change notices it through the admission script (same round trip as the limits) and refuses that very request', async () => {
    dirs[0]!.addUser('gina', { rpm: 1000, tpm: 100_000 });
    const t = issueToken(dirs[0]!, 'gina');
    await dirs[0]!.flush();
    expect((await ask(1, t.token)).status).toBe(200);
    // Revoke behind the instances' backs: the record and the version change, but no message is published.
    const raw = new Redis(redis.url);
    const tpmUsed = async () => {
      let sum = 0;
      for (const k of await raw.keys(`kw:u:${t.record.userId}:tpm:*`)) sum += Number(await raw.get(k));
      return sum;
    };
    try {
      await until('the first request was settled', async () => (await tpmUsed()) < 4096);
      const settled = await tpmUsed();
      expect(settled).toBeGreaterThan(0);
      const rec = JSON.parse((await raw.hget('kw:dir:tokens', t.record.id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:tokens', t.record.id, JSON.stringify({ ...rec, revokedAt: Date.now() })).incr('kw:dir:ver').exec();
      const before = dirs[1]!.currentVersion;
      // The mirror still holds the token as valid; the admission script reports the newer version,
      // the instance reads the directory again and judges the request on what it finds.
      const refused = await ask(1, t.token);
      expect(refused.status).toBe(401);
      expect(String((refused.json.error as { message: string }).message)).toMatch(/revoked/);
      expect(dirs[1]!.currentVersion).toBeGreaterThan(before);
      // What the refused request had reserved (its tokens per minute) was given back.
      await until('the refused reservation was released', async () => (await tpmUsed()) === settled);
    } finally {
      raw.disconnect();
    }
  });

  it('also checks the directory for a user with no limit to count (the admission then only reads the version)', async () => {
    dirs[0]!.addUser('jill', {});
    const t = issueToken(dirs[0]!, 'jill');
    await dirs[0]!.flush();
    expect((await ask(1, t.token)).status).toBe(200);
    const raw = new Redis(redis.url);
    try {
      const id = dirs[0]!.getUser('jill')!.id;
      const rec = JSON.parse((await raw.hget('kw:dir:users', id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:users', id, JSON.stringify({ ...rec, disabled: true, disabledReason: 'manual' })).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    const refused = await ask(1, t.token);
    expect(refused.status).toBe(403);
    expect(String((refused.json.error as { message: string }).message)).toMatch(/'jill' is disabled/);
  });

  it('refuses a model listing (which makes no admission) with a token revoked on another machine, even before its message arrives', async () => {
    dirs[0]!.addUser('nina', {});
    const t = issueToken(dirs[0]!, 'nina');
    await dirs[0]!.flush();
    await until('instance B knows the token', () => dirs[1]!.lookupToken(t.record.id) !== undefined);
    expect((await fetch(`${gws[1]!.origin}/v1/models`, { headers: bearer(t.token) })).status).toBe(200);
    const raw = new Redis(redis.url);
    try {
      const rec = JSON.parse((await raw.hget('kw:dir:tokens', t.record.id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:tokens', t.record.id, JSON.stringify({ ...rec, revokedAt: Date.now() })).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    expect((await fetch(`${gws[1]!.origin}/v1/models`, { headers: bearer(t.token) })).status).toBe(401);
  });

  it('accepts a user re-enabled on another machine on the next request, even before its message arrives', async () => {
    dirs[0]!.addUser('olga', {});
    const t = issueToken(dirs[0]!, 'olga');
    dirs[0]!.setDisabled('olga', true, 'manual');
    await dirs[0]!.flush();
    await until('instance B has olga disabled', () => dirs[1]!.getUser('olga')?.disabled === true);
    expect((await ask(1, t.token)).status).toBe(403);
    const raw = new Redis(redis.url);
    try {
      const id = dirs[0]!.getUser('olga')!.id;
      const rec = JSON.parse((await raw.hget('kw:dir:users', id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:users', id, JSON.stringify({ ...rec, disabled: false, disabledReason: null })).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    expect(dirs[1]!.getUser('olga')!.disabled).toBe(true);
    expect((await ask(1, t.token)).status).toBe(200);
  });

  it('applies a limit set on another machine to the very next request, even before its message arrives', async () => {
    dirs[0]!.addUser('pia', {});
    const t = issueToken(dirs[0]!, 'pia');
    await dirs[0]!.flush();
    await until('instance B knows the token', () => dirs[1]!.lookupToken(t.record.id) !== undefined);
    const raw = new Redis(redis.url);
    try {
      const id = dirs[0]!.getUser('pia')!.id;
      const rec = JSON.parse((await raw.hget('kw:dir:users', id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:users', id, JSON.stringify({ ...rec, rpm: 1 })).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    expect(dirs[1]!.getUser('pia')!.rpm).toBeUndefined();
    expect([(await ask(1, t.token)).status, (await ask(1, t.token)).status]).toEqual([200, 429]);
  });

  it('judges a request made by an alias again by that alias when a change on another machine arrives first through the admission', async () => {
    dirs[0]!.addUser('alia', { models: ['fast'] });
    const t = issueToken(dirs[0]!, 'alia');
    await dirs[0]!.flush();
    await until('instance B knows the token', () => dirs[1]!.lookupToken(t.record.id) !== undefined);
    const raw = new Redis(redis.url);
    try {
      const id = dirs[0]!.getUser('alia')!.id;
      const rec = JSON.parse((await raw.hget('kw:dir:users', id))!) as Record<string, unknown>;
      await raw.multi().hset('kw:dir:users', id, JSON.stringify({ ...rec, rpm: 5 })).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    // Its list names the alias only: judged again on the caught-up copy, the request must still pass.
    const r = await post(`${gws[1]!.origin}/v1/chat/completions`, chat('fast'), bearer(t.token));
    expect(r.status, r.text).toBe(200);
    expect(dirs[1]!.getUser('alia')!.rpm).toBe(5);
  });

  it('accepts a token issued on another machine on its very first request, even before its message arrives', async () => {
    dirs[0]!.addUser('mona', {});
    await dirs[0]!.flush();
    // Issue the token behind the instances' backs: the record and the version change, no message.
    const { hashToken } = await import('../../src/gateway/tokens.js');
    const id = 'abcdef012345';
    const token = `kw_${id}_${'A'.repeat(43)}`;
    const raw = new Redis(redis.url);
    try {
      const rec = { id, userId: dirs[0]!.getUser('mona')!.id, hash: hashToken(token), createdAt: Date.now() };
      await raw.multi().hset('kw:dir:tokens', id, JSON.stringify(rec)).incr('kw:dir:ver').exec();
    } finally {
      raw.disconnect();
    }
    expect(dirs[1]!.lookupToken(id)).toBeUndefined();
    expect((await ask(1, token)).status).toBe(200);
    // A token nobody issued is still refused (after the same one round trip).
    expect((await ask(1, `kw_${'0'.repeat(12)}_${'B'.repeat(43)}`)).status).toBe(401);
  });

  it('judges again a request whose caller was disabled after it was authenticated (the change arrived while its body was read)', async () => {
    dirs[0]!.addUser('kate', {});
    const t = issueToken(dirs[0]!, 'kate');
    await dirs[0]!.flush();
    await until('instance B knows kate', () => dirs[1]!.getUser('kate') !== undefined);
    const body = JSON.stringify(chat());
    const u = new URL(`${gws[1]!.origin}/v1/chat/completions`);
    const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...bearer(t.token) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      // Headers now (the gateway authenticates on them), the body once kate is disabled.
      req.flushHeaders();
      void (async () => {
        await sleep(150);
        dirs[0]!.setDisabled('kate', true, 'manual');
        await dirs[0]!.flush();
        await until('instance B applied the change', () => dirs[1]!.getUser('kate')!.disabled);
        req.end(body);
      })().catch(reject);
    });
    const r = await reply;
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/'kate' is disabled/);
  });

  it('copies the users and tokens of an SQLite file into Redis once, keeping their ids and tokens', async () => {
    const db = join(dir, 'legacy.db');
    const legacy = new SqliteStore(db);
    legacy.addUser('hank', { rpm: 50 });
    const t = issueToken(legacy, 'hank');
    try {
      const r = await dirs[0]!.importFrom(legacy);
      expect(r).toEqual({ users: 1, tokens: 1, skipped: [] });
      await until('instance B has hank', () => dirs[1]!.getUser('hank') !== undefined);
      expect((await ask(1, t.token)).status).toBe(200);
      expect(await dirs[1]!.importFrom(legacy)).toEqual({ users: 0, tokens: 0, skipped: [] });
    } finally {
      legacy.close();
    }
  });

  it('`keyward gateway --redis` copies the users and tokens of its SQLite file into Redis, and the file then refuses changes that would not reach it', async () => {
    const db = join(dir, 'single.db');
    expect((await runKeyward(['users', 'add', 'ivy', '--db', db])).code).toBe(0);
    const token = (await runKeyward(['tokens', 'issue', 'ivy', '--db', db])).stdout.trim();
    const env = join(dir, '.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    chmodSync(env, 0o600);
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', db, '--port', String(port), '--redis', redis.url, '--log-level', 'warn'], { cwd: dir });
    const call = () => post(`http://127.0.0.1:${port}/v1/chat/completions`, chat(), bearer(token));
    try {
      expect((await call()).status).toBe(200);
      // The other machine's instance knows ivy too.
      await until('instance B has ivy', () => dirs[1]!.getUser('ivy') !== undefined);
      expect((await ask(1, token)).status).toBe(200);

      const stale = await runKeyward(['tokens', 'revoke', token.slice(3, 15), '--db', db], { env: { KEYWARD_REDIS: undefined } });
      expect(stale.code).toBe(2);
      expect(stale.stderr).toMatch(/live in Redis \(redis:\/\/127\.0\.0\.1:\d+\).*\n.*--redis/);
      expect((await call()).status).toBe(200);

      expect((await runKeyward(['tokens', 'revoke', token.slice(3, 15)], { env: { KEYWARD_REDIS: redis.url, KEYWARD_DB: dbs[1]! } })).code).toBe(0);
      expect((await call()).status).toBe(401);
      expect((await ask(1, token)).status).toBe(401);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    expect(gateway.stderr + (await runKeyward(['usage', '--db', db])).stdout).not.toContain(token.slice(16));
  });

  it('refuses bad input with a clear message and exit status 2', async () => {
    const dup = await cli(['users', 'add', 'carol'], dbs[1]!);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/already exists/);
    const nobody = await cli(['tokens', 'issue', 'nobody'], dbs[1]!);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/no user 'nobody'/);
    expect(nobody.stdout).toBe('');
    const down = await runKeyward(['users', 'list', '--redis', 'redis://127.0.0.1:1', '--db', dbs[0]!]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    // Why, in one line, without ioredis's own stack trace before it.
    expect(down.stderr).toMatch(/ECONNREFUSED/);
    expect(down.stderr).not.toMatch(/Unhandled error event|\n {4}at /);
  });

  it('when Redis loses its data without a restart (FLUSHALL), the next admitted request notices and the instance puts the directory back', async () => {
    dirs[0]!.addUser('lena', { rpm: 1000 });
    const t = issueToken(dirs[0]!, 'lena');
    await dirs[0]!.flush();
    await until('instance B has lena', () => dirs[1]!.lookupToken(t.record.id) !== undefined);
    const carolToken = dirs[1]!.listTokens('carol')[0]!;
    expect(carolToken.revokedAt).toBeDefined();
    const raw = new Redis(redis.url);
    try {
      await raw.flushall();
      // lena has a limit, so her request goes through the admission script, which reports version 0.
      expect((await ask(1, t.token)).status).toBe(200);
      await until('Redis has the directory again', async () => (await raw.hget('kw:dir:names', 'lena')) === t.record.userId);
      expect(JSON.parse((await raw.hget('kw:dir:tokens', carolToken.id))!)).toMatchObject({ revokedAt: carolToken.revokedAt });
      expect(await raw.hlen('kw:dir:users')).toBe(dirs[1]!.listUsers().length);
    } finally {
      raw.disconnect();
    }
  });
});
