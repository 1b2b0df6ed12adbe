import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, seedBudgets, type Alert } from '../../src/gateway/index.js';
import { budgetSeeder } from '../../src/gateway/policy.js';
import { loadGatewayConfig } from '../../src/gateway/config.js';
import { readEnvFile, upstreamFromEnv } from '../../src/gateway/env.js';
import { gemini } from '../../src/gateway/providers/gemini.js';
import { openai } from '../../src/gateway/providers/openai.js';
import { Prices } from '../../src/gateway/providers/prices.js';
import { MemoryCounters, MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, sleep } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kw-gw-ops-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('anomaly auto-disable', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  const alerts: Alert[] = [];
  const dir = new MemoryDirectory();
  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    gw = await startGateway(upstream, keys, { directory: dir, anomaly: { maxRefusalsPerMinute: 3 }, alerts: { onAlert: (a) => alerts.push(a) } });
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  it('disables a user who keeps hammering after being refused, and says so in an alert', async () => {
    dir.addUser('hammer', { rpm: 1 });
    const t = issueToken(dir, 'hammer').token;
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(t))).status);
    expect(statuses).toEqual([200, 429, 429, 429, 429, 403, 403]);
    expect(dir.getUser('hammer')).toMatchObject({ disabled: true, disabledReason: expect.stringMatching(/^anomaly: more than 3 refused/) });
    expect(alerts.find((a) => a.kind === 'anomaly_disabled')?.message).toMatch(/keyward users enable hammer/);
  });

  it('disables a user called from more addresses within an hour than its backend would, as a leaked token is', async () => {
    const spread = await startGateway(upstream, keys, { directory: dir, trustProxy: 1, anomaly: { maxAddressesPerHour: 3 }, alerts: { onAlert: (a) => alerts.push(a) } });
    try {
      dir.addUser('backend', {});
      const t = issueToken(dir, 'backend').token;
      const from = (ip: string) => post(`${spread.origin}/v1/chat/completions`, chat(), { ...bearer(t), 'x-forwarded-for': ip });
      // The same few addresses, again and again: fine.
      for (let i = 0; i < 3; i++) for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect((await from(ip)).status).toBe(200);
      // A fourth: disabled, on every instance (the directory), and said why.
      expect((await from('198.51.100.7')).status).toBe(200);
      expect((await from('10.0.0.1')).status).toBe(403);
      expect(dir.getUser('backend')).toMatchObject({ disabled: true, disabledReason: expect.stringMatching(/^anomaly: called from more than 3 addresses within an hour/) });
      expect(alerts.find((a) => a.kind === 'anomaly_disabled' && a.user === 'backend')?.message).toMatch(/keyward users enable backend/);
    } finally {
      await spread.stop();
    }
  });
});

describe('state that outlives a restart', () => {
  it('seeds in-memory budgets from the ledger, so a restart never hands out a fresh budget', async () => {
    const store = new SqliteStore(join(tmp, 'seed.db'));
    const u = store.addUser('spent', { budgetUsd: 0.1, period: 'day' });
    store.append([{ ts: Date.now(), requestId: 'r1', userId: u.id, tokenId: 't', provider: 'openai', route: 'chat', model: 'm', tokensIn: 1, tokensOut: 1, costUsd: 0.09, latencyMs: 1, status: 200, outcome: 'ok' }]);
    const counters = new MemoryCounters();
    await seedBudgets(counters, store, store.listUsers(), undefined);
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const gw = await startGateway(upstream, keys, { directory: store, counters, ledger: store, prices: { 'test-model': { input: 1000, output: 1000 } } });
    try {
      const r = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 10 }), bearer(issueToken(store, 'spent').token));
      expect(r.status).toBe(402);
    } finally {
      await gw.stop();
      await upstream.close();
      store.close();
    }
  });
});

describe('budgets in memory start from the ledger when first used', () => {
  const prices = { 'test-model': { input: 1000, output: 1000 } };
  const row = (userId: string, costUsd: number, requestId: string) => ({ ts: Date.now(), requestId, userId, tokenId: 't', provider: 'openai', route: 'chat', model: 'm', tokensIn: 1, tokensOut: 1, costUsd, latencyMs: 1, status: 200, outcome: 'ok' });

  it('after a restart, and for a budget given to a user who has been spending, without seeding at start', async () => {
    const store = new SqliteStore(join(tmp, 'lazy.db'));
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const spent = store.addUser('spent', { budgetUsd: 0.1, period: 'day' });
    const free = store.addUser('free', {});
    store.addUser('third', {});
    store.append([row(spent.id, 0.09, 'r1'), row(free.id, 0.5, 'r2')]);
    // The gateway's own default counters: nothing is seeded by hand.
    let gw = await startGateway(upstream, keys, { directory: store, ledger: store, prices });
    const ask = (name: string) => post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 10 }), bearer(issueToken(store, name).token));
    try {
      // $0.09 of $0.10 spent before this process started: the request's worst case does not fit.
      expect((await ask('spent')).status).toBe(402);
      // 'free' has no budget yet: it spends. Given one below what it has spent, it is refused at once.
      expect((await ask('free')).status).toBe(200);
      store.setUser('free', { budgetUsd: 0.4, period: 'month' });
      const r = await ask('free');
      expect(r.status).toBe(402);
      expect((r.json.error as { message: string }).message).toMatch(/spending limit of \$0\.40/);
      await gw.stop();
      // Restarted with a global budget of $1 a month: it starts from everyone's spend this month.
      store.append([row(free.id, 0.4, 'r3')]);
      gw = await startGateway(upstream, keys, { directory: store, ledger: store, prices, globalBudget: { usd: 1, period: 'month' } });
      const g = await ask('third');
      expect(g.status).toBe(402);
      expect((g.json.error as { message: string }).message).toMatch(/global spending limit/);
    } finally {
      await gw.stop();
      await upstream.close();
      store.close();
    }
  });

  it('a budget taken away and given back in the same period counts what was spent without it', async () => {
    const store = new SqliteStore(join(tmp, 'gap.db'));
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    store.addUser('gap', { budgetUsd: 0.05, period: 'day' });
    const gw = await startGateway(upstream, keys, { directory: store, ledger: store, prices, budgetWatchMs: 20 });
    const token = issueToken(store, 'gap').token;
    const ask = () => post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 10 }), bearer(token));
    try {
      // Each answer costs $0.017 (17 tokens); each request reserves about $0.04 first.
      expect((await ask()).status).toBe(200);
      store.setUser('gap', { budgetUsd: null });
      await sleep(100);
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      await sleep(100);
      // $0.051 spent in all: with the $0.04 reservation, over $0.06. Counting only the $0.017 spent
      // under the first budget, it would fit.
      store.setUser('gap', { budgetUsd: 0.06, period: 'day' });
      const r = await ask();
      expect(r.status).toBe(402);
      expect((r.json.error as { message: string }).message).toMatch(/spending limit of \$0\.06/);
    } finally {
      await gw.stop();
      await upstream.close();
      store.close();
    }
  });

  it('reads nothing for a counter that is not a budget', () => {
    const seed = budgetSeeder(new MemoryLedger());
    expect(seed('u:abc:rpm')).toBe(0);
    expect(seed('b:u:abc:x2026')).toBe(0);
  });
});

describe('configuration', () => {
  it('names a bad config field and what it must be', () => {
    const f = join(tmp, 'bad.json');
    writeFileSync(f, JSON.stringify({ globalBudget: { usd: 'ten', period: 'day' } }));
    expect(() => loadGatewayConfig(f)).toThrow(/'globalBudget' must be an object whose 'usd' is a number/);
    writeFileSync(f, JSON.stringify({ cors: ['x'] }));
    expect(() => loadGatewayConfig(f)).toThrow(/unknown field 'cors'/);
    writeFileSync(f, JSON.stringify({ jwt: { jwksUrl: 'https://login.example/jwks', createUsers: { allowIps: ['10.0.0.0/8', 'office'] } } }));
    expect(() => loadGatewayConfig(f)).toThrow(/'allowIps' is a list of IP addresses and CIDR ranges \('office' is neither\)/);
    writeFileSync(f, '{ "models": [');
    expect(() => loadGatewayConfig(f)).toThrow(/not valid JSON/);
    writeFileSync(f, JSON.stringify({ models: ['gpt-4o-mini'], chat: { provider: 'openai', model: 'gpt-4o-mini' }, ipLimits: { rpm: 60 }, trustProxy: 1, prices: { 'my-model': { input: 1, output: 2 } } }));
    expect(loadGatewayConfig(f).ipLimits).toEqual({ rpm: 60 });
    writeFileSync(f, JSON.stringify({ chat: { provider: 'gemini', model: 'gemini-2.5-flash' } }));
    expect(loadGatewayConfig(f).chat).toEqual({ provider: 'gemini', model: 'gemini-2.5-flash' });
    writeFileSync(f, JSON.stringify({ chat: { provider: 'mistral', model: 'x' } }));
    expect(() => loadGatewayConfig(f)).toThrow(/'chat' names provider 'mistral', which is neither built in \(openai, anthropic, gemini\) nor one of "providers"/);
    writeFileSync(f, JSON.stringify({ chat: { provider: 'mistral', model: 'mistral-small-latest' }, providers: { mistral: { baseUrl: 'https://api.mistral.ai/v1', models: ['mistral-*'] } } }));
    expect(loadGatewayConfig(f).chat?.provider).toBe('mistral');
  });

  it('pools every OPENAI_API_KEY* variable and comma-separated values, with the SDK meaning of the base URL', () => {
    const [a, b, c] = [fakeOpenAiKey(), fakeOpenAiKey(), fakeOpenAiKey()];
    const u = upstreamFromEnv(openai, { OPENAI_API_KEY: a, OPENAI_API_KEY_BACKUP: `${b}, ${c}`, OPENAI_BASE_URL: 'http://127.0.0.1:9000/v1/' });
    expect(u.keys).toEqual([a, b, c]);
    expect(u.baseUrl).toBe('http://127.0.0.1:9000/v1');
    expect(() => upstreamFromEnv(openai, { OPENAI_BASE_URL: 'ftp://x' })).toThrow(/must be http/);
    // Gemini: its own variable first, then the one @google/genai reads, then Google's endpoint.
    expect(upstreamFromEnv(gemini, { GEMINI_BASE_URL: 'http://127.0.0.1:1/', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:2' }).baseUrl).toBe('http://127.0.0.1:1');
    expect(upstreamFromEnv(gemini, { GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:2' }).baseUrl).toBe('http://127.0.0.1:2');
    expect(upstreamFromEnv(gemini, {}).baseUrl).toBe('https://generativelanguage.googleapis.com');
  });

  it('reads a mode-600 .env and treats a missing default one as empty', () => {
    const f = join(tmp, 'ok.env');
    writeFileSync(f, 'OPENAI_API_KEY="quoted value"\n# comment\n', { mode: 0o600 });
    expect(readEnvFile(f).OPENAI_API_KEY).toBe('quoted value');
    expect(readEnvFile(join(tmp, 'missing.env'))).toEqual({});
    expect(() => readEnvFile(join(tmp, 'missing.env'), { required: true })).toThrow(/cannot read the env file/);
  });

  it('prices dated model ids like their family and unknown models conservatively', () => {
    const p = new Prices({ 'my-model': { input: 1, output: 2 } });
    expect(p.of('gpt-4o-mini-2024-07-18')).toEqual(p.of('gpt-4o-mini'));
    expect(p.of('gpt-4o-2024-08-06')).toEqual({ input: 2.5, cachedInput: 1.25, output: 10, webSearchPreview: 25, priority: 1.7 });
    expect(p.cost('my-model', 1_000_000, 1_000_000)).toBe(3);
    expect(p.of('mystery-model').output).toBeGreaterThanOrEqual(75);
    expect(p.known('gpt-4o-mini-2024-07-18')).toBe(true);
    expect(p.known('mystery-model')).toBe(false);
    // Model names come from clients: one named like an object's own property is as unknown as any other.
    for (const odd of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(p.known(odd)).toBe(false);
      expect(p.cost(odd, 1_000_000, 0)).toBe(15);
    }
  });
});

describe('the app route on Anthropic', () => {
  it("turns { messages } into an Anthropic call with the server's model and system prompt, and answers { text, usage }", async () => {
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 3 });
    const dir = new MemoryDirectory();
    dir.addUser('app', {});
    const gw = await startGateway(upstream, keys, { directory: dir, chat: { provider: 'anthropic', model: 'claude-haiku-4-5', maxTokens: 50, system: 'be kind' } });
    try {
      const r = await post(`${gw.origin}/api/ai/chat`, { messages: [{ role: 'system', content: 'answer in French' }, { role: 'user', content: 'hi' }] }, bearer(issueToken(dir, 'app').token));
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ text: 'toktoktok', model: 'claude-haiku-4-5', usage: { inputTokens: 12, outputTokens: 3 } });
      const sent = upstream.seen.at(-1)!;
      expect(sent.path).toBe('/v1/messages');
      expect(sent.keyIndex).toBe(0);
      expect(sent.body).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 50, system: 'be kind\n\nanswer in French', messages: [{ role: 'user', content: 'hi' }] });
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe('unpriced models', () => {
  it('warns once per model that a budgeted request used a model with no price', async () => {
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const dir = new MemoryDirectory();
    dir.addUser('b', { budgetUsd: 100 });
    const gw = await startGateway(upstream, keys, { directory: dir });
    try {
      const t = issueToken(dir, 'b').token;
      for (let i = 0; i < 3; i++) expect((await post(`${gw.origin}/v1/chat/completions`, chat('my-local-llama', { max_tokens: 5 }), bearer(t))).status).toBe(200);
      expect(gw.logs.filter((l) => l.includes('has no price'))).toHaveLength(1);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});
