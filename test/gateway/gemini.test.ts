import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { until } from './helpers/http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

/** Gemini 2.5 Flash's list price, USD per million tokens. */
const FLASH = { input: 0.3, output: 2.5 };

describe("Google's @google/genai SDK, pointed at the gateway with a gateway token", () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey(), fakeGeminiKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;
  let narrowToken: string;
  const seenByClient: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini, outputTokens: 4, thoughtTokens: 3 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger });
    dir.addUser('alice', { rpm: 100 });
    token = issueToken(dir, 'alice').token;
    dir.addUser('narrow', { models: ['gemini-2.5-flash'], tpm: 100 });
    narrowToken = issueToken(dir, 'narrow').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const ai = (apiKey = token) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gw.origin } });
  const rowsFor = (reqModel: string) => ledger.rows({}).filter((r) => r.model === reqModel);

  it('generateContent: the answer, the real key upstream, usage billed with thinking tokens as output', async () => {
    const before = rowsFor('gemini-2.5-flash').length;
    const r = await ai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    seenByClient.push(JSON.stringify(r));
    expect(r.text).toBe('toktoktoktok');
    expect(r.usageMetadata?.candidatesTokenCount).toBe(4);
    const last = upstream.seen.at(-1)!;
    expect(last.provider).toBe('gemini');
    expect(last.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(last.keyIndex).toBeGreaterThanOrEqual(0);
    await until('the call is in the ledger', () => rowsFor('gemini-2.5-flash').length > before);
    const row = rowsFor('gemini-2.5-flash').at(-1)!;
    expect(row).toMatchObject({ provider: 'gemini', route: 'generate', tokensIn: 12, tokensOut: 4 + 3, status: 200, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((12 * FLASH.input + 7 * FLASH.output) / 1e6, 12);
  });

  it('generateContentStream: chunk by chunk over SSE, billed from the last chunk’s usage', async () => {
    const before = ledger.rows({}).length;
    const stream = await ai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.text ?? '';
      seenByClient.push(JSON.stringify(c));
    }
    expect(text).toBe('toktoktoktok');
    expect(chunks).toBe(4);
    expect(upstream.seen.at(-1)!.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    await until('the call is in the ledger', () => ledger.rows({}).length > before);
    expect(ledger.rows({}).at(-1)).toMatchObject({ route: 'generate', tokensIn: 12, tokensOut: 7, outcome: 'ok' });
  });

  it("an image model's pictures are billed at the image-output rate, plain and streamed, and reserved at it", async () => {
    // Of 4 output tokens, 2 are the picture's ($30 a million), 2 its caption's and the 3 thinking tokens text ($2.50).
    const cost = (12 * 0.3 + 5 * 2.5 + 2 * 30) / 1e6;
    await ai().models.generateContent({ model: 'gemini-2.5-flash-image', contents: 'a lighthouse' });
    await until('the call is in the ledger', () => rowsFor('gemini-2.5-flash-image').length === 1);
    expect(rowsFor('gemini-2.5-flash-image')[0]!.costUsd).toBeCloseTo(cost, 12);
    for await (const _ of await ai().models.generateContentStream({ model: 'gemini-2.5-flash-image', contents: 'a lighthouse' })) void _;
    await until('the stream is in the ledger', () => rowsFor('gemini-2.5-flash-image').length === 2);
    expect(rowsFor('gemini-2.5-flash-image')[1]!.costUsd).toBeCloseTo(cost, 12);
    // 4 096 tokens of pictures may cost $0.12: more than a $0.05 budget; as text, $0.01.
    dir.addUser('painter', { budgetUsd: 0.05, period: 'day' });
    const painter = issueToken(dir, 'painter').token;
    const ask = (model: string) => fetch(`${gw.origin}/v1beta/models/${model}:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': painter, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ parts: [{ text: 'draw' }] }], generationConfig: { maxOutputTokens: 4096 } }) });
    expect((await ask('gemini-2.5-flash-image')).status).toBe(402);
    expect((await ask('gemini-2.5-flash')).status).toBe(200);
    const painterId = dir.getUser('painter')!.id;
    await until("the painter's call is in the ledger", () => ledger.rows({ userId: painterId }).length === 1);
  });

  it('embedContent (batchEmbedContents, as the SDK calls it): billed for its input only, however long the vectors', async () => {
    const before = ledger.rows({}).length;
    const r = await ai().models.embedContent({ model: 'gemini-embedding-001', contents: ['hello', 'world'] });
    expect(r.embeddings).toHaveLength(2);
    expect(r.embeddings?.[0]?.values).toHaveLength(768);
    expect(upstream.seen.at(-1)!.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    await until('the call is in the ledger', () => ledger.rows({}).length > before);
    const row = ledger.rows({}).at(-1)!;
    expect(row).toMatchObject({ route: 'embed', model: 'gemini-embedding-001', tokensOut: 0, outcome: 'ok_estimated' });
    expect(row.tokensIn).toBeGreaterThan(0);
  });

  it('countTokens: forwarded, limited by requests like any call, billed nothing', async () => {
    dir.addUser('counter', { rpm: 2 });
    const t = issueToken(dir, 'counter').token;
    for (let i = 0; i < 2; i++) expect((await ai(t).models.countTokens({ model: 'gemini-2.5-flash', contents: 'hello' })).totalTokens).toBe(12);
    expect(upstream.seen.at(-1)!.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
    const third = await ai(t)
      .models.countTokens({ model: 'gemini-2.5-flash', contents: 'hello' })
      .catch((e: unknown) => e);
    expect((third as ApiError).status).toBe(429);
    const counterId = dir.getUser('counter')!.id;
    await until('both counts are in the ledger', () => ledger.rows({ userId: counterId }).length === 2);
    for (const row of ledger.rows({ userId: counterId })) expect(row).toMatchObject({ route: 'count', tokensIn: 0, tokensOut: 0, costUsd: 0, outcome: 'ok' });
  });

  it('models.list: Gemini’s list, narrowed to the models the user may call', async () => {
    const all: string[] = [];
    for await (const m of await ai().models.list()) all.push(m.name ?? '');
    expect(all).toEqual(['models/gemini-2.5-flash', 'models/gemini-2.5-pro', 'models/gemini-embedding-001']);
    const narrow: string[] = [];
    for await (const m of await ai(narrowToken).models.list()) narrow.push(m.name ?? '');
    expect(narrow).toEqual(['models/gemini-2.5-flash']);
  });

  it("an OpenAI client's model list has Gemini's models too (those the OpenAI routes send to Gemini), narrowed to the user's", async () => {
    const list = async (t: string) => {
      const out: Array<[string, string]> = [];
      for await (const m of new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: t, maxRetries: 0 }).models.list()) out.push([m.id, m.owned_by]);
      return out;
    };
    expect(await list(token)).toEqual([
      ['gpt-4o-mini', 'fake'],
      ['gpt-4o', 'fake'],
      ['text-embedding-3-small', 'fake'],
      ['claude-haiku-4-5', 'fake'],
      ['claude-sonnet-4-5', 'anthropic'],
      ['claude-opus-4-1', 'anthropic'],
      ['gemini-2.5-flash', 'google'],
      ['gemini-2.5-pro', 'google'],
      ['gemini-embedding-001', 'google'],
    ]);
    expect(await list(narrowToken)).toEqual([['gemini-2.5-flash', 'google']]);
  });

  it('a model the user may not call is refused in Gemini’s error shape, before anything goes upstream', async () => {
    const n = upstream.seen.length;
    const err = await ai(narrowToken)
      .models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).message).toMatch(/PERMISSION_DENIED/);
    expect((err as ApiError).message).toMatch(/not allowed for this user/);
    expect(upstream.seen.length).toBe(n);
  });

  it('reserves maxOutputTokens times candidateCount against the tokens-per-minute limit', async () => {
    const n = upstream.seen.length;
    // 60 × 2 output tokens alone exceed the user's 100 tokens a minute; 60 × 1 plus the prompt does not.
    const err = await ai(narrowToken)
      .models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { maxOutputTokens: 60, candidateCount: 2 } })
      .catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).message).toMatch(/RESOURCE_EXHAUSTED/);
    expect(upstream.seen.length).toBe(n);
    const ok = await ai(narrowToken).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { maxOutputTokens: 60 } });
    expect(ok.text).toBe('toktoktoktok');
  });

  it('an upstream error reaches the client scrubbed of the provider key, in Gemini’s shape', async () => {
    const leaked = keys.gemini[0]!;
    upstream.fail({ status: 400, body: JSON.stringify({ error: { code: 400, message: `API key ${leaked} is not enabled for this model`, status: 'FAILED_PRECONDITION' } }) });
    const r = await fetch(`${gw.origin}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    const text = await r.text();
    seenByClient.push(text);
    expect(r.status).toBe(400);
    expect(text).toMatch(/FAILED_PRECONDITION/);
    expect(text).toMatch(/is not enabled for this model/);
    expect(text).not.toContain(leaked);
  });

  it("a Gemini model through the OpenAI SDK goes to Gemini's OpenAI-compatible endpoint with a Gemini key, billed as Gemini", async () => {
    const oa = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
    const r = await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
    seenByClient.push(JSON.stringify(r));
    expect(r.choices[0]!.message.content).toBe('toktoktoktok');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'gemini', path: '/v1beta/openai/chat/completions' });
    expect(upstream.seen.at(-1)!.keyIndex).toBeGreaterThanOrEqual(0);
    const stream = await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('toktoktoktok');
    expect((upstream.seen.at(-1)!.body?.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
    const e = await oa.embeddings.create({ model: 'gemini-embedding-001', input: 'hi' });
    expect(e.data[0]!.embedding).toHaveLength(3);
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'gemini', path: '/v1beta/openai/embeddings' });
    const viaOpenAi = () => ledger.rows({}).filter((x) => x.route === 'chat' || x.route === 'embeddings');
    await until('the three calls are in the ledger', () => viaOpenAi().length >= 3);
    const rows = viaOpenAi();
    expect(rows.map((x) => [x.provider, x.route, x.model, x.outcome])).toEqual([
      ['gemini', 'chat', 'gemini-2.5-flash', 'ok'],
      ['gemini', 'chat', 'gemini-2.5-flash', 'ok'],
      ['gemini', 'embeddings', 'gemini-embedding-001', 'ok'],
    ]);
    expect(rows[0]!.costUsd).toBeCloseTo((12 * FLASH.input + 4 * FLASH.output) / 1e6, 12);
    // An OpenAI model stays with OpenAI.
    await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/chat/completions' });
  });

  it('no key ever reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + gw.logs.join('');
    for (const k of [...keys.gemini, ...keys.openai, ...keys.anthropic]) expect(all).not.toContain(k);
  });
});

describe('Gemini routes refuse what they cannot serve safely, with errors the SDK can read', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [], gemini: [fakeGeminiKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: [], geminiKeys: keys.gemini, outputTokens: 6, chunkDelayMs: 20 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger, chat: { provider: 'gemini', model: 'gemini-2.5-flash', system: 'Be brief.' } });
    dir.addUser('bob', {});
    token = issueToken(dir, 'bob').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': token }) =>
    fetch(`${gw.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const contents = [{ role: 'user', parts: [{ text: 'hi' }] }];

  it('a token in the URL (?key=) is refused before anything else, saying where it goes', async () => {
    const r = await post(`/v1beta/models/gemini-2.5-flash:generateContent?key=${token}`, { contents }, {});
    expect(r.status).toBe(400);
    const j = (await r.json()) as { error: { status: string; message: string } };
    expect(j.error.status).toBe('INVALID_ARGUMENT');
    expect(j.error.message).toMatch(/x-goog-api-key header/);
    expect(gw.logs.join('')).not.toContain(token);
  });

  it('no token: 401 UNAUTHENTICATED naming the header; a Google key from the client: refused', async () => {
    const r = await post('/v1beta/models/gemini-2.5-flash:generateContent', { contents }, {});
    expect(r.status).toBe(401);
    const j = (await r.json()) as { error: { code: number; status: string; message: string; details: Array<{ reason: string }> } };
    expect(j.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    expect(j.error.message).toMatch(/x-goog-api-key/);
    expect(j.error.details[0]!.reason).toBe('authentication_error');
    const own = fakeGeminiKey();
    const r2 = await post('/v1beta/models/gemini-2.5-flash:generateContent', { contents }, { 'x-goog-api-key': own });
    expect(r2.status).toBe(401);
    expect(await r2.text()).not.toContain(own);
  });

  it('a stream without alt=sse, a body without contents, a bad maxOutputTokens: 400 with the fix', async () => {
    const n = upstream.seen.length;
    const a = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents });
    expect(a.status).toBe(400);
    expect(await a.text()).toMatch(/alt=sse/);
    const b = await post('/v1beta/models/gemini-2.5-flash:generateContent', { prompt: 'hi' });
    expect(await b.text()).toMatch(/'contents' is required/);
    const c = await post('/v1beta/models/gemini-2.5-flash:generateContent', { contents, generationConfig: { maxOutputTokens: -5 } });
    expect(c.status).toBe(400);
    expect(await c.text()).toMatch(/maxOutputTokens/);
    expect(upstream.seen.length).toBe(n);
  });

  it('a batch of embeddings may only name the model in the path (the one the user was checked for)', async () => {
    const n = upstream.seen.length;
    const r = await post('/v1beta/models/gemini-embedding-001:batchEmbedContents', { requests: [{ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] } }, { model: 'models/gemini-2.5-pro', content: { parts: [{ text: 'b' }] } }] });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/requests\[1\]\.model must be 'models\/gemini-embedding-001'/);
    expect(upstream.seen.length).toBe(n);
  });

  it('serves the v1 API version as well as v1beta, under the version called', async () => {
    const r = await post('/v1/models/gemini-2.5-flash:generateContent', { contents });
    expect(r.status).toBe(200);
    expect(upstream.seen.at(-1)!.path).toBe('/v1/models/gemini-2.5-flash:generateContent');
  });

  it('a model id that could change the upstream path is not a route', async () => {
    for (const path of ['/v1beta/models/..%2Fsecret:generateContent', '/v1beta/models/a/b:generateContent', '/v1beta/models/gemini-2.5-flash:deleteEverything']) {
      const r = await post(path, { contents });
      expect(r.status).toBe(404);
      const j = (await r.json()) as { error: { status: string; message: string } };
      expect(j.error.status).toBe('NOT_FOUND');
      expect(j.error.message).toMatch(/generateContent/);
    }
  });

  it('a client gone mid-stream cancels the upstream call and is billed for what was produced', async () => {
    const before = ledger.rows({}).length;
    const r = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', { contents }, { 'x-goog-api-key': token });
    expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = r.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    const aborted = upstream.aborted;
    await reader.cancel();
    await until('the upstream saw the cancel and the call is in the ledger', () => upstream.aborted > aborted && ledger.rows({}).length > before);
    const row = ledger.rows({}).at(-1)!;
    expect(row).toMatchObject({ route: 'generate', outcome: 'client_disconnect', tokensIn: 12 });
    // The running count of the last chunk that passed: more than nothing, less than the whole answer.
    expect(row.tokensOut).toBeGreaterThanOrEqual(1);
    expect(row.tokensOut).toBeLessThan(6);
  });

  it('a stream whose upstream resets mid-way ends with an error chunk the SDK throws, billed for what passed', async () => {
    upstream.fail({ reset: 'midstream' });
    const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: gw.origin } });
    let text = '';
    const err = await (async () => {
      for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' })) text += c.text ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(502);
    expect((err as ApiError).message).toMatch(/UNAVAILABLE.*failed mid-stream/);
    expect(text.length).toBeGreaterThan(0);
    await until('the broken stream is in the ledger', () => ledger.rows({}).some((x) => x.outcome === 'upstream_reset'));
    expect(ledger.rows({}).find((x) => x.outcome === 'upstream_reset')!.tokensOut).toBe(text.length / 3);
  });

  it('the app route asks Gemini when the config says so, with the system text as systemInstruction', async () => {
    const r = await fetch(`${gw.origin}/api/ai/chat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'hello' }) });
    expect(r.status).toBe(200);
    const j = (await r.json()) as { text: string; model: string; usage: { inputTokens: number; outputTokens: number } };
    expect(j).toMatchObject({ text: 'toktoktoktoktoktok', model: 'gemini-2.5-flash', usage: { inputTokens: 12, outputTokens: 6 } });
    const sent = upstream.seen.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.body).toMatchObject({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 1024 } });
  });
});

describe('without a Gemini key', () => {
  it('a gemini-* model through the OpenAI API goes to OPENAI_BASE_URL (a server there may host it), and native Gemini calls get a clear 503', async () => {
    const keys = { openai: [fakeOpenAiKey()], anthropic: [] };
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: [] });
    const dir = new MemoryDirectory();
    const gw = await startGateway(upstream, keys, { directory: dir });
    try {
      dir.addUser('carol', {});
      const token = issueToken(dir, 'carol').token;
      const oa = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
      await oa.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
      expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/chat/completions' });
      const err = await new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: gw.origin } }).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e: unknown) => e);
      expect((err as ApiError).status).toBe(503);
      expect((err as ApiError).message).toMatch(/no GEMINI_API_KEY is configured on the gateway/);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe("an OpenAI client's model list when Gemini cannot be reached", () => {
  it("still answers with the other providers' models, and logs why Gemini's are missing", async () => {
    const keys = { openai: [fakeOpenAiKey()], anthropic: [] };
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: [] });
    const dir = new MemoryDirectory();
    // Nothing listens on port 1 of the loopback address: every attempt is refused at once.
    const gw = await startGateway(upstream, keys, { directory: dir, upstreams: { openai: { baseUrl: upstream.openaiBase, keys: keys.openai }, gemini: { baseUrl: 'http://127.0.0.1:1', keys: [fakeGeminiKey()] } } });
    try {
      dir.addUser('ivy', {});
      const ids: string[] = [];
      for await (const m of new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: issueToken(dir, 'ivy').token, maxRetries: 0 }).models.list()) ids.push(m.id);
      expect(ids).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-haiku-4-5']);
      expect(gw.logs.join('')).toMatch(/listing gemini's models failed; the model list leaves them out/);
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});
