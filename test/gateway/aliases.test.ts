import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const status = (e: unknown) => (e as { status?: number }).status;

describe('model aliases: names clients call for a model the operator picks', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let open: string;
  let aliasOnly: string;
  let modelOnly: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 2 });
    gw = await startGateway(upstream, keys, {
      directory: dir,
      ledger,
      aliases: { fast: 'gpt-4o-mini', smart: 'claude-haiku-4-5' },
      fallbacks: { 'gpt-4o-mini': ['claude-haiku-4-5'] },
      chat: { provider: 'openai', model: 'gpt-4o' },
    });
    dir.addUser('open', {});
    open = issueToken(dir, 'open').token;
    dir.addUser('alias-only', { models: ['fast'] });
    aliasOnly = issueToken(dir, 'alias-only').token;
    dir.addUser('model-only', { models: ['gpt-4o-mini'] });
    modelOnly = issueToken(dir, 'model-only').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const oa = (t: string) => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: t, maxRetries: 0 });
  const hi = [{ role: 'user' as const, content: 'hi' }];

  it('goes out, and is billed, as its model, plain and streamed, on whichever provider serves it', async () => {
    const r = await oa(open).chat.completions.create({ model: 'fast', messages: hi });
    expect(r.choices[0]!.message.content).toBe('toktok');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: hi } });
    const stream = await oa(open).chat.completions.create({ model: 'fast', messages: hi, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('toktok');
    expect(upstream.seen.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } });
    await oa(open).chat.completions.create({ model: 'smart', messages: hi });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', path: '/v1/chat/completions', body: { model: 'claude-haiku-4-5' } });
    const an = new Anthropic({ baseURL: gw.origin, apiKey: open, maxRetries: 0 });
    await an.messages.create({ model: 'smart', max_tokens: 10, messages: hi });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', path: '/v1/messages', body: { model: 'claude-haiku-4-5' } });
    await until('the four calls are in the ledger', () => ledger.rows({}).length >= 4);
    expect(ledger.rows({}).map((x) => [x.provider, x.model, x.outcome])).toEqual([
      ['openai', 'gpt-4o-mini', 'ok'],
      ['openai', 'gpt-4o-mini', 'ok'],
      ['anthropic', 'claude-haiku-4-5', 'ok'],
      ['anthropic', 'claude-haiku-4-5', 'ok'],
    ]);
  });

  it("a user's model list may name the alias or its model; the model list shows the aliases the user may call", async () => {
    expect((await oa(aliasOnly).chat.completions.create({ model: 'fast', messages: hi })).choices[0]!.message.content).toBe('toktok');
    expect(status(await oa(aliasOnly).chat.completions.create({ model: 'gpt-4o-mini', messages: hi }).catch((e: unknown) => e))).toBe(403);
    const refused = await oa(aliasOnly).chat.completions.create({ model: 'smart', messages: hi }).catch((e: unknown) => e);
    expect(status(refused)).toBe(403);
    expect(String((refused as Error).message)).toMatch(/model 'smart' is not allowed for this user/);
    expect((await oa(modelOnly).chat.completions.create({ model: 'fast', messages: hi })).choices[0]!.message.content).toBe('toktok');
    const ids = async (t: string) => {
      const out: Array<[string, string]> = [];
      for await (const m of oa(t).models.list()) out.push([m.id, m.owned_by]);
      return out;
    };
    expect(await ids(aliasOnly)).toEqual([['fast', 'keyward']]);
    expect(await ids(modelOnly)).toEqual([
      ['gpt-4o-mini', 'fake'],
      ['fast', 'keyward'],
    ]);
    expect((await ids(open)).filter(([, owner]) => owner === 'keyward')).toEqual([
      ['fast', 'keyward'],
      ['smart', 'keyward'],
    ]);
  });

  it("the app route takes an alias the user may call in place of the server's model", async () => {
    const r = await post(`${gw.origin}/api/ai/chat`, { message: 'hi', model: 'fast' }, { authorization: `Bearer ${aliasOnly}` });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe('gpt-4o-mini');
    expect(upstream.seen.at(-1)!.body?.model).toBe('gpt-4o-mini');
    const other = await post(`${gw.origin}/api/ai/chat`, { message: 'hi', model: 'smart' }, { authorization: `Bearer ${aliasOnly}` });
    expect(other.status).toBe(403);
  });

  it("falls back by the alias's model", async () => {
    upstream.fail({ status: 503 }, { status: 503 }, { status: 503 });
    const { data, response } = await oa(open).chat.completions.create({ model: 'fast', messages: hi }).withResponse();
    expect(data.choices[0]!.message.content).toBe('toktok');
    expect(response.headers.get('x-keyward-fallback-from')).toBe('gpt-4o-mini');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', body: { model: 'claude-haiku-4-5' } });
  });

  it('the config takes a map of alias to a model, never to another alias or to itself', () => {
    expect(validateGatewayConfig({ aliases: { fast: 'gpt-4o-mini' } }).aliases).toEqual({ fast: 'gpt-4o-mini' });
    expect(() => validateGatewayConfig({ aliases: { fast: 'quick', quick: 'gpt-4o-mini' } })).toThrow(/'fast' names a model, not another alias \('quick'\)/);
    expect(() => validateGatewayConfig({ aliases: { fast: 'fast' } })).toThrow(/'fast' is another model's id/);
    expect(() => validateGatewayConfig({ aliases: { fast: 3 } })).toThrow(/'fast' is another model's id/);
    expect(() => validateGatewayConfig({ aliases: ['fast'] })).toThrow(/a map of alias to the model it stands for/);
  });
});
