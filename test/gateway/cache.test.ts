import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { Redis } from 'ioredis';
import { createGateway, issueToken, type GatewayOptions } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, sleep, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('the response cache (`cache` in the config)', () => {
  let upstream: FakeUpstream;
  const opened: TestGateway[] = [];
  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 3 });
  });
  afterEach(async () => {
    upstream.faults.length = 0;
    for (const g of opened.splice(0)) await g.stop();
  });
  afterAll(() => upstream.close());

  async function gatewayFor(options: Partial<GatewayOptions> = {}, policy: Parameters<MemoryDirectory['addUser']>[1] = {}) {
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, { directory: dir, ledger, cache: { ttlSeconds: 60 }, ...options });
    opened.push(gw);
    dir.addUser('cara', policy);
    dir.addUser('dan', {});
    return { gw, ledger, cara: issueToken(dir, 'cara').token, dan: issueToken(dir, 'dan').token };
  }
  const ask = (gw: TestGateway, token: string, body = chat('gpt-4o-mini', { max_tokens: 20 }), headers: Record<string, string> = {}) => post(`${gw.origin}/v1/chat/completions`, body, { ...bearer(token), ...headers });
  const calls = () => upstream.seen.length;

  it("answers a user's repeated request from the cache, billed nothing and logged as a hit; another user or another body is not served it", async () => {
    const { gw, ledger, cara, dan } = await gatewayFor();
    const n = calls();
    const first = await ask(gw, cara);
    expect(first.headers.get('x-keyward-cache')).toBe('miss');
    const second = await ask(gw, cara);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-keyward-cache')).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(calls()).toBe(n + 1);
    // Another user's identical request, and another request of the same user, go upstream.
    expect((await ask(gw, dan)).headers.get('x-keyward-cache')).toBe('miss');
    expect((await ask(gw, cara, chat('gpt-4o-mini', { max_tokens: 21 }))).headers.get('x-keyward-cache')).toBe('miss');
    expect(calls()).toBe(n + 3);
    await until('the four calls are in the ledger', () => ledger.rows({}).length === 4);
    const [miss, hit] = ledger.rows({});
    expect(miss).toMatchObject({ outcome: 'ok', tokensOut: 3 });
    expect(miss!.costUsd).toBeGreaterThan(0);
    expect(hit).toMatchObject({ outcome: 'cache_hit', tokensIn: 0, tokensOut: 0, costUsd: 0, status: 200 });
  });

  it('takes Cache-Control from the client: no-cache fetches a fresh answer and keeps it, no-store keeps it out', async () => {
    const { gw, cara } = await gatewayFor();
    await ask(gw, cara);
    const n = calls();
    expect((await ask(gw, cara, undefined, { 'cache-control': 'no-cache' })).headers.get('x-keyward-cache')).toBe('refresh');
    expect(calls()).toBe(n + 1);
    expect((await ask(gw, cara)).headers.get('x-keyward-cache')).toBe('hit');
    const other = chat('gpt-4o-mini', { max_tokens: 7 });
    expect((await ask(gw, cara, other, { 'cache-control': 'no-store' })).headers.get('x-keyward-cache')).toBe('bypass');
    expect((await ask(gw, cara, other)).headers.get('x-keyward-cache')).toBe('miss');
    expect(calls()).toBe(n + 3);
  });

  it('counts a hit against the request limits, as any request', async () => {
    const { gw, cara } = await gatewayFor({}, { rpm: 3 });
    for (let i = 0; i < 3; i++) expect((await ask(gw, cara)).status).toBe(200);
    const refused = await ask(gw, cara);
    expect(refused.status).toBe(429);
  });

  it('keeps no stream, no error answer and no fallback answer; forgets after its TTL', async () => {
    const { gw, cara } = await gatewayFor({ cache: { ttlSeconds: 1 }, fallbacks: { 'gpt-4o-mini': ['gpt-4o'] } });
    const streamed = chat('gpt-4o-mini', { stream: true });
    let n = calls();
    for (let i = 0; i < 2; i++) expect((await ask(gw, cara, streamed)).headers.get('x-keyward-cache')).toBeNull();
    expect(calls()).toBe(n + 2);
    const body = chat('gpt-4o-mini', { max_tokens: 9 });
    upstream.fail({ status: 400, body: JSON.stringify({ error: { message: 'bad', type: 'invalid_request_error' } }) });
    expect((await ask(gw, cara, body)).status).toBe(400);
    expect((await ask(gw, cara, body)).headers.get('x-keyward-cache')).toBe('miss');
    // The request fell back to gpt-4o: that answer is not kept as gpt-4o-mini's.
    const fellBack = chat('gpt-4o-mini', { max_tokens: 8 });
    upstream.fail({ status: 503 }, { status: 503 }, { status: 503 });
    expect((await ask(gw, cara, fellBack)).headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');
    expect((await ask(gw, cara, fellBack)).headers.get('x-keyward-cache')).toBe('miss');
    n = calls();
    expect((await ask(gw, cara, body)).headers.get('x-keyward-cache')).toBe('hit');
    await sleep(1100);
    expect((await ask(gw, cara, body)).headers.get('x-keyward-cache')).toBe('miss');
    expect(calls()).toBe(n + 1);
  });

  it('the config takes a TTL in seconds and a size in megabytes', () => {
    expect(validateGatewayConfig({ cache: { ttlSeconds: 300, maxMegabytes: 16 } }).cache).toEqual({ ttlSeconds: 300, maxMegabytes: 16 });
    expect(() => validateGatewayConfig({ cache: { maxMegabytes: 16 } })).toThrow(/'cache' must be an object with 'ttlSeconds'/);
    expect(() => validateGatewayConfig({ cache: { ttlSeconds: 0 } })).toThrow(/'ttlSeconds' is a positive integer/);
  });
});

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('the shared response cache (`"shared": true`), in the gateways\' Redis', () => {
  let upstream: FakeUpstream;
  let redis: TestRedis;
  let client: Redis;
  const stores: RedisCounters[] = [];
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  const opened: TestGateway[] = [];
  let token: string;
  let other: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 3 });
    redis = await startRedis();
    client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, lazyConnect: true });
    client.on('error', () => {});
    await client.connect();
    dir.addUser('eli', {});
    dir.addUser('fay', {});
    token = issueToken(dir, 'eli').token;
    other = issueToken(dir, 'fay').token;
    // Two instances, each with its own counters on the one Redis (limits open, so Redis going away below is a cache matter only).
    for (let i = 0; i < 2; i++) {
      const counters = await RedisCounters.connect(redis.url, { commandTimeoutMs: 500 });
      stores.push(counters);
      opened.push(await startGateway(upstream, keys, { directory: dir, ledger, counters, limitsOnStoreFailure: 'open', cache: { ttlSeconds: 60, shared: true } }));
    }
  });
  afterAll(async () => {
    for (const g of opened) await g.stop();
    client.disconnect();
    for (const c of stores) await c.close();
    await redis.stop().catch(() => {});
    await upstream.close();
  });

  const ask = (gw: TestGateway, t: string) => post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { max_tokens: 20, messages: [{ role: 'user', content: 'shared?' }] }), bearer(t));

  it('serves on one instance what another stored, to the same user only, billed nothing', async () => {
    const [a, b] = opened as [TestGateway, TestGateway];
    const n = upstream.seen.length;
    const first = await ask(a, token);
    expect(first.headers.get('x-keyward-cache')).toBe('miss');
    await until('the answer is in Redis', async () => (await client.keys('kw:value:cache:*')).length === 1);
    const second = await ask(b, token);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-keyward-cache')).toBe('hit');
    expect(second.json).toEqual(first.json);
    expect(upstream.seen.length).toBe(n + 1);
    // Another user sending the same body is not served the first user's answer.
    expect((await ask(b, other)).headers.get('x-keyward-cache')).toBe('miss');
    expect(upstream.seen.length).toBe(n + 2);
    await until('all three calls are in the ledger', () => ledger.rows({}).length === 3);
    expect(ledger.rows({}).map((r) => [r.outcome, r.costUsd > 0])).toEqual([
      ['ok', true],
      ['cache_hit', false],
      ['ok', true],
    ]);
    // A TTL is set: the answer does not outlive it.
    const [key] = await client.keys('kw:value:cache:*');
    expect(await client.pttl(key!)).toBeGreaterThan(50_000);
  });

  it('goes to the provider, answering as without a cache, when Redis is away', async () => {
    await redis.stop();
    const n = upstream.seen.length;
    const r = await ask(opened[1]!, token);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-keyward-cache')).toBe('miss');
    expect(upstream.seen.length).toBe(n + 1);
    expect(opened[1]!.logs.join('')).toMatch(/the shared response cache in Redis failed/);
  });

  it('needs the Redis connection, and the config takes shared as true or false', () => {
    expect(() => createGateway({ directory: new MemoryDirectory(), upstreams: {}, cache: { ttlSeconds: 5, shared: true } })).toThrow(/cache.shared keeps answers where every instance reads them, and these counters share nothing/);
    expect(validateGatewayConfig({ cache: { ttlSeconds: 5, shared: true } }).cache).toEqual({ ttlSeconds: 5, shared: true });
    expect(() => validateGatewayConfig({ cache: { ttlSeconds: 5, shared: 'yes' } })).toThrow(/'shared' is true or false/);
  });
});
