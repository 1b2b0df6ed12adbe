import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { RELOADABLE } from '../../src/gateway/server.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('a new policy without a restart (setPolicy, SIGHUP in `keyward gateway`)', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 2 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger, models: ['gpt-4o-mini', 'gpt-4o'], prices: { 'gpt-4o-mini': { input: 1, output: 1 } }, cache: { ttlSeconds: 60 } });
    dir.addUser('rae', {});
    token = issueToken(dir, 'rae').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const ask = (model = 'gpt-4o-mini') => post(`${gw.origin}/v1/chat/completions`, chat(model, { max_tokens: 5 }), bearer(token));

  it('applies the models, prices and aliases given to the requests that follow', async () => {
    expect((await ask('gpt-4o')).status).toBe(200);
    gw.gateway.setPolicy({ models: ['gpt-4o-mini', 'quick'], prices: { 'gpt-4o-mini': { input: 1000, output: 1000 } }, aliases: { quick: 'gpt-4o-mini' }, cache: { ttlSeconds: 60 } });
    expect((await ask('gpt-4o')).status).toBe(403);
    const before = ledger.rows({}).length;
    expect((await ask('quick')).status).toBe(200);
    expect(upstream.seen.at(-1)!.body?.model).toBe('gpt-4o-mini');
    await until('the call is in the ledger', () => ledger.rows({}).length > before);
    // 12 tokens in and 2 out at $1000 a million.
    expect(ledger.rows({}).at(-1)!.costUsd).toBeCloseTo(0.014, 9);
  });

  it('keeps the cache when its settings did not change, and starts a new one when they did', async () => {
    const body = chat('gpt-4o-mini', { max_tokens: 3 });
    await post(`${gw.origin}/v1/chat/completions`, body, bearer(token));
    const base = { models: ['gpt-4o-mini'] };
    gw.gateway.setPolicy({ ...base, cache: { ttlSeconds: 60 } });
    expect((await post(`${gw.origin}/v1/chat/completions`, body, bearer(token))).headers.get('x-keyward-cache')).toBe('hit');
    gw.gateway.setPolicy({ ...base, cache: { ttlSeconds: 30 } });
    expect((await post(`${gw.origin}/v1/chat/completions`, body, bearer(token))).headers.get('x-keyward-cache')).toBe('miss');
    gw.gateway.setPolicy(base);
    expect((await post(`${gw.origin}/v1/chat/completions`, body, bearer(token))).headers.get('x-keyward-cache')).toBeNull();
  });

  it('changes nothing when the app route would name a provider the gateway lacks', async () => {
    gw.gateway.setPolicy({ models: ['gpt-4o-mini'], aliases: { quick: 'gpt-4o-mini' } });
    expect(() => gw.gateway.setPolicy({ models: ['gpt-4o'], chat: { provider: 'nowhere', model: 'x' } })).toThrow(/chat: provider 'nowhere' is neither built in/);
    expect((await ask('quick')).status).toBe(200);
    expect((await ask('gpt-4o')).status).toBe(403);
  });

  it('applies each of the other fields too: CORS, body limit, secrets in prompts, default output cap, fallbacks, limits per address', async () => {
    const base = { models: ['gpt-4o-mini', 'gpt-4o'] };
    gw.gateway.setPolicy({ ...base, corsOrigins: ['https://app.example'], maxBodyBytes: 2000, promptSecrets: 'block' });
    const preflight = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { note: 'x'.repeat(3000) }), bearer(token))).status).toBe(413);
    const secret = await post(`${gw.origin}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `key: ${fakeOpenAiKey()}` }] }, bearer(token));
    expect(secret.status).toBe(400);
    expect((secret.json.error as { type: string }).type).toBe('secret_in_prompt');

    // The reservation of a request without max_tokens is its prompt estimate plus the default cap.
    dir.addUser('capped', { tpm: 100_000 });
    const capped = issueToken(dir, 'capped').token;
    gw.gateway.setPolicy({ ...base, defaultMaxTokens: 7 });
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const r = await post(`${gw.origin}/v1/chat/completions`, body, bearer(capped));
    expect(r.headers.get('x-ratelimit-remaining-tokens')).toBe(String(100_000 - Math.ceil(body.length / 3) - 7));

    gw.gateway.setPolicy({ ...base, fallbacks: { 'gpt-4o-mini': ['gpt-4o'] } });
    upstream.fail({ status: 503 }, { status: 503 }, { status: 503 });
    expect((await ask()).headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');

    gw.gateway.setPolicy({ ...base, ipLimits: { rpm: 1 } });
    expect((await ask()).status).toBe(200);
    const limited = await ask();
    expect(limited.status).toBe(429);
    expect((limited.json.error as { message: string }).message).toMatch(/for this client address/);
    gw.gateway.setPolicy(base);
    expect((await ask()).status).toBe(200);
  });

  it('names the fields it takes', () => {
    expect([...RELOADABLE].sort()).toEqual(['aliases', 'cache', 'chat', 'corsOrigins', 'defaultMaxTokens', 'fallbackPrice', 'fallbacks', 'ipLimits', 'maxBodyBytes', 'maxBufferedBytes', 'maxFileBytes', 'maxUploadBytes', 'models', 'prices', 'promptSecretRules', 'promptSecrets', 'realtime', 'sharedObjects', 'teams']);
  });
});
