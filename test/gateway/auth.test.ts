import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authenticator } from '../../src/gateway/auth.js';
import { issueToken } from '../../src/gateway/index.js';
import { apiSecurityHeaders } from '../../src/recommended-headers.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { listen, type TestServer } from '../helpers/http-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('who may call the gateway', () => {
  let upstream: FakeUpstream;
  let jwks: TestServer;
  let gw: TestGateway;
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = await listen(createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))));
    gw = await startGateway(upstream, keys, {
      directory: dir,
      ledger,
      jwt: { jwksUrl: `${jwks.origin}/.well-known/jwks.json`, issuer: 'https://app.example', audience: 'keyward', createUsers: { rpm: 5 } },
      corsOrigins: ['https://app.example'],
      models: ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5'],
      chat: { provider: 'openai', model: 'gpt-4o-mini', maxTokens: 64, system: 'be brief' },
    });
    dir.addUser('alice', { models: ['gpt-4o-mini'] });
    token = issueToken(dir, 'alice').token;
  });
  afterAll(async () => {
    await gw.stop();
    await jwks.close();
    await upstream.close();
  });

  const sign = (claims: Record<string, unknown>, opts: { iss?: string; exp?: string } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(opts.iss ?? 'https://app.example').setAudience('keyward').setIssuedAt().setExpirationTime(opts.exp ?? '5m').sign(privateKey);

  it('refuses a request without a token, saying how to send one', async () => {
    const r = await post(`${gw.origin}/v1/chat/completions`, chat());
    expect(r.status).toBe(401);
    expect(String((r.json.error as { message: string }).message)).toMatch(/Authorization: Bearer kw_/);
  });

  it('refuses a provider key sent by a client, and never forwards it', async () => {
    const clientKey = fakeOpenAiKey();
    const before = upstream.seen.length;
    const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(clientKey));
    expect(r.status).toBe(401);
    expect(String((r.json.error as { message: string }).message)).toMatch(/never accepts provider keys/);
    expect(r.text).not.toContain(clientKey.slice(8));
    expect(upstream.seen.length).toBe(before);
    expect(gw.logs.join('')).not.toContain(clientKey.slice(8));
  });

  it('refuses a forged token with the right shape', async () => {
    const forged = token.slice(0, 16) + 'A'.repeat(token.length - 16);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(forged))).status).toBe(401);
  });

  it('accepts a token until it expires, then refuses it saying when it expired', async () => {
    const expiresAt = Date.now() + 300;
    const short = issueToken(dir, 'alice', { expiresAt }).token;
    const lasting = issueToken(dir, 'alice', { expiresAt: Date.now() + 3_600_000 }).token;
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(short))).status).toBe(200);
    await until('the token has expired', () => Date.now() > expiresAt);
    const before = upstream.seen.length;
    const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(short));
    expect(r.status).toBe(401);
    expect(String((r.json.error as { message: string }).message)).toBe(`this gateway token expired at ${new Date(expiresAt).toISOString()}; ask the gateway's operator for a new one`);
    expect(upstream.seen.length).toBe(before);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(lasting))).status).toBe(200);
  });

  it("refuses a user's token from outside the networks it may call from, before anything is forwarded", async () => {
    dir.addUser('inside', { allowIps: ['127.0.0.0/8'] });
    dir.addUser('outside', { allowIps: ['10.0.0.0/8', '2001:db8::/32'] });
    const inside = issueToken(dir, 'inside').token;
    const outside = issueToken(dir, 'outside').token;
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(inside))).status).toBe(200);
    const before = upstream.seen.length;
    const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(outside));
    expect(r.status).toBe(403);
    expect(String((r.json.error as { message: string }).message)).toBe("user 'outside' may not call the gateway from this address (127.0.0.1)");
    // The list itself is the operator's business, not the caller's.
    expect(r.text).not.toContain('10.0.0.0');
    const models = await fetch(`${gw.origin}/v1/models`, { headers: bearer(outside) });
    expect(models.status).toBe(403);
    // A token used outside its networks has most likely leaked: one alert, not one per request.
    const tokenId = outside.slice(3, 15);
    const alertLines = gw.logs.join('').split('\n').filter((l) => l.includes('"alert":"outside_network"'));
    expect(alertLines).toHaveLength(1);
    expect(alertLines[0]).toContain(`called from 127.0.0.1, outside its allowed networks, with token ${tokenId}`);
    expect(alertLines[0]).toContain(`keyward tokens revoke ${tokenId}`);
    expect(upstream.seen.length).toBe(before);
    // Behind a trusted proxy, the address is the one X-Forwarded-For gives.
    const proxied = await startGateway(upstream, keys, { directory: dir, ledger, trustProxy: 1 });
    try {
      dir.addUser('office', { allowIps: ['203.0.113.0/24'] });
      const office = issueToken(dir, 'office').token;
      expect((await post(`${proxied.origin}/v1/chat/completions`, chat(), { ...bearer(office), 'x-forwarded-for': '203.0.113.9' })).status).toBe(200);
      expect((await post(`${proxied.origin}/v1/chat/completions`, chat(), { ...bearer(office), 'x-forwarded-for': '198.51.100.1' })).status).toBe(403);
      expect((await post(`${proxied.origin}/v1/chat/completions`, chat(), bearer(office))).status).toBe(403);
    } finally {
      await proxied.stop();
    }
  });

  it('judges an expired token without catching up with a shared directory (an expiry cannot move)', async () => {
    const shared = Object.assign(new MemoryDirectory(), { catchUp: vi.fn(async () => false) });
    shared.addUser('lapsed', {});
    const lapsed = issueToken(shared, 'lapsed', { expiresAt: Date.now() - 1 }).token;
    const forged = lapsed.slice(0, 16) + 'B'.repeat(lapsed.length - 16);
    const auth = new Authenticator(shared);
    expect(() => auth.authenticate({ authorization: `Bearer ${lapsed}` })).toThrow(/expired at/);
    expect(shared.catchUp).not.toHaveBeenCalled();
    // An unknown token may have been issued on another machine a moment ago: that one does catch up.
    await expect(auth.authenticate({ authorization: `Bearer ${forged}` })).rejects.toThrow(/invalid gateway token/);
    expect(shared.catchUp).toHaveBeenCalledTimes(1);
  });

  it('accepts the token in x-api-key too (the Anthropic SDK)', async () => {
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), { 'x-api-key': token })).status).toBe(200);
  });

  it("refuses a model outside the user's list and outside the gateway's list", async () => {
    const r = await post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o'), bearer(token));
    expect(r.status).toBe(403);
    expect(String((r.json.error as { message: string }).message)).toMatch(/not allowed for this user/);
    const jwt = await sign({ sub: 'bob' });
    const r2 = await post(`${gw.origin}/v1/chat/completions`, chat('o3'), bearer(jwt));
    expect(String((r2.json.error as { message: string }).message)).toMatch(/not enabled on this gateway/);
  });

  it('accepts a JWT from the app\'s own login, verified against its JWKS, and creates the user with the default policy', async () => {
    const jwt = await sign({ sub: 'carol' });
    const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(jwt));
    expect(r.status).toBe(200);
    expect(dir.getUser('carol')).toMatchObject({ rpm: 5 });
  });

  it('refuses a JWT from another issuer or expired', async () => {
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(await sign({ sub: 'carol' }, { iss: 'https://evil.example' })))).status).toBe(401);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(await sign({ sub: 'carol' }, { exp: '-1m' })))).status).toBe(401);
  });

  it('filters the model list to what the user may use', async () => {
    const r = await fetch(`${gw.origin}/v1/models`, { headers: bearer(token) });
    const j = (await r.json()) as { data: Array<{ id: string }> };
    expect(j.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
  });

  it('serves the simple app route: { message } in, { text, usage } out, with the model the server chose', async () => {
    const r = await post(`${gw.origin}/api/ai/chat`, { message: 'hello' }, bearer(token));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ text: 'toktoktoktoktok', model: 'gpt-4o-mini', usage: { inputTokens: 12, outputTokens: 5 } });
    const sent = upstream.seen.at(-1)!.body!;
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.messages).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }]);
    const bad = await post(`${gw.origin}/api/ai/chat`, { messages: [{ role: 'robot', content: 1 }] }, bearer(token));
    expect(bad.status).toBe(400);
    expect(String((bad.json.error as { message: string }).message)).toMatch(/messages\[0\]/);
  });

  it('sends the security headers on every response, errors included', async () => {
    const expected = apiSecurityHeaders();
    const replies = [
      await fetch(`${gw.origin}/`),
      await fetch(`${gw.origin}/nope`),
      await fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', body: '{}' }),
      await fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify(chat()) }),
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 404, 401, 200]);
    for (const r of replies) for (const [name, value] of Object.entries(expected)) expect(r.headers.get(name)).toBe(value);
  });

  it('keeps CORS off except for the allowlisted origin', async () => {
    const allowed = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    // A preflight that names no headers is told the credential headers of every SDK.
    const bare = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(bare.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-api-key, x-goog-api-key, x-keyward-tag');
    const other = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://evil.example', ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify(chat()) });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("a token's last use", () => {
  it('is recorded when a gateway accepts the token, once an hour at most, and never for a refused one', () => {
    const dir = new MemoryDirectory();
    dir.addUser('lu', {});
    const { token, record } = issueToken(dir, 'lu');
    const revoked = issueToken(dir, 'lu');
    dir.revokeToken(revoked.record.id);
    const touch = vi.spyOn(dir, 'touchToken');
    const auth = new Authenticator(dir);
    const before = Date.now();
    auth.authenticate(bearer(token));
    auth.authenticate(bearer(token));
    expect(() => auth.authenticate(bearer(revoked.token))).toThrow(/revoked/);
    expect(touch).toHaveBeenCalledTimes(1);
    const listed = dir.listTokens();
    expect(listed.find((t) => t.id === record.id)!.lastUsedAt).toBeGreaterThanOrEqual(before);
    expect(listed.find((t) => t.id === revoked.record.id)!.lastUsedAt).toBeUndefined();
    // An hour on, the next use is recorded again.
    vi.useFakeTimers({ now: Date.now() + 3_600_001, toFake: ['Date'] });
    try {
      auth.authenticate(bearer(token));
    } finally {
      vi.useRealTimers();
    }
    expect(touch).toHaveBeenCalledTimes(2);
  });

  it('is only a note: a directory that cannot record it still lets the request through', () => {
    const dir = new MemoryDirectory();
    dir.addUser('ro', {});
    const { token } = issueToken(dir, 'ro');
    vi.spyOn(dir, 'touchToken').mockImplementation(() => {
      throw new Error('attempt to write a readonly database');
    });
    expect(new Authenticator(dir).authenticate(bearer(token))).toMatchObject({ user: { name: 'ro' } });
  });
});
