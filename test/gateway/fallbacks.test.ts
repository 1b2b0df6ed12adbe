import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type Fault, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { until } from './helpers/http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey, randomChars } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
const groqKey = 'gsk' + '_' + randomChars(52);
/** Every attempt the gateway makes on one model (the first and two retries) fails this way. */
const allAttempts = (f: Fault): Fault[] => [f, f, f];

describe('fallbacks: another model when a provider cannot answer', () => {
  let upstream: FakeUpstream;
  let groq: FakeUpstream;
  const opened: TestGateway[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini, outputTokens: 3 });
    groq = await startFakeUpstream({ openaiKeys: [groqKey], anthropicKeys: [], outputTokens: 2 });
  });
  afterEach(async () => {
    upstream.faults.length = 0;
    for (const g of opened.splice(0)) {
      await g.stop();
    }
  });
  afterAll(async () => {
    await upstream.close();
    await groq.close();
  });

  async function gatewayFor(user: Parameters<MemoryDirectory['addUser']>[1] = {}, fallbacks: Record<string, string[]> = { 'gpt-4o-mini': ['gemini-2.5-flash', 'llama-3.3-70b-versatile'], 'claude-sonnet-4-5': ['claude-haiku-4-5'] }, prices = {}) {
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, {
      directory: dir,
      ledger,
      fallbacks,
      prices,
      providers: { groq: { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile'] } },
      upstreams: {
        openai: { baseUrl: upstream.openaiBase, keys: keys.openai },
        anthropic: { baseUrl: upstream.anthropicBase, keys: keys.anthropic },
        gemini: { baseUrl: upstream.geminiBase, keys: keys.gemini },
        groq: { baseUrl: groq.openaiBase, keys: [groqKey] },
      },
    });
    opened.push(gw);
    dir.addUser('gus', user);
    const token = issueToken(dir, 'gus').token;
    return { gw, ledger, token, oa: new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 }) };
  }
  const ask = (oa: OpenAI, model = 'gpt-4o-mini') => oa.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

  it("answers from the next model, wherever it is served, when the first one's provider keeps failing; billed as the model that answered", async () => {
    const { oa, ledger, gw } = await gatewayFor();
    upstream.fail(...allAttempts({ status: 503 }));
    const { data, response } = await ask(oa);
    expect(data.choices[0]!.message.content).toBe('toktoktok');
    expect(response.headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'gemini', path: '/v1beta/openai/chat/completions' });
    expect(upstream.seen.at(-1)!.body?.model).toBe('gemini-2.5-flash');
    await until('the call is in the ledger', () => ledger.rows({}).length === 1);
    const row = ledger.rows({})[0]!;
    expect(row).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-flash', status: 200, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((12 * 0.3 + 3 * 2.5) / 1e6, 12);
    expect((await gw.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_fallbacks_total\{from="openai",to="gemini"\} 1$/m);
  });

  it('goes down the chain in order: connection resets on OpenAI, 429s on Gemini, then Groq', async () => {
    const { oa, ledger } = await gatewayFor();
    upstream.fail(...allAttempts({ reset: 'before' }), ...allAttempts({ status: 429 }));
    const { data, response } = await ask(oa);
    expect(data.choices[0]!.message.content).toBe('toktok');
    expect(response.headers.get('x-keyward-fallback-from')).toBe('gemini-2.5-flash');
    expect(groq.seen.at(-1)!.body?.model).toBe('llama-3.3-70b-versatile');
    await until('the call is in the ledger', () => ledger.rows({}).length === 1);
    expect(ledger.rows({})[0]).toMatchObject({ provider: 'groq', model: 'llama-3.3-70b-versatile' });
  });

  it('falls back on a stream before its first byte, and still hides the usage chunk the client did not ask for', async () => {
    const { oa } = await gatewayFor();
    upstream.fail(...allAttempts({ status: 500 }));
    const stream = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let usage = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage++;
    }
    expect(text).toBe('toktoktok');
    expect(usage).toBe(0);
    expect(upstream.seen.at(-1)!.body).toMatchObject({ model: 'gemini-2.5-flash', stream: true, stream_options: { include_usage: true } });
  });

  it("passes a client error on as it is (another model would refuse it too), and skips models the user may not call", async () => {
    const { oa } = await gatewayFor({ models: ['gpt-4o-mini', 'llama-3.3-70b-versatile'] });
    const before = upstream.seen.length;
    upstream.fail({ status: 400, body: JSON.stringify({ error: { message: 'bad messages', type: 'invalid_request_error' } }) });
    const err = await ask(oa).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(400);
    expect(upstream.seen.length - before).toBe(1);
    // Gemini is not this user's: after OpenAI, Groq.
    const groqBefore = groq.seen.length;
    const geminiCalls = () => upstream.seen.filter((x) => x.provider === 'gemini').length;
    const geminiBefore = geminiCalls();
    upstream.fail(...allAttempts({ status: 502 }));
    const { response } = await ask(oa);
    expect(response.headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');
    expect(groq.seen.length).toBe(groqBefore + 1);
    expect(geminiCalls()).toBe(geminiBefore);
  });

  it("answers the last model's error when the whole chain fails", async () => {
    const { oa } = await gatewayFor({}, { 'gpt-4o-mini': ['gemini-2.5-flash'] });
    upstream.fail(...allAttempts({ status: 503 }), ...allAttempts({ status: 503 }));
    const err = await ask(oa).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(503);
    expect(String((err as Error).message)).toMatch(/fake upstream failure 503/);
  });

  it('reserves the dearest model of the chain, so a fallback cannot overshoot a budget', async () => {
    const prices = { 'test-cheap': { input: 1, output: 1 }, 'test-dear': { input: 1000, output: 1000 } };
    // 100 output tokens: $0.0001 on the cheap model, $0.1 on the dear one, against $0.05.
    const body = { model: 'test-cheap', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 100 };
    const withChain = await gatewayFor({ budgetUsd: 0.05, period: 'day' }, { 'test-cheap': ['test-dear'] }, prices);
    const refused = await withChain.oa.chat.completions.create(body).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(402);
    const without = await gatewayFor({ budgetUsd: 0.05, period: 'day' }, {}, prices);
    expect((await without.oa.chat.completions.create(body)).choices[0]!.message.content).toBe('toktoktok');
  });

  it("falls back between Claude models on Anthropic's API", async () => {
    const { gw, token } = await gatewayFor();
    upstream.fail(...allAttempts({ status: 529 }));
    const an = new Anthropic({ baseURL: gw.origin, apiKey: token, maxRetries: 0 });
    const { data, response } = await an.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.model).toBe('claude-haiku-4-5');
    expect(response.headers.get('x-keyward-fallback-from')).toBe('claude-sonnet-4-5');
  });

  it("falls back from OpenAI to Claude through the OpenAI SDK, on Anthropic's OpenAI-compatible endpoint", async () => {
    const { oa, ledger } = await gatewayFor({}, { 'gpt-4o-mini': ['claude-haiku-4-5'] });
    upstream.fail(...allAttempts({ status: 500 }));
    const { data, response } = await ask(oa);
    expect(data.choices[0]!.message.content).toBe('toktoktok');
    expect(response.headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', path: '/v1/chat/completions', body: expect.objectContaining({ model: 'claude-haiku-4-5' }) });
    await until('the call is in the ledger', () => ledger.rows({}).length === 1);
    expect(ledger.rows({})[0]).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5', outcome: 'ok' });
  });

  it('the config takes a map of model to a non-empty list of other models', () => {
    expect(validateGatewayConfig({ fallbacks: { 'gpt-4o-mini': ['gemini-2.5-flash'] } }).fallbacks).toEqual({ 'gpt-4o-mini': ['gemini-2.5-flash'] });
    expect(() => validateGatewayConfig({ fallbacks: { 'gpt-4o-mini': [] } })).toThrow(/'gpt-4o-mini' is a non-empty list of other model ids/);
    expect(() => validateGatewayConfig({ fallbacks: { 'gpt-4o-mini': ['gpt-4o-mini'] } })).toThrow(/non-empty list of other model ids/);
    expect(() => validateGatewayConfig({ fallbacks: ['gpt-4o-mini'] })).toThrow(/a map of model to the models to fall back to/);
  });
});
