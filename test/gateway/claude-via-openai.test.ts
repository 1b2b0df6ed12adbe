import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

/** Claude Haiku 4.5's list price, USD per million tokens. */
const HAIKU = { input: 1, output: 5 };

describe("a Claude model through the OpenAI SDK goes to Anthropic's OpenAI-compatible endpoint", () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey(), fakeAnthropicKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;
  let narrowToken: string;
  const seenByClient: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 4 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger });
    dir.addUser('cleo', {});
    token = issueToken(dir, 'cleo').token;
    dir.addUser('narrow', { models: ['gpt-4o-mini', 'claude-haiku-4-5'] });
    narrowToken = issueToken(dir, 'narrow').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const oa = (apiKey = token) => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey, maxRetries: 0 });
  const chatRows = () => ledger.rows({}).filter((r) => r.route === 'chat');

  it('plain and streamed: an Anthropic key as Bearer upstream, never the client’s token, billed as Anthropic', async () => {
    const r = await oa().chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    seenByClient.push(JSON.stringify(r));
    expect(r.choices[0]!.message.content).toBe('toktoktoktok');
    const seen = upstream.seen.at(-1)!;
    expect(seen).toMatchObject({ provider: 'anthropic', path: '/v1/chat/completions' });
    expect(seen.keyIndex).toBeGreaterThanOrEqual(0);
    expect(seen.headers.authorization).toBe(`Bearer ${keys.anthropic[seen.keyIndex]}`);
    expect(seen.headers['x-api-key']).toBeUndefined();

    const stream = await oa().chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let usageChunks = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usageChunks++;
    }
    seenByClient.push(text);
    expect(text).toBe('toktoktoktok');
    // The gateway asked for the usage chunk to bill the stream, and kept it from a client that did not.
    expect(upstream.seen.at(-1)!.body?.stream_options).toEqual({ include_usage: true });
    expect(usageChunks).toBe(0);

    await until('both calls are in the ledger', () => chatRows().length >= 2);
    expect(chatRows().map((x) => [x.provider, x.model, x.tokensIn, x.tokensOut, x.outcome])).toEqual([
      ['anthropic', 'claude-haiku-4-5', 12, 4, 'ok'],
      ['anthropic', 'claude-haiku-4-5', 12, 4, 'ok'],
    ]);
    expect(chatRows()[0]!.costUsd).toBeCloseTo((12 * HAIKU.input + 4 * HAIKU.output) / 1e6, 12);
  });

  it("stays with OpenAI for what Anthropic's compatibility layer does not serve (embeddings, the Responses API) and for OpenAI's models", async () => {
    await oa().embeddings.create({ model: 'claude-haiku-4-5', input: 'hi' });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/embeddings' });
    await oa().responses.create({ model: 'claude-haiku-4-5', input: 'hi' });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/responses' });
    await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/chat/completions' });
  });

  it("an OpenAI client's model list has Anthropic's Claude models, narrowed to the user's; an Anthropic client's keeps Anthropic's shape and paging", async () => {
    const list = async (t: string) => {
      const out: Array<[string, string]> = [];
      for await (const m of oa(t).models.list()) out.push([m.id, m.owned_by]);
      return out;
    };
    expect(await list(token)).toEqual([
      ['gpt-4o-mini', 'fake'],
      ['gpt-4o', 'fake'],
      ['text-embedding-3-small', 'fake'],
      ['claude-haiku-4-5', 'fake'],
      ['claude-sonnet-4-5', 'anthropic'],
      ['claude-opus-4-1', 'anthropic'],
    ]);
    expect(await list(narrowToken)).toEqual([
      ['gpt-4o-mini', 'fake'],
      ['claude-haiku-4-5', 'fake'],
    ]);
    const an = new Anthropic({ baseURL: gw.origin, apiKey: narrowToken, maxRetries: 0 });
    const page = await an.models.list({ limit: 2 });
    expect(page.data.map((m) => [m.id, m.type])).toEqual([['claude-haiku-4-5', 'model']]);
    const native = upstream.seen.filter((s) => s.provider === 'anthropic' && s.path === '/v1/models').at(-1)!;
    expect(native.url).toBe('/v1/models?limit=2');
    expect(native.headers['x-api-key']).toBe(keys.anthropic[native.keyIndex]);
  });

  it('no key ever reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + gw.logs.join('');
    for (const k of [...keys.openai, ...keys.anthropic]) expect(all).not.toContain(k);
  });
});

describe('a Claude model through the OpenAI SDK on a gateway without an Anthropic key', () => {
  it('goes to OPENAI_BASE_URL, which may be a server that hosts it', async () => {
    const keys = { openai: [fakeOpenAiKey()], anthropic: [] };
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: [] });
    const dir = new MemoryDirectory();
    const gw = await startGateway(upstream, keys, { directory: dir });
    try {
      dir.addUser('olga', {});
      const client = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: issueToken(dir, 'olga').token, maxRetries: 0 });
      await client.chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/chat/completions', keyIndex: 0 });
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-haiku-4-5']);
      expect(upstream.seen.filter((s) => s.provider === 'anthropic')).toHaveLength(0);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});
