import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { ModelList } from '../../src/gateway/providers/compatible.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey, randomChars } from './helpers/keys.js';

/** A Groq-shaped key (gsk_ + 52 characters), built at run time. */
const fakeGroqKey = () => 'gsk' + '_' + randomChars(52);

describe('OpenAI-compatible providers named in the config (Groq, a local vLLM, …)', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
  const groqKeys = [fakeGroqKey(), fakeGroqKey()];
  const vllmKey = 'local-' + randomChars(20);
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let openaiUp: FakeUpstream;
  let groqUp: FakeUpstream;
  let vllmUp: FakeUpstream;
  let gw: TestGateway;
  let token: string;
  const seenByClient: string[] = [];

  beforeAll(async () => {
    openaiUp = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 3 });
    // Each provider is a server of its own, which accepts only its own keys.
    groqUp = await startFakeUpstream({ openaiKeys: groqKeys, anthropicKeys: [], outputTokens: 4 });
    vllmUp = await startFakeUpstream({ openaiKeys: [vllmKey], anthropicKeys: [], outputTokens: 2 });
    gw = await startGateway(openaiUp, keys, {
      directory: dir,
      ledger,
      providers: {
        groq: { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile', 'qwen/*'] },
        'local-vllm': { baseUrl: 'http://127.0.0.1:1/v1', models: ['my-finetune'] },
      },
      upstreams: {
        openai: { baseUrl: openaiUp.openaiBase, keys: keys.openai },
        anthropic: { baseUrl: openaiUp.anthropicBase, keys: keys.anthropic },
        groq: { baseUrl: groqUp.openaiBase, keys: groqKeys },
        'local-vllm': { baseUrl: vllmUp.openaiBase, keys: [vllmKey] },
      },
      prices: { 'llama-3.3-70b-versatile': { input: 0.59, output: 0.79 } },
    });
    dir.addUser('dana', { models: ['llama-3.3-70b-versatile', 'qwen/qwen3-32b', 'my-finetune', 'gpt-4o-mini'] });
    token = issueToken(dir, 'dana').token;
  });
  afterAll(async () => {
    await gw.stop();
    for (const u of [openaiUp, groqUp, vllmUp]) await u.close();
  });

  const oa = () => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });

  it("sends each model to the provider that serves it, with that provider's key, and bills it as that provider's", async () => {
    const r = await oa().chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
    seenByClient.push(JSON.stringify(r));
    expect(r.choices[0]!.message.content).toBe('toktoktoktok');
    expect(groqUp.seen.at(-1)).toMatchObject({ path: '/v1/chat/completions', provider: 'openai' });
    expect(groqUp.seen.at(-1)!.keyIndex).toBeGreaterThanOrEqual(0);
    // A prefix pattern, and a second provider.
    await oa().chat.completions.create({ model: 'qwen/qwen3-32b', messages: [{ role: 'user', content: 'hi' }] });
    expect(groqUp.seen.at(-1)!.body?.model).toBe('qwen/qwen3-32b');
    const v = await oa().chat.completions.create({ model: 'my-finetune', messages: [{ role: 'user', content: 'hi' }] });
    expect(v.choices[0]!.message.content).toBe('toktok');
    expect(vllmUp.seen).toHaveLength(1);
    // Any other model stays with OpenAI.
    await oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(openaiUp.seen.at(-1)!.body?.model).toBe('gpt-4o-mini');
    expect(openaiUp.badAuth + groqUp.badAuth + vllmUp.badAuth).toBe(0);

    await until('the four calls are in the ledger', () => ledger.rows({}).length >= 4);
    const rows = ledger.rows({});
    expect(rows.map((x) => [x.provider, x.model])).toEqual([
      ['groq', 'llama-3.3-70b-versatile'],
      ['groq', 'qwen/qwen3-32b'],
      ['local-vllm', 'my-finetune'],
      ['openai', 'gpt-4o-mini'],
    ]);
    expect(rows[0]!.costUsd).toBeCloseTo((12 * 0.59 + 4 * 0.79) / 1e6, 12);
  });

  it('streams from such a provider with the usage chunk the gateway asked for, and hides it from a client that did not', async () => {
    const stream = await oa().chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let usageChunks = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usageChunks++;
      seenByClient.push(JSON.stringify(c));
    }
    expect(text).toBe('toktoktoktok');
    expect(usageChunks).toBe(0);
    expect((groqUp.seen.at(-1)!.body?.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
    await until('the stream is in the ledger', () => ledger.rows({}).length >= 5);
    expect(ledger.rows({}).at(-1)).toMatchObject({ provider: 'groq', tokensIn: 12, tokensOut: 4, outcome: 'ok' });
  });

  it("reports each provider's key states, and rotates a provider's keys by its name", async () => {
    const states = gw.gateway.keyState();
    expect(Object.keys(states)).toEqual(['openai', 'anthropic', 'gemini', 'groq', 'local-vllm']);
    expect(states.groq).toHaveLength(2);
    expect(JSON.stringify(states)).not.toContain(groqKeys[0]);
    const change = gw.gateway.setProviderKeys({ groq: [groqKeys[1]!] });
    expect(change.groq).toMatchObject({ added: [], kept: 1 });
    expect(change.groq!.removed).toHaveLength(1);
    for (let i = 0; i < 3; i++) await oa().chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] });
    expect(groqUp.seen.slice(-3).map((s) => s.keyIndex)).toEqual([1, 1, 1]);
  });

  it('an error from such a provider reaches the client scrubbed of its key', async () => {
    groqUp.fail({ status: 400, body: JSON.stringify({ error: { message: `Invalid API Key ${groqKeys[1]}`, type: 'invalid_request_error' } }) });
    const err = await oa()
      .chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(400);
    seenByClient.push(String((err as Error).message));
    expect(String((err as Error).message)).toMatch(/Invalid API Key/);
  });

  it("lists the providers' exactly named models to an OpenAI client, beside OpenAI's, narrowed to the user's", async () => {
    const ids: Array<[string, string]> = [];
    for await (const m of oa().models.list()) ids.push([m.id, m.owned_by]);
    expect(ids).toEqual([
      ['gpt-4o-mini', 'fake'],
      ['llama-3.3-70b-versatile', 'groq'],
      ['my-finetune', 'local-vllm'],
    ]);
  });

  it('no key ever reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + gw.logs.join('');
    for (const k of [...groqKeys, vllmKey, ...keys.openai]) expect(all).not.toContain(k);
  });
});

describe("the app route on a config's provider", () => {
  it('asks it through OpenAI’s chat API, and a chat provider the gateway does not have stops the gateway from being created', async () => {
    const key = fakeGroqKey();
    const groqUp = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [], outputTokens: 2 });
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const providers = { groq: { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.1-8b-instant'] } };
    const gw = await startGateway(groqUp, { openai: [], anthropic: [] }, {
      directory: dir,
      ledger,
      providers,
      upstreams: { groq: { baseUrl: groqUp.openaiBase, keys: [key] } },
      chat: { provider: 'groq', model: 'llama-3.1-8b-instant', system: 'Be brief.' },
    });
    try {
      dir.addUser('finn', {});
      const r = await fetch(`${gw.origin}/api/ai/chat`, { method: 'POST', headers: { authorization: `Bearer ${issueToken(dir, 'finn').token}`, 'content-type': 'application/json' }, body: '{"message":"hello"}' });
      expect(await r.json()).toMatchObject({ text: 'toktok', model: 'llama-3.1-8b-instant', usage: { inputTokens: 12, outputTokens: 2 } });
      expect(groqUp.seen.at(-1)).toMatchObject({ path: '/v1/chat/completions', keyIndex: 0, body: { model: 'llama-3.1-8b-instant', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] } });
      await until('the call is in the ledger', () => ledger.rows({}).length === 1);
      expect(ledger.rows({})[0]).toMatchObject({ provider: 'groq', route: 'app', outcome: 'ok' });
    } finally {
      await gw.stop();
      await groqUp.close();
    }
    await expect(startGateway(groqUp, { openai: [], anthropic: [] }, { directory: dir, chat: { provider: 'mistral', model: 'x' } })).rejects.toThrow(/chat: provider 'mistral' is neither built in/);
  });
});

describe('a provider that takes its key in another header (Azure OpenAI: api-key)', () => {
  it('sends the key in that header, and no Authorization', async () => {
    const key = randomChars(32, 'abcdef0123456789');
    const azure = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [] });
    const dir = new MemoryDirectory();
    const gw = await startGateway(azure, { openai: [], anthropic: [] }, {
      directory: dir,
      providers: { azure: { baseUrl: 'https://my-resource.openai.azure.com/openai/v1', models: ['prod-gpt-4o'], auth: 'api-key' } },
      upstreams: { azure: { baseUrl: azure.openaiBase, keys: [key] } },
    });
    try {
      dir.addUser('hal', {});
      const client = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: issueToken(dir, 'hal').token, maxRetries: 0 });
      await client.chat.completions.create({ model: 'prod-gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      const seen = azure.seen.at(-1)!;
      expect(seen.keyIndex).toBe(0);
      expect(seen.headers['api-key']).toBe(key);
      expect(seen.headers.authorization).toBeUndefined();
    } finally {
      await gw.stop();
      await azure.close();
    }
  });
});

describe('the providers field of the config', () => {
  it('matches exact ids and prefixes ending in *', () => {
    const m = new ModelList(['llama-3.3-70b-versatile', 'qwen/*']);
    expect(['llama-3.3-70b-versatile', 'qwen/qwen3-32b'].map((x) => m.has(x))).toEqual([true, true]);
    expect(['llama-3.3-70b', 'qwen', 'gpt-4o'].map((x) => m.has(x))).toEqual([false, false, false]);
  });

  it('refuses a bad name, a built-in name, a missing or empty model list and a base URL that is not http(s), naming the fix', () => {
    const ok = { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile'] };
    expect(validateGatewayConfig({ providers: { groq: ok } }).providers?.groq).toEqual(ok);
    expect(() => validateGatewayConfig({ providers: { Groq: ok } })).toThrow(/'Groq' is not lower-case letters, digits and dashes/);
    expect(() => validateGatewayConfig({ providers: { openai: ok } })).toThrow(/'openai' is built in; give the provider another name/);
    expect(() => validateGatewayConfig({ providers: { groq: { baseUrl: ok.baseUrl } } })).toThrow(/'groq' is an object with 'models'/);
    expect(() => validateGatewayConfig({ providers: { groq: { ...ok, models: [] } } })).toThrow(/non-empty list of model ids/);
    expect(() => validateGatewayConfig({ providers: { groq: { ...ok, models: ['*'] } } })).toThrow(/non-empty list of model ids/);
    expect(() => validateGatewayConfig({ providers: { groq: { ...ok, baseUrl: 'ftp://x' } } })).toThrow(/'baseUrl' is an http\(s\) URL/);
    expect(() => validateGatewayConfig({ providers: { groq: { ...ok, auth: 'basic' } } })).toThrow(/'auth' is one of bearer, api-key, x-api-key/);
  });
});

describe('a gateway whose only OpenAI-shaped provider comes from the config', () => {
  it('lists that provider’s models without asking any upstream, and serves them', async () => {
    const key = fakeGroqKey();
    const groqUp = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [] });
    const dir = new MemoryDirectory();
    const gw = await startGateway(groqUp, { openai: [], anthropic: [] }, {
      directory: dir,
      providers: { groq: { baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile', 'llama-4-*'] } },
      upstreams: { groq: { baseUrl: groqUp.openaiBase, keys: [key] } },
    });
    try {
      dir.addUser('erin', {});
      const client = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: issueToken(dir, 'erin').token, maxRetries: 0 });
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['llama-3.3-70b-versatile']);
      expect(groqUp.seen).toHaveLength(0);
      const r = await client.chat.completions.create({ model: 'llama-4-scout', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0]!.message.content).toMatch(/^(tok)+$/);
      expect(groqUp.seen.at(-1)!.keyIndex).toBe(0);
    } finally {
      await gw.stop();
      await groqUp.close();
    }
  });
});
