import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

const status = (e: unknown) => (e as { status?: number }).status;

describe('token scopes: a token may call only the APIs it was issued for', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let appOnly: string;
  let appOnlyId: string;
  let openaiOnly: string;
  let everything: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini, outputTokens: 2 });
    gw = await startGateway(upstream, keys, { directory: dir, ledger, chat: { provider: 'openai', model: 'gpt-4o-mini' } });
    dir.addUser('web', {});
    const a = issueToken(dir, 'web', { scopes: ['app'] });
    appOnly = a.token;
    appOnlyId = a.record.id;
    openaiOnly = issueToken(dir, 'web', { scopes: ['openai'] }).token;
    everything = issueToken(dir, 'web').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const oa = (t: string) => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: t, maxRetries: 0 });
  const an = (t: string) => new Anthropic({ baseURL: gw.origin, apiKey: t, maxRetries: 0 });
  const ai = (t: string) => new GoogleGenAI({ apiKey: t, httpOptions: { baseUrl: gw.origin } });
  const hi = [{ role: 'user' as const, content: 'hi' }];

  it('an app-only token (the one shipped in a browser bundle) calls the app route, and nothing else reaches a provider with it', async () => {
    const ok = await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, { authorization: `Bearer ${appOnly}` });
    expect(ok.status).toBe(200);
    expect(ok.json.text).toBe('toktok');
    const before = upstream.seen.length;
    // The app call's row first (written off the hot path), so that any row after it would be a refusal's.
    await until('the app call is in the ledger', () => ledger.rows({}).length >= 1);
    const rows = ledger.rows({}).length;
    const err = await oa(appOnly).chat.completions.create({ model: 'gpt-4o-mini', messages: hi }).catch((e: unknown) => e);
    expect(status(err)).toBe(403);
    expect(String((err as Error).message)).toMatch(/this gateway token may call only the app route \(POST \/api\/ai\/chat\), not OpenAI's API/);
    expect(status(await oa(appOnly).models.list().catch((e: unknown) => e))).toBe(403);
    expect(status(await an(appOnly).messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: hi }).catch((e: unknown) => e))).toBe(403);
    expect(status(await ai(appOnly).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e: unknown) => e))).toBe(403);
    expect(upstream.seen.length).toBe(before);
    expect(ledger.rows({}).length).toBe(rows);
  });

  it('raises one outside_scope alert per token, naming the token to revoke', async () => {
    const alerts = gw.logs.join('').split('\n').filter((l) => l.includes('"alert":"outside_scope"'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(`token ${appOnlyId} of user 'web' was used to call OpenAI's API, outside its scopes`);
    expect(alerts[0]).toContain(`keyward tokens revoke ${appOnlyId}`);
    expect((await gw.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_alerts_total\{kind="outside_scope"\} 1$/m);
  });

  it("an OpenAI-scoped token calls OpenAI's API (whoever answers it) but not the other providers' APIs or the app route, each refused in its own error shape", async () => {
    expect((await oa(openaiOnly).chat.completions.create({ model: 'gpt-4o-mini', messages: hi })).choices[0]!.message.content).toBe('toktok');
    // The scope is the API the client speaks: a Claude model through OpenAI's API is OpenAI's API.
    await oa(openaiOnly).chat.completions.create({ model: 'claude-haiku-4-5', messages: hi });
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'anthropic', path: '/v1/chat/completions' });
    const ids: string[] = [];
    for await (const m of oa(openaiOnly).models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o-mini');

    const messages = await post(`${gw.origin}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 10, messages: hi }, { 'x-api-key': openaiOnly, 'anthropic-version': '2023-06-01' });
    expect(messages.status).toBe(403);
    expect(messages.json).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringMatching(/may call only OpenAI's API, not Anthropic's API/) } });
    expect(status(await an(openaiOnly).models.list().catch((e: unknown) => e))).toBe(403);
    const gem = await post(`${gw.origin}/v1beta/models/gemini-2.5-flash:generateContent`, { contents: [{ parts: [{ text: 'hi' }] }] }, { 'x-goog-api-key': openaiOnly });
    expect(gem.status).toBe(403);
    expect(gem.json).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    expect((await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, { authorization: `Bearer ${openaiOnly}` })).status).toBe(403);
  });

  it('a token issued without scopes calls everything', async () => {
    expect((await oa(everything).chat.completions.create({ model: 'gpt-4o-mini', messages: hi })).choices[0]!.message.content).toBe('toktok');
    expect((await an(everything).messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: hi })).content).toHaveLength(1);
    expect((await ai(everything).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' })).text).toBe('toktok');
    expect((await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, { authorization: `Bearer ${everything}` })).status).toBe(200);
  });

  it('issuing refuses scopes it does not know, or none', () => {
    expect(() => issueToken(dir, 'web', { scopes: ['app', 'admin' as 'app'] })).toThrow(/unknown token scope: 'admin'/);
    expect(() => issueToken(dir, 'web', { scopes: [] })).toThrow(/a token needs at least one scope/);
    expect(dir.listTokens().length).toBe(3);
  });
});
