import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, type Alert } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
/** $0.001 a token either way, so budgets are easy to reason about. */
const prices = { 'test-model': { input: 1000, output: 1000 } };

describe('rate limits and budgets (in-memory store)', () => {
  let upstream: FakeUpstream;
  let slow: FakeUpstream;
  const opened: TestGateway[] = [];
  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, promptTokens: 10, outputTokens: 5 });
    slow = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, promptTokens: 10, outputTokens: 40, chunkDelayMs: 25 });
  });
  afterEach(async () => {
    for (const g of opened.splice(0)) {
      await g.stop();
    }
  });
  afterAll(async () => {
    await upstream.close();
    await slow.close();
  });

  async function gatewayWith(user: Parameters<MemoryDirectory['addUser']>[1], options: Parameters<typeof startGateway>[2] = {}, up = upstream) {
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    dir.addUser('u', user);
    const token = issueToken(dir, 'u').token;
    const gw = await startGateway(up, keys, { directory: dir, ledger, prices, ...options });
    opened.push(gw);
    return { gw, token, ledger, dir };
  }

  it("refuses a request once the user's requests-per-minute limit is reached, with Retry-After and x-ratelimit headers in OpenAI's error shape", async () => {
    const { gw, token } = await gatewayWith({ rpm: 3 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token));
      statuses.push(r.status);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(r.headers.get('x-ratelimit-remaining-requests')).toBe(String(2 - i));
    }
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.json.error).toMatchObject({ type: 'rate_limit_exceeded' });
    expect(String((refused.json.error as { message: string }).message)).toMatch(/3 requests per minute/);
  });

  it("answers a refusal on the Anthropic route in Anthropic's error shape", async () => {
    const { gw, token } = await gatewayWith({ rpm: 1 });
    const body = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    expect((await post(`${gw.origin}/v1/messages`, body, { 'x-api-key': token })).status).toBe(200);
    const r = await post(`${gw.origin}/v1/messages`, body, { 'x-api-key': token });
    expect(r.status).toBe(429);
    expect(r.json).toMatchObject({ type: 'error', error: { type: 'rate_limit_exceeded' } });
  });

  it('limits each client address, reading X-Forwarded-For only through the trusted proxy setting', async () => {
    const { gw, token } = await gatewayWith({}, { ipLimits: { rpm: 2 }, trustProxy: 1 });
    const from = (ip: string) => post(`${gw.origin}/v1/chat/completions`, chat(), { ...bearer(token), 'x-forwarded-for': `203.0.113.9, ${ip}` });
    expect((await from('10.0.0.1')).status).toBe(200);
    expect((await from('10.0.0.1')).status).toBe(200);
    const third = await from('10.0.0.1');
    expect(third.status).toBe(429);
    expect(String((third.json.error as { message: string }).message)).toMatch(/client address/);
    expect((await from('10.0.0.2')).status).toBe(200);
  });

  it('ignores X-Forwarded-For when no proxy is trusted (a client cannot pick its own address)', async () => {
    const { gw, token } = await gatewayWith({}, { ipLimits: { rpm: 2 } });
    const from = (ip: string) => post(`${gw.origin}/v1/chat/completions`, chat(), { ...bearer(token), 'x-forwarded-for': ip });
    expect((await from('10.0.0.1')).status).toBe(200);
    expect((await from('10.0.0.2')).status).toBe(200);
    expect((await from('10.0.0.3')).status).toBe(429);
  });

  it('holds tokens-per-minute on streams through the reservation: a request that does not fit beside a running stream is refused, then admitted once the stream settles', async () => {
    const { gw, token, ledger } = await gatewayWith({ tpm: 300 }, {}, slow);
    const body = chat('test-model', { stream: true, max_tokens: 100 });
    const first = fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(body) });
    const r1 = await first;
    expect(r1.status).toBe(200);
    // The first stream is open and holds its reservation (100 + ~37 prompt tokens) of the 300.
    const plain = chat('test-model', { max_tokens: 100 });
    const second = await post(`${gw.origin}/v1/chat/completions`, plain, bearer(token));
    expect(second.status).toBe(200);
    const third = await post(`${gw.origin}/v1/chat/completions`, plain, bearer(token));
    expect(third.status).toBe(429);
    expect(third.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    await r1.text();
    // Settled to the real 10 + 40 tokens each: room again (the ledger row is written after the settlement).
    await until('all three were settled', () => ledger.rows({}).length >= 2);
    const fourth = await post(`${gw.origin}/v1/chat/completions`, body, bearer(token));
    expect(fourth.status).toBe(200);
  });

  it('refuses a request that could never fit the tokens-per-minute limit, saying why', async () => {
    const { gw, token } = await gatewayWith({ tpm: 100 });
    const r = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5000 }), bearer(token));
    expect(r.status).toBe(429);
    expect(String((r.json.error as { message: string }).message)).toMatch(/lower max_tokens/);
  });

  it('reserves max_tokens for each of n choices', async () => {
    const { gw, token } = await gatewayWith({ tpm: 200 });
    // 60 tokens a choice fits alone; three choices of 60 plus the prompt do not.
    const one = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 60 }), bearer(token));
    expect(one.status).toBe(200);
    const three = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 60, n: 3 }), bearer(token));
    expect(three.status).toBe(429);
    const bad = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { n: 0 }), bearer(token));
    expect(bad.status).toBe(400);
    expect(String((bad.json.error as { message: string }).message)).toMatch(/'n' must be a positive integer/);
  });

  it("refuses with a clear error once the user's hard budget is spent, and never bills past it", async () => {
    // Each call reserves (prompt estimate + 10 output) tokens and costs 15 tokens = $0.015.
    const { gw, token, ledger } = await gatewayWith({ budgetUsd: 0.1, period: 'day' });
    const body = chat('test-model', { max_tokens: 10 });
    let ok = 0;
    let refused;
    for (let i = 0; i < 20; i++) {
      const r = await post(`${gw.origin}/v1/chat/completions`, body, bearer(token));
      if (r.status === 200) ok++;
      else {
        refused = r;
        break;
      }
    }
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(refused?.status).toBe(402);
    expect(refused?.json.error).toMatchObject({ type: 'budget_exceeded' });
    expect(String((refused?.json.error as { message: string }).message)).toMatch(/budget reached.*\$0\.10.*resets in/);
    await until('every admitted request is in the ledger', () => ledger.rows({}).filter((r) => r.status === 200).length >= ok);
    const spent = ledger.rows({}).reduce((s, r) => s + r.costUsd, 0);
    expect(spent).toBeLessThanOrEqual(0.1);
    expect(spent).toBeGreaterThan(0);
  });

  it('sends one soft-budget alert a period, however many requests pass it', async () => {
    const alerts: Alert[] = [];
    const { gw, token } = await gatewayWith({ softBudgetUsd: 0.02, period: 'month' }, { alerts: { onAlert: (a) => alerts.push(a) } });
    for (let i = 0; i < 6; i++) expect((await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 10 }), bearer(token))).status).toBe(200);
    expect(alerts.filter((a) => a.kind === 'soft_budget')).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(/soft budget of \$0\.02/);
  });

  it('sends one budget_reached alert a period when a hard budget refuses, per user and for the global budget', async () => {
    const alerts: Alert[] = [];
    const { gw, token, dir } = await gatewayWith({ budgetUsd: 0.0001, period: 'day' }, { alerts: { onAlert: (a) => alerts.push(a) }, globalBudget: { usd: 0.0002, period: 'day' } });
    const body = chat('test-model', { max_tokens: 100 });
    for (let i = 0; i < 3; i++) expect((await post(`${gw.origin}/v1/chat/completions`, body, bearer(token))).status).toBe(402);
    const mine = alerts.filter((a) => a.kind === 'budget_reached');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ user: 'u', userId: dir.getUser('u')!.id });
    expect(mine[0]!.message).toMatch(/^user 'u' has reached its hard budget and its requests are refused \(budget reached: .*\$0\.00.*resets in .*\); raise it with 'keyward users set u --budget-usd …'/);
    // The global budget refuses another user: one alert for the gateway, naming no user.
    dir.addUser('w', {});
    const other = issueToken(dir, 'w').token;
    for (let i = 0; i < 2; i++) expect((await post(`${gw.origin}/v1/chat/completions`, body, bearer(other))).status).toBe(402);
    const global = alerts.filter((a) => a.kind === 'budget_reached' && a.user === undefined);
    expect(global).toHaveLength(1);
    expect(global[0]!.message).toMatch(/^the gateway's global budget refuses requests now/);
  });

  it('refuses when the global budget is spent, for every user', async () => {
    const { gw, token, dir } = await gatewayWith({}, { globalBudget: { usd: 0.05, period: 'day' } });
    dir.addUser('v', {});
    const other = issueToken(dir, 'v').token;
    const body = chat('test-model', { max_tokens: 10 });
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await post(`${gw.origin}/v1/chat/completions`, body, bearer(i % 2 ? token : other))).status;
    expect(status).toBe(402);
    const r = await post(`${gw.origin}/v1/chat/completions`, body, bearer(other));
    expect(String((r.json.error as { message: string }).message)).toMatch(/global spending limit/);
  });

  it('a client that disconnects mid-stream cancels the upstream request and is billed for what was produced', async () => {
    const { gw, token, ledger } = await gatewayWith({ budgetUsd: 5 }, {}, slow);
    const abortedBefore = slow.aborted;
    const ac = new AbortController();
    const r = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(chat('test-model', { stream: true, max_tokens: 100 })), signal: ac.signal });
    const reader = r.body!.getReader();
    let got = 0;
    while (got < 3) {
      const { value } = await reader.read();
      got += (new TextDecoder().decode(value).match(/data:/g) ?? []).length;
    }
    ac.abort();
    await until('the upstream saw the cancel and the ledger has the row', () => slow.aborted !== abortedBefore && ledger.rows({}).length > 0);
    expect(slow.aborted).toBe(abortedBefore + 1);
    const row = ledger.rows({})[0]!;
    expect(row.outcome).toBe('client_disconnect');
    expect(row.tokensOut).toBeGreaterThanOrEqual(3);
    expect(row.tokensOut).toBeLessThan(40);
    expect(row.costUsd).toBeGreaterThan(0);
  });
});
