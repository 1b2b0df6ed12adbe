import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../../src/gateway/tokens.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { runKeyward, startKeyward } from '../helpers/cli.js';
import { freePort } from '../helpers/redis-server.js';
import { attachFakeRealtime } from './helpers/fake-realtime.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { opened } from './helpers/realtime-client.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

describe('the management CLI and `keyward gateway`', () => {
  let dir: string;
  let db: string;
  const keys = { openai: [fakeOpenAiKey(), fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
  let upstream: FakeUpstream;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-gw-cli-'));
    db = join(dir, 'keyward.db');
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini });
  });
  afterAll(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds, lists, changes, disables and enables users', async () => {
    const add = await runKeyward(['users', 'add', 'alice', '--rpm', '5', '--budget-usd', '2.5', '--period', 'day', '--models', 'gpt-4o-mini,gpt-4o', '--db', db]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added alice .*rpm 5, budget \$2\.5\/day, models gpt-4o-mini,gpt-4o/);
    expect((await runKeyward(['users', 'set', 'alice', '--rpm', 'none', '--tpm', '1000'], { env: { KEYWARD_DB: db } })).stdout).toMatch(/updated alice .*: tpm 1000, budget/);
    expect((await runKeyward(['users', 'disable', 'alice', '--db', db])).stdout).toMatch(/DISABLED/);
    expect((await runKeyward(['users', 'enable', 'alice', '--db', db])).stdout).not.toMatch(/DISABLED/);
    const list = await runKeyward(['users', 'list', '--json', '--db', db]);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'alice', tpm: 1000, budgetUsd: 2.5, disabled: false }]);
    // Networks: set, shown, refused when unreadable (naming the entry), cleared.
    expect((await runKeyward(['users', 'set', 'alice', '--allow-ips', '10.0.0.0/8, 2001:db8::/32', '--db', db])).stdout).toMatch(/from 10\.0\.0\.0\/8,2001:db8::\/32/);
    const bad = await runKeyward(['users', 'set', 'alice', '--allow-ips', '10.0.0.0/8,office', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--allow-ips .*'office' is not an IP address or a CIDR range/);
    expect((await runKeyward(['users', 'set', 'alice', '--allow-ips', 'none', '--db', db])).stdout).not.toMatch(/from /);
    expect(JSON.parse((await runKeyward(['users', 'list', '--json', '--db', db])).stdout)[0].allowIps).toBeUndefined();
    // Requests in flight: set, shown, kept in the file, cleared; a count it cannot read is refused.
    expect((await runKeyward(['users', 'set', 'alice', '--parallel', '4', '--db', db])).stdout).toMatch(/tpm 1000, parallel 4, budget/);
    expect(JSON.parse((await runKeyward(['users', 'list', '--json', '--db', db])).stdout)[0].parallel).toBe(4);
    expect((await runKeyward(['users', 'set', 'alice', '--parallel', '0', '--db', db])).stderr).toMatch(/--parallel.*must be a positive whole number/);
    expect((await runKeyward(['users', 'set', 'alice', '--parallel', 'none', '--db', db])).stdout).not.toMatch(/parallel/);
  });

  it('refuses bad input with a clear message and exit status 2', async () => {
    const bad = await runKeyward(['users', 'add', 'bob', '--rpm', 'lots', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rpm.*must be a positive whole number/);
    const dup = await runKeyward(['users', 'add', 'alice', '--db', db]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/already exists/);
    const missing = await runKeyward(['tokens', 'issue', 'nobody', '--db', db]);
    expect(missing.stderr).toMatch(/no user 'nobody'/);
    expect((await runKeyward(['usage', '--since', 'yesterday-ish', '--db', db])).stderr).toMatch(/use a duration like/);
  });

  it('refuses to start when the .env is readable by others, naming the chmod fix', async () => {
    const env = join(dir, 'loose.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\n`);
    chmodSync(env, 0o644);
    const r = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/readable by group or others \(mode 644\)/);
    expect(r.stderr).toContain(`chmod 600 '${env}'`);
    expect(r.stderr + r.stdout).not.toContain(keys.openai[0]!.slice(10, 40));
  });

  it('serves SDK calls with keys from a mode-600 .env, then writes every ledger row on a clean shutdown', async () => {
    const env = join(dir, '.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_API_KEY_2=${keys.openai[1]}\nOPENAI_BASE_URL=${upstream.openaiBase}\nANTHROPIC_API_KEY=${keys.anthropic[0]}\nANTHROPIC_BASE_URL=${upstream.anthropicBase}\n`);
    chmodSync(env, 0o600);
    const issued = await runKeyward(['tokens', 'issue', 'alice', '--db', db]);
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^kw_[0-9a-f]{12}_/);
    expect(issued.stderr).toMatch(/shown only this once/);

    const port = await freePort();
    expect((await runKeyward(['tokens', 'list', '--user', 'alice', '--db', db])).stdout).toMatch(new RegExp(`^${token.slice(3, 15)}\\s+alice\\s+issued \\S+\\s+never used$`, 'm'));
    const before = Date.now();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', db, '--port', String(port)], { cwd: dir });
    const n = 12;
    try {
      expect(gateway.stderr).toMatch(/openai: 2 keys, anthropic: 1 key/);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 });
      await Promise.all(Array.from({ length: n }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 })));
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const { stdout, stderr } = gateway;
    expect(stderr).toMatch(/usage ledger written/);
    // The gateway noted the token's use in the file, for the operator to see.
    const lastUsed = new RegExp(`^${token.slice(3, 15)}\\s+alice\\s+issued \\S+\\s+last used (\\S+)$`, 'm').exec((await runKeyward(['tokens', 'list', '--user', 'alice', '--db', db])).stdout);
    expect(Date.parse(lastUsed![1]!)).toBeGreaterThanOrEqual(before);
    const usage = await runKeyward(['usage', '--json', '--db', db]);
    expect(JSON.parse(usage.stdout).users).toMatchObject([{ user: 'alice', requests: n, tokensIn: 12 * n, tokensOut: 5 * n }]);
    const table = await runKeyward(['usage', '--user', 'alice', '--since', '1h', '--db', db]);
    expect(table.stdout).toMatch(/alice\s+12\s+144\s+60/);
    const byModel = await runKeyward(['usage', '--by', 'model', '--db', db]);
    expect(byModel.stdout).toMatch(/^model\s+requests\s+tokens in\s+tokens out\s+cost$/m);
    expect(byModel.stdout).toMatch(/^gpt-4o-mini\s+12\s+144\s+60\s+\$0\.0000/m);
    expect(JSON.parse((await runKeyward(['usage', '--by', 'model', '--json', '--db', db])).stdout).models).toMatchObject([{ model: 'gpt-4o-mini', requests: n, tokensIn: 12 * n, tokensOut: 5 * n }]);
    expect(JSON.parse((await runKeyward(['usage', '--by', 'provider', '--json', '--db', db])).stdout).providers).toMatchObject([{ provider: 'openai', requests: n, tokensIn: 12 * n, tokensOut: 5 * n }]);
    expect((await runKeyward(['usage', '--by', 'provider', '--db', db])).stdout).toMatch(/^provider\s+requests\s+tokens in\s+tokens out\s+cost\nopenai\s+12\s+144\s+60\s+\$0\.0000/m);
    // Per token, each named with its user: the token spending more than it should is the one to revoke.
    const tokenId = JSON.parse((await runKeyward(['usage', '--by', 'token', '--json', '--db', db])).stdout).tokens[0].token as string;
    expect(JSON.parse((await runKeyward(['usage', '--by', 'token', '--json', '--db', db])).stdout).tokens).toEqual([{ token: tokenId, user: 'alice', requests: n, tokensIn: 12 * n, tokensOut: 5 * n, costUsd: expect.any(Number) }]);
    expect((await runKeyward(['usage', '--by', 'token', '--db', db])).stdout).toMatch(new RegExp(`^token\\s+requests\\s+tokens in\\s+tokens out\\s+cost\\n${tokenId} \\(alice\\)\\s+12\\s+144\\s+60\\s+\\$`, 'm'));
    expect((await runKeyward(['usage', '--by', 'tag', '--db', db])).stdout).toMatch(/^tag\s+requests\s+tokens in\s+tokens out\s+cost\n\(untagged\)\s+12\s+144\s+60\s+\$/m);
    expect(JSON.parse((await runKeyward(['usage', '--by', 'tag', '--json', '--db', db])).stdout).tags).toMatchObject([{ tag: null, requests: n }]);
    expect((await runKeyward(['usage', '--by', 'route', '--db', db])).stdout).toMatch(/^route\s+requests\s+tokens in\s+tokens out\s+cost\nchat\s+12\s+144\s+60\s+\$/m);
    expect((await runKeyward(['usage', '--by', 'key', '--db', db])).stderr).toMatch(/--by.*Allowed choices are user, model, provider, route, token, tag/);
    // The structured log went to stdout; neither it nor stderr holds key material or the token.
    expect(stdout).toMatch(/"msg":"request"/);
    for (const k of [...keys.openai, ...keys.anthropic, token]) expect(stdout + stderr).not.toContain(k.slice(10, 40));
  });

  it('relays a Realtime session over WebSocket and opens WebRTC calls when the config allows realtime, and bills their responses', async () => {
    const fake = attachFakeRealtime(upstream.server, keys.openai);
    const env = join(dir, '.env-rt');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    chmodSync(env, 0o600);
    const config = join(dir, 'realtime.config.json');
    writeFileSync(config, JSON.stringify({ realtime: { usdPerSecret: 0.06 } }));
    const rtDb = join(dir, 'realtime.db');
    expect((await runKeyward(['users', 'add', 'voice', '--db', rtDb])).code).toBe(0);
    const token = (await runKeyward(['tokens', 'issue', 'voice', '--db', rtDb])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', rtDb, '--config', config, '--port', String(port)], { cwd: dir });
    try {
      const c = await opened(`ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${token}` } });
      await c.next('session.created');
      c.send({ type: 'response.create' });
      await c.next('response.done');
      c.ws.close();
      await c.closed;
      expect(fake.sessions.at(-1)!.authorization).toBe(`Bearer ${keys.openai[0]}`);
      // A WebRTC call: the offer in, the answer out, a response billed from the sideband, hung up through the gateway.
      const offer = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ''].join('\r\n');
      const opened201 = await fetch(`http://127.0.0.1:${port}/v1/realtime/calls?model=gpt-realtime`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' }, body: offer });
      expect(opened201.status).toBe(201);
      await until('the gateway watches the call', () => (fake.calls.at(-1)?.sidebands.length ?? 0) > 0);
      const call = fake.calls.at(-1)!;
      call.respond();
      await until('the response is billed', () => gateway.stdout.includes('"route":"realtime-call"'));
      expect((await fetch(`http://127.0.0.1:${port}${opened201.headers.get('location')}/hangup`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await until('the call is hung up', () => call.hungUp);
    } finally {
      expect(await gateway.stop()).toBe(0);
      await fake.close();
    }
    const byRoute = JSON.parse((await runKeyward(['usage', '--by', 'route', '--json', '--db', rtDb])).stdout).routes;
    expect(byRoute).toEqual(
      expect.arrayContaining([expect.objectContaining({ route: 'realtime-session', requests: 1, tokensIn: 500, tokensOut: 800 }), expect.objectContaining({ route: 'realtime-call', requests: 1, tokensIn: 500, tokensOut: 800 })]),
    );
    expect(gateway.stdout + gateway.stderr).not.toContain(keys.openai[0]!.slice(10, 40));
  });

  it('prints help with exit 0 and refuses to start without provider keys', async () => {
    const help = await runKeyward(['gateway', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--redis <url>/);
    const empty = mkdtempSync(join(dir, 'empty-'));
    const none = await runKeyward(['gateway', '--db', db, '--port', '0'], { cwd: empty, env: { OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no provider keys/);
  });

  it('refuses a --redis it cannot reach, saying so', async () => {
    const env = join(dir, '.env');
    const r = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', '0', '--redis', `redis://127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1/);
    // Why, in one line, without ioredis's own stack trace before it.
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).not.toMatch(/Unhandled error event|\n {4}at /);
  });

  it('refuses a --port outside 0–65535 as a usage error, not a crash', async () => {
    const env = join(dir, '.env');
    for (const bad of ['99999', '-1', 'abc']) {
      const r = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--port .*must be a port number from 0 to 65535/);
      expect(r.stderr).not.toMatch(/unexpected error|\n {4}at /);
    }
  });

  it('refuses a --redis URL of another scheme, saying which schemes it takes', async () => {
    const env = join(dir, '.env');
    const r = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', '0', '--redis', 'http://127.0.0.1:6379']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scheme must be redis:\/\/ or rediss:\/\/ \(TLS\), not http:\/\//);
  });

  it('serves Prometheus metrics on their own port, behind KEYWARD_METRICS_TOKEN, and refuses to expose them without one', async () => {
    const env = join(dir, '.env');
    const token = (await runKeyward(['tokens', 'issue', 'alice', '--db', db])).stdout.trim();
    const metricsToken = randomBytes(24).toString('hex');
    const [port, mport] = [await freePort(), await freePort()];
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', db, '--port', String(port), '--metrics-port', String(mport)], { cwd: dir, env: { KEYWARD_METRICS_TOKEN: metricsToken } });
    try {
      expect(gateway.stderr).toContain(`metrics on http://127.0.0.1:${mport}/metrics (token required)`);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
      expect((await fetch(`http://127.0.0.1:${mport}/metrics`)).status).toBe(401);
      const r = await fetch(`http://127.0.0.1:${mport}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text).toMatch(/^keyward_gateway_requests_total\{route="chat",provider="openai",status="200",outcome="ok"\} 1$/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      // Not on the API port, where any client could read the spend.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      for (const k of [...keys.openai, ...keys.anthropic, token]) expect(text).not.toContain(k.slice(10, 40));
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const open = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', '0', '--metrics-port', '0', '--metrics-host', '0.0.0.0'], { env: { KEYWARD_METRICS_TOKEN: undefined } });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--metrics-host 0\.0\.0\.0 is reachable from other machines/);
    expect(open.stderr).toMatch(/set KEYWARD_METRICS_TOKEN/);
    const short = await runKeyward(['gateway', '--env-file', env, '--db', db, '--port', '0', '--metrics-port', '0'], { env: { KEYWARD_METRICS_TOKEN: 'abc' } });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/KEYWARD_METRICS_TOKEN is too short \(3 characters; at least 16\)/);
    expect(short.stderr).not.toContain('abc');
  });

  it('issues a token that expires, shows when, and refuses a length of time it cannot read', async () => {
    const issued = await runKeyward(['tokens', 'issue', 'alice', '--expires-in', '30d', '--db', db]);
    expect(issued.code, issued.stderr).toBe(0);
    const until = /valid until (\S+);/.exec(issued.stderr)![1]!;
    expect(Date.parse(until) - Date.now()).toBeGreaterThan(30 * 86_400_000 - 60_000);
    const id = issued.stdout.trim().slice(3, 15);
    expect((await runKeyward(['tokens', 'list', '--user', 'alice', '--db', db])).stdout).toMatch(new RegExp(`^${id}\\s+alice\\s+issued \\S+\\s+never used\\s+expires ${until.replace(/\./g, '\\.')}$`, 'm'));
    for (const bad of ['soon', '0d', '-1h', '5y']) {
      const r = await runKeyward(['tokens', 'issue', 'alice', '--expires-in', bad, '--db', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--expires-in .*use a length of time like 90m, 12h, 30d or 2w/);
      expect(r.stdout).toBe('');
    }
  });

  it('issues a token scoped to some APIs, lists its scopes, and refuses a scope it does not know', async () => {
    const issued = await runKeyward(['tokens', 'issue', 'alice', '--scopes', 'app,anthropic', '--db', db]);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stderr).toMatch(/issued for alice, scopes app,anthropic;/);
    const id = issued.stdout.trim().slice(3, 15);
    expect((await runKeyward(['tokens', 'list', '--user', 'alice', '--db', db])).stdout).toMatch(new RegExp(`^${id}\\s+alice\\s+issued \\S+\\s+never used\\s+scopes app,anthropic$`, 'm'));
    for (const [bad, why] of [['app,admin', /unknown token scope: 'admin'/], [',', /a token needs at least one scope/]] as const) {
      const r = await runKeyward(['tokens', 'issue', 'alice', '--scopes', bad, '--db', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/scopes are app, openai, anthropic, gemini/);
      expect(r.stdout).toBe('');
    }
  });

  it('rotates a token: a new one with the same user, scopes and end; the old one ends after the grace, or at once', async () => {
    const first = await runKeyward(['tokens', 'issue', 'alice', '--scopes', 'app', '--expires-in', '30d', '--db', db]);
    const oldToken = first.stdout.trim();
    const oldId = oldToken.slice(3, 15);
    const read = (id: string) => {
      const s = new SqliteStore(db);
      try {
        return s.lookupToken(id)!.token;
      } finally {
        s.close();
      }
    };
    const oldEnd = read(oldId).expiresAt!;
    const rotated = await runKeyward(['tokens', 'rotate', oldId, '--grace', '1h', '--db', db]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newToken = rotated.stdout.trim();
    const newId = newToken.slice(3, 15);
    expect(rotated.stderr).toMatch(new RegExp(`token ${newId} issued for alice, scopes app, valid until \\S+ to replace ${oldId}, which keeps working until \\S+;`));
    const [was, now] = [read(oldId), read(newId)];
    expect(now.scopes).toEqual(['app']);
    expect(now.expiresAt).toBe(oldEnd);
    expect(Math.abs(was.expiresAt! - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    // During the grace both work.
    const store = new SqliteStore(db);
    try {
      expect(verifyToken(store, oldToken)).toMatchObject({ ok: true });
      expect(verifyToken(store, newToken)).toMatchObject({ ok: true });
    } finally {
      store.close();
    }
    // A grace longer than the token has left never lengthens its life.
    const short = (await runKeyward(['tokens', 'issue', 'alice', '--expires-in', '90m', '--db', db])).stdout.trim().slice(3, 15);
    const end = read(short).expiresAt!;
    expect((await runKeyward(['tokens', 'rotate', short, '--grace', '2w', '--db', db])).code).toBe(0);
    expect(read(short).expiresAt).toBe(end);
    // Without a grace the old one is revoked at once; an ended token has nothing to rotate.
    const again = await runKeyward(['tokens', 'rotate', `kw_${newId}_ignored`, '--db', db]);
    expect(again.stderr).toMatch(new RegExp(`to replace ${newId}, which is revoked;`));
    const ended = await runKeyward(['tokens', 'rotate', newId, '--db', db]);
    expect(ended.code).toBe(2);
    expect(ended.stderr).toMatch(new RegExp(`token ${newId} has already ended \\(revoked\\); there is nothing to rotate`));
    expect(ended.stdout).toBe('');
    expect((await runKeyward(['tokens', 'rotate', 'abcdefabcdef', '--db', db])).stderr).toMatch(/no token 'abcdefabcdef'/);
  });

  it('rotates provider keys on SIGHUP without a restart, and keeps them when the new .env is unsafe or empty', async () => {
    const env = join(dir, 'rotate.env');
    const write = (body: string, mode = 0o600) => {
      writeFileSync(env, body);
      chmodSync(env, mode);
    };
    write(`OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    const token = (await runKeyward(['tokens', 'issue', 'alice', '--db', db])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', db, '--port', String(port)], { cwd: dir });
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 });
    const lastKey = async () => {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      return upstream.seen.at(-1)!.keyIndex;
    };
    try {
      expect(await lastKey()).toBe(0);
      write(`OPENAI_API_KEY=${keys.openai[1]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
      expect(await gateway.signal('SIGHUP')).toMatch(/provider keys reloaded \(openai: 1 added, 1 removed, 0 kept; anthropic: 0 added, 0 removed, 0 kept; gemini: 0 added, 0 removed, 0 kept\)/);
      expect([await lastKey(), await lastKey()]).toEqual([1, 1]);
      // An edit that leaves the file readable by others, or without keys, changes nothing.
      write(`OPENAI_API_KEY=${keys.openai[0]}\n`, 0o644);
      expect(await gateway.signal('SIGHUP')).toMatch(/reloading the provider keys failed, keeping the current ones: '.*rotate\.env' is readable by group or others \(mode 644\)/);
      write('# emptied by mistake\n');
      expect(await gateway.signal('SIGHUP')).toMatch(/now lists no provider keys; keeping the current ones/);
      expect(await lastKey()).toBe(1);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    for (const k of [...keys.openai, ...keys.anthropic, token]) expect(gateway.stdout + gateway.stderr).not.toContain(k.slice(10, 40));
  });

  it('reloads the policy of its --config on SIGHUP, says which changes need a restart, and keeps the policy when the new config is bad', async () => {
    const env = join(dir, 'policy.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    chmodSync(env, 0o600);
    const config = join(dir, 'policy.config.json');
    writeFileSync(config, JSON.stringify({ aliases: { fast: 'gpt-4o-mini' } }));
    const token = (await runKeyward(['tokens', 'issue', 'alice', '--db', db])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--config', config, '--db', db, '--port', String(port)], { cwd: dir });
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 });
    const fastIs = async () => {
      await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      return upstream.seen.at(-1)!.body?.model;
    };
    const reload = async (expected: RegExp) => {
      const before = gateway.stderr.length;
      await gateway.signal('SIGHUP');
      await until('the policy line', () => expected.test(gateway.stderr.slice(before)));
    };
    try {
      expect(await fastIs()).toBe('gpt-4o-mini');
      writeFileSync(config, JSON.stringify({ aliases: { fast: 'gpt-4o' }, resilience: { retries: 1 } }));
      await reload(/policy reloaded from .*policy\.config\.json; resilience changed too, which takes effect when the gateway restarts/);
      expect(await fastIs()).toBe('gpt-4o');
      writeFileSync(config, '{ "aliases": ');
      await reload(/reloading .*policy\.config\.json failed, keeping the current policy: .*not valid JSON/);
      writeFileSync(config, JSON.stringify({ aliases: { fast: 'gpt-4o-mini' }, chat: { provider: 'nowhere', model: 'x' } }));
      await reload(/reloading .*policy\.config\.json failed, keeping the current policy: .*'chat' names provider 'nowhere'/);
      expect(await fastIs()).toBe('gpt-4o');
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it('--check-keys asks each provider with each key, says which it accepts (by label, never the key), and exits 1 when one cannot be used', async () => {
    const stale = fakeOpenAiKey();
    const env = join(dir, 'check.env');
    const write = (body: string) => {
      writeFileSync(env, body);
      chmodSync(env, 0o600);
    };
    const bases = `OPENAI_BASE_URL=${upstream.openaiBase}\nANTHROPIC_BASE_URL=${upstream.anthropicBase}\nGEMINI_BASE_URL=${upstream.geminiBase}\n`;
    write(`OPENAI_API_KEY=${keys.openai[0]},${stale}\nANTHROPIC_API_KEY=${keys.anthropic[0]}\nGEMINI_API_KEY=${keys.gemini[0]}\n${bases}`);
    const before = upstream.seen.length;
    const r = await runKeyward(['gateway', '--check-keys', '--env-file', env, '--db', db]);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split('\n');
    const label = (k: string) => `…${k.slice(-4)}#`;
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^openai:${label(keys.openai[0]!)}[0-9a-f]{8}\\s+ok\\s+answered 200$`));
    expect(lines[1]).toMatch(new RegExp(`^openai:${label(stale)}[0-9a-f]{8}\\s+rejected\\s+answered 401: the provider does not accept this key`));
    expect(lines[2]).toMatch(/^anthropic:\S+\s+ok\s+answered 200$/);
    expect(lines[3]).toMatch(/^gemini:\S+\s+ok\s+answered 200$/);
    expect(r.stderr).toMatch(/1 of 4 provider keys cannot be used/);
    expect(upstream.seen.slice(before).map((x) => `${x.method} ${x.url}`).sort()).toEqual(['GET /v1/models', 'GET /v1/models', 'GET /v1/models?limit=1', 'GET /v1beta/models?pageSize=1']);
    for (const k of [stale, ...keys.openai, ...keys.anthropic, ...keys.gemini]) expect(r.stdout + r.stderr).not.toContain(k.slice(0, 20));

    write(`OPENAI_API_KEY=${keys.openai[0]}\n${bases}`);
    const good = await runKeyward(['gateway', '--check-keys', '--env-file', env, '--db', db]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/all 1 provider keys are accepted/);

    // Nothing listens on port 1: the key cannot be judged, and the base URL is the suspect.
    write(`OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=http://127.0.0.1:1/v1\n`);
    const down = await runKeyward(['gateway', '--check-keys', '--env-file', env, '--db', db]);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^openai:\S+\s+failed\s+cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)$/m);
  });

  it('runs on a Gemini key alone, its base URL read from the variable the SDK reads (GOOGLE_GEMINI_BASE_URL)', async () => {
    const env = join(dir, 'gemini.env');
    writeFileSync(env, `GEMINI_API_KEY=${keys.gemini[0]}\nGOOGLE_GEMINI_BASE_URL=${upstream.geminiBase}\n`);
    chmodSync(env, 0o600);
    expect((await runKeyward(['users', 'add', 'gem', '--models', 'gemini-2.5-flash', '--db', db])).code).toBe(0);
    const token = (await runKeyward(['tokens', 'issue', 'gem', '--db', db])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--db', db, '--port', String(port)], { cwd: dir });
    try {
      expect(gateway.stderr).toMatch(/openai: 0 keys, anthropic: 0 keys, gemini: 1 key;/);
      const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: `http://127.0.0.1:${port}` } });
      expect((await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' })).text).toBe('toktoktoktoktok');
      expect(upstream.seen.at(-1)).toMatchObject({ provider: 'gemini', keyIndex: 0 });
      // With only Gemini keys, the app route asks Gemini.
      const app = await fetch(`http://127.0.0.1:${port}/api/ai/chat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"message":"hi"}' });
      expect(await app.json()).toMatchObject({ model: 'gemini-2.5-flash', text: 'toktoktoktoktok' });
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    expect(gateway.stdout + gateway.stderr).not.toContain(keys.gemini[0]!.slice(6, 30));
  });

  it("serves a config's OpenAI-compatible provider with keys from the .env, and refuses to start without them", async () => {
    const groqKey = 'gsk' + '_' + randomBytes(26).toString('hex');
    const groq = await startFakeUpstream({ openaiKeys: [groqKey], anthropicKeys: [] });
    const config = join(dir, 'groq.config.json');
    // The config's base URL is never called: GROQ_BASE_URL in the .env overrides it.
    writeFileSync(config, JSON.stringify({ providers: { groq: { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-*'] } } }));
    const env = join(dir, 'groq.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    chmodSync(env, 0o600);
    const refused = await runKeyward(['gateway', '--env-file', env, '--config', config, '--db', db, '--port', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the config names provider 'groq', but no GROQ_API_KEY is set/);
    expect(refused.stderr).toMatch(/put GROQ_API_KEY=… in .*groq\.env/);

    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\nGROQ_API_KEY=${groqKey}\nGROQ_BASE_URL=${groq.openaiBase}\n`);
    expect((await runKeyward(['users', 'add', 'lena', '--db', db])).code).toBe(0);
    const token = (await runKeyward(['tokens', 'issue', 'lena', '--db', db])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--config', config, '--db', db, '--port', String(port)], { cwd: dir });
    try {
      expect(gateway.stderr).toMatch(/openai: 1 key, anthropic: 0 keys, gemini: 0 keys, groq: 1 key;/);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: token, maxRetries: 0 });
      await client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
      expect(groq.seen.at(-1)).toMatchObject({ keyIndex: 0, path: '/v1/chat/completions' });
      expect(await gateway.signal('SIGHUP')).toMatch(/groq: 0 added, 0 removed, 1 kept\)/);
    } finally {
      expect(await gateway.stop()).toBe(0);
      await groq.close();
    }
    expect(gateway.stdout + gateway.stderr).not.toContain(groqKey.slice(8, 40));
  });

  it('lists the live tokens no gateway has accepted for a while (the ones to revoke), counting a token never used from its issue', async () => {
    await runKeyward(['users', 'add', 'stale', '--db', db]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await runKeyward(['tokens', 'issue', 'stale', '--db', db])).stdout.trim().slice(3, 15));
    const [old, recent, fresh, revoked] = ids as [string, string, string, string];
    const store = new SqliteStore(db);
    try {
      const day = 86_400_000;
      store.touchToken(old, Date.now() - 40 * day);
      store.touchToken(recent, Date.now() - 2 * day);
      store.touchToken(revoked, Date.now() - 40 * day);
      store.revokeToken(revoked);
    } finally {
      store.close();
    }
    const idle = await runKeyward(['tokens', 'list', '--user', 'stale', '--unused-for', '30d', '--db', db]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toMatch(new RegExp(`^${old}\\s+stale\\s+issued \\S+\\s+last used \\S+$`, 'm'));
    expect(idle.stdout.trim().split('\n')).toHaveLength(1);
    for (const id of [recent, fresh, revoked]) expect(idle.stdout).not.toContain(id);
    expect((await runKeyward(['tokens', 'list', '--user', 'stale', '--unused-for', '90d', '--db', db])).stdout).toBe('no live token has gone unused that long\n');
    const bad = await runKeyward(['tokens', 'list', '--unused-for', 'ages', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--unused-for .*use a length of time like 90m, 12h, 30d or 2w/);
  });

  it('refuses a shared response cache without the Redis to keep it in, saying what to do', async () => {
    const env = join(dir, 'shared-cache.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\n`);
    chmodSync(env, 0o600);
    const cfg = join(dir, 'shared-cache.json');
    writeFileSync(cfg, JSON.stringify({ cache: { ttlSeconds: 60, shared: true } }));
    const r = await runKeyward(['gateway', '--env-file', env, '--config', cfg, '--db', db, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"cache": \{ "shared": true \} keeps answers in the gateways' Redis, and this gateway has none/);
    expect(r.stderr).toMatch(/--redis redis:\/\/host:port/);
  });

  it("records what the gateway does itself in the history as this machine's gateway (the anomaly guard disabling a user)", async () => {
    const env = join(dir, 'anomaly.env');
    writeFileSync(env, `OPENAI_API_KEY=${keys.openai[0]}\nOPENAI_BASE_URL=${upstream.openaiBase}\n`);
    chmodSync(env, 0o600);
    const config = join(dir, 'anomaly.config.json');
    writeFileSync(config, JSON.stringify({ anomaly: { maxRequestsPerMinute: 2 } }));
    await runKeyward(['users', 'add', 'noisy', '--db', db]);
    const token = (await runKeyward(['tokens', 'issue', 'noisy', '--db', db])).stdout.trim();
    const port = await freePort();
    const gateway = await startKeyward(['gateway', '--env-file', env, '--config', config, '--db', db, '--port', String(port)], { cwd: dir });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(`http://127.0.0.1:${port}/v1/chat/completions`, chat(), bearer(token))).status);
      expect(statuses).toEqual([200, 200, 200, 403]);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const history = (await runKeyward(['history', '--user', 'noisy', '--db', db])).stdout.trim().split('\n');
    expect(history.at(-1)).toMatch(new RegExp(`  gateway@${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  user\\.disable  noisy  anomaly: more than 2 requests per minute$`));
    expect(history[0]).toMatch(/ {2}user\.add {2}noisy$/);
  });

  it('revokes a token by id', async () => {
    const list = await runKeyward(['tokens', 'list', '--user', 'alice', '--db', db]);
    const id = /^([0-9a-f]{12})\s+alice/m.exec(list.stdout)![1]!;
    expect((await runKeyward(['tokens', 'revoke', id, '--db', db])).stdout).toContain(`revoked token ${id}`);
    expect((await runKeyward(['tokens', 'list', '--db', db])).stdout).toMatch(/REVOKED/);
  });
});
