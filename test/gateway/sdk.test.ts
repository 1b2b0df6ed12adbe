import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

describe('the official SDKs, pointed at the gateway with a gateway token', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;
  const responses: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 4 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger });
    dir.addUser('alice', { rpm: 100 });
    token = issueToken(dir, 'alice').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const oa = () => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
  const an = () => new Anthropic({ baseURL: gw.origin, apiKey: token, maxRetries: 0 });

  it('openai: a plain chat completion', async () => {
    const r = await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    responses.push(JSON.stringify(r));
    expect(r.choices[0]!.message.content).toBe('toktoktoktok');
    expect(r.usage?.completion_tokens).toBe(4);
  });

  it('openai: a streamed chat completion arrives chunk by chunk, with the usage chunk the gateway asked for', async () => {
    const stream = await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      responses.push(JSON.stringify(c));
    }
    expect(text).toBe('toktoktoktok');
    expect(chunks).toBeGreaterThanOrEqual(5);
    const last = upstream.seen.at(-1)!;
    expect((last.body?.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
  });

  it('openai: hides the usage chunk from a client that did not ask for it, and passes it to one that did', async () => {
    const plain = await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const seen = [];
    for await (const c of plain) seen.push(c);
    expect(seen.every((c) => c.choices.length > 0)).toBe(true);
    // The client's other stream options are kept when the gateway adds include_usage.
    const other = await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_obfuscation: false } });
    for await (const _c of other) void _c;
    expect(upstream.seen.at(-1)!.body!.stream_options).toEqual({ include_obfuscation: false, include_usage: true });
    const asked = await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    let usage;
    for await (const c of asked) usage = c.usage ?? usage;
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 4 });
  });

  it('openai: the Responses API, plain and streamed', async () => {
    const r = await oa().responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    expect(r.output_text).toBe('toktoktoktok');
    const s = await oa().responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    let deltas = '';
    for await (const e of s) if (e.type === 'response.output_text.delta') deltas += e.delta;
    expect(deltas).toBe('toktoktoktok');
  });

  it('openai: embeddings and the model list', async () => {
    const e = await oa().embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    expect(e.data[0]!.embedding).toHaveLength(3);
    const models = [];
    for await (const m of oa().models.list()) models.push(m.id);
    expect(models).toContain('gpt-4o-mini');
  });

  it('anthropic: a plain message', async () => {
    const m = await an().messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    responses.push(JSON.stringify(m));
    expect(m.content[0]!.type === 'text' && m.content[0]!.text).toBe('toktoktoktok');
    expect(m.usage.output_tokens).toBe(4);
  });

  it('anthropic: the model list comes from the Anthropic upstream', async () => {
    const before = upstream.seen.length;
    const ids = [];
    for await (const m of an().models.list()) ids.push(m.id);
    expect(ids).toContain('claude-haiku-4-5');
    expect(upstream.seen.slice(before).map((s) => s.provider)).toEqual(['anthropic']);
  });

  it('anthropic: a streamed message', async () => {
    const stream = an().messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe('toktoktoktok');
    expect(final.usage.output_tokens).toBe(4);
  });

  it('the upstream received only the real provider keys, and the client never saw them', async () => {
    expect(upstream.badAuth).toBe(0);
    expect(upstream.seen.every((s) => s.keyIndex === 0)).toBe(true);
    const everything = responses.join('\n') + gw.logs.join('\n');
    for (const k of [...keys.openai, ...keys.anthropic]) {
      expect(everything.includes(k)).toBe(false);
      expect(everything.includes(k.slice(0, 24))).toBe(false);
    }
    // The client's gateway token is not forwarded upstream.
    expect(upstream.seen.some((s) => JSON.stringify(s.headers).includes(token))).toBe(false);
  });

  it('bills every call in the ledger with the usage the upstream reported', async () => {
    await until('every call is in the ledger', () => ledger.rows({}).length >= 10);
    const rows = ledger.rows({});
    // 5 chat, 2 responses, 1 embeddings, 2 messages (listing models is not billed)
    expect(rows.map((r) => r.route).sort()).toEqual(['chat', 'chat', 'chat', 'chat', 'chat', 'embeddings', 'messages', 'messages', 'responses', 'responses']);
    for (const r of rows) {
      expect(r.outcome).toBe('ok');
      expect(r.tokensIn).toBe(12);
      expect(r.tokensOut).toBe(r.route === 'embeddings' ? 0 : 4);
      expect(r.costUsd).toBeGreaterThan(0);
      expect(r.userId).toBe(dir.getUser('alice')!.id);
    }
  });
});

describe("Anthropic's token counting (messages.countTokens)", () => {
  it('is forwarded with the real key, limited by requests like any call, and billed nothing', async () => {
    const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, { directory: dir, ledger });
    try {
      dir.addUser('counter', { rpm: 2, models: ['claude-haiku-4-5'] });
      const an = new Anthropic({ baseURL: gw.origin, apiKey: issueToken(dir, 'counter').token, maxRetries: 0 });
      const count = () => an.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello' }] });
      for (let i = 0; i < 2; i++) expect((await count()).input_tokens).toBe(12);
      expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', path: '/v1/messages/count_tokens', keyIndex: 0 });
      const limited = await count().catch((e: unknown) => e);
      expect((limited as { status?: number }).status).toBe(429);
      const other = await an.messages.countTokens({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect((other as { status?: number }).status).toBe(403);
      await until('both counts are in the ledger', () => ledger.rows({}).length === 2);
      for (const row of ledger.rows({})) expect(row).toMatchObject({ route: 'count', provider: 'anthropic', tokensIn: 0, tokensOut: 0, costUsd: 0, outcome: 'ok' });
      const noMessages = await fetch(`${gw.origin}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': issueToken(dir, 'counter').token, 'content-type': 'application/json' }, body: '{"model":"claude-haiku-4-5"}' });
      expect(noMessages.status).toBe(400);
      expect(await noMessages.json()).toMatchObject({ type: 'error', error: { message: "'messages' is required and must be an array" } });
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe("OpenAI's legacy completions (completions.create), as older clients and self-hosted servers use them", () => {
  const suite = gatewaySuite({ user: 'lena', upstream: { outputTokens: 4 } });
  const { dir, ledger, oa } = suite;

  it('plain and streamed, billed from the usage, the usage event hidden from a client that did not ask for it', async () => {
    const r = await oa().completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 8 });
    expect(r.choices[0]!.text).toBe('toktoktoktok');
    expect(suite.upstream.seen.at(-1)).toMatchObject({ path: '/v1/completions', keyIndex: 0 });
    const s = await oa().completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 8, stream: true });
    let text = '';
    const events = [];
    for await (const c of s) {
      events.push(c);
      text += c.choices[0]?.text ?? '';
    }
    expect(text).toBe('toktoktoktok');
    expect(events.every((c) => c.choices.length > 0)).toBe(true);
    expect((suite.upstream.seen.at(-1)!.body!.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
    await until('both calls are in the ledger', () => ledger.rows({}).length === 2);
    for (const row of ledger.rows({})) {
      expect(row).toMatchObject({ route: 'completions', model: 'gpt-3.5-turbo-instruct', tokensIn: 12, tokensOut: 4, outcome: 'ok' });
      expect(row.costUsd).toBeCloseTo((12 * 1.5 + 4 * 2) / 1e6, 12);
    }
  });

  it('reserves every completion it may generate: best_of for each prompt of a list', async () => {
    // 100 tokens × best_of 3 × 2 prompts = 600 output tokens at $2 per million: $0.0012 reserved, over a $0.001 budget.
    dir.addUser('thrifty', { budgetUsd: 0.001, period: 'day' });
    const t = issueToken(dir, 'thrifty').token;
    const before = suite.upstream.seen.length;
    const refused = await oa(t).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: ['a', 'b'], max_tokens: 100, best_of: 3 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 402 });
    expect(suite.upstream.seen.length).toBe(before);
    // One tokenized prompt is one prompt: 100 × 3 = 300 tokens, $0.0006, fits.
    const ok = await oa(t).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: [1, 2, 3], max_tokens: 100, best_of: 3 });
    expect(ok.choices).toHaveLength(1);
    const bad = await post(`${suite.gw.origin}/v1/completions`, { model: 'gpt-3.5-turbo-instruct' }, bearer(suite.token));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ message: "'prompt' is required: a string, or an array of strings or of token arrays" });
  });
});
