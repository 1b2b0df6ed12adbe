import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { DEFAULT_SEARCHES, fileSearchesAsked, previewSearch, searchesAsked, searchQueries } from '../../src/gateway/web-search.js';
import { bearer, until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;
/** Two searches at $10 a thousand. */
const TWO_SEARCHES = 0.02;

describe('web searches a provider runs for a request (and Gemini answers grounded in Google Search) are reserved and billed, on top of the tokens', () => {
  // The vector store every user may search (any other is refused: shared-objects.test.ts).
  const s = gatewaySuite({ user: 'searcher', upstream: { promptTokens: 100, outputTokens: 10 }, gateway: { sharedObjects: ['vs_handbook'] } });
  let rows = 0;
  /** The suite user's row for the call just made, once written (the budget tests call as other users). */
  const lastRow = async () => {
    rows++;
    const mine = () => s.ledger.rows({}).filter((r) => r.userId === s.dir.getUser('searcher')!.id);
    await until('the call is in the ledger', () => mine().length >= rows);
    return mine().at(-1)!;
  };

  it("bills an OpenAI response for the web searches in its output, plain and streamed", async () => {
    const tokens = (out: number) => usd(0.15, 100) + usd(0.6, out);
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'news today?', tools: [{ type: 'web_search' }] });
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + TWO_SEARCHES, 12);
    const stream = await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'news today?', tools: [{ type: 'web_search' }], stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + TWO_SEARCHES, 12);
    // No search tool, no search fee.
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut), 12);
  });

  it("bills an Anthropic message for the searches its server tool reports, plain and streamed", async () => {
    const claude = new Anthropic({ baseURL: s.gw.origin, apiKey: s.token, maxRetries: 0 });
    const tokens = (out: number) => usd(1, 100) + usd(5, out);
    const tools = [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 3 }];
    await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, tools, messages: [{ role: 'user', content: 'news?' }] });
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + TWO_SEARCHES, 12);
    const stream = await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, tools, messages: [{ role: 'user', content: 'news?' }], stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + TWO_SEARCHES, 12);
  });

  it('bills a Gemini answer grounded in Google Search as one search at $35 a thousand, plain and streamed', async () => {
    const tokens = (out: number) => usd(0.3, 100) + usd(2.5, out);
    const ask = (path: string) =>
      fetch(`${s.gw.origin}/v1beta/models/gemini-2.5-flash:${path}`, { method: 'POST', headers: { 'x-goog-api-key': s.token, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'who won?' }] }], tools: [{ googleSearch: {} }] }) });
    expect((await ask('generateContent')).status).toBe(200);
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.035, 12);
    const streamed = await ask('streamGenerateContent?alt=sse');
    await streamed.text();
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.035, 12);
  });

  it("bills OpenAI's web_search_preview at $25 a thousand on a model that does not reason, $10 on one that does", async () => {
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'news today?', tools: [{ type: 'web_search_preview' }] });
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(usd(0.15, 100) + usd(0.6, row.tokensOut) + 0.05, 12);
    await s.oa().responses.create({ model: 'gpt-5-mini', input: 'news today?', tools: [{ type: 'web_search_preview' }] });
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(usd(0.25, 100) + usd(2, row.tokensOut) + TWO_SEARCHES, 12);
  });

  it('bills file_search calls at $2.50 a thousand, plain and streamed, and reserves the calls a request may make', async () => {
    const tokens = (out: number) => usd(0.15, 100) + usd(0.6, out);
    const tools = [{ type: 'file_search' as const, vector_store_ids: ['vs_handbook'] }];
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'what is our leave policy?', tools });
    let row = await lastRow();
    // The answer lists three file_search_call items.
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.0075, 12);
    const stream = await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'and sick leave?', tools, stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.0075, 12);
    // Ten calls ($0.025) may run uncapped: more than a $0.02 budget holds; three ($0.0075) fit.
    const token = s.tokenFor('filer', { budgetUsd: 0.02, period: 'day' });
    const ask = (extra: Record<string, unknown>) =>
      fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'search', max_output_tokens: 100, tools, ...extra }) });
    expect((await ask({})).status).toBe(402);
    expect((await ask({ max_tool_calls: 3 })).status).toBe(200);
  });

  it('bills a Gemini 3 answer grounded in Google Search per distinct query it ran, at $14 a thousand, and reserves ten queries', async () => {
    const tokens = (out: number) => usd(0.5, 100) + usd(3, out);
    const ask = (model: string, path: string, token = s.token) =>
      fetch(`${s.gw.origin}/v1beta/models/${model}:${path}`, { method: 'POST', headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'who won?' }] }], tools: [{ googleSearch: {} }], generationConfig: { maxOutputTokens: 100 } }) });
    // The answer lists four queries: one empty, one twice; two are billed.
    expect((await ask('gemini-3-flash-preview', 'generateContent')).status).toBe(200);
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.028, 12);
    await (await ask('gemini-3-flash-preview', 'streamGenerateContent?alt=sse')).text();
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.028, 12);
    // Nothing caps the queries: ten ($0.14) are held, more than $0.10; Gemini 2.5's one grounded answer ($0.035) fits.
    const token = s.tokenFor('grounder', { budgetUsd: 0.1, period: 'day' });
    expect((await ask('gemini-3-flash-preview', 'generateContent', token)).status).toBe(402);
    expect((await ask('gemini-2.5-flash', 'generateContent', token)).status).toBe(200);
  });

  it('reserves the searches a request may run, so a budget cannot be passed through them', async () => {
    s.dir.addUser('small', { budgetUsd: 0.05, period: 'day' });
    const token = issueToken(s.dir, 'small').token;
    const ask = (extra: Record<string, unknown>) =>
      fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'search', max_output_tokens: 100, tools: [{ type: 'web_search' }], ...extra }) });
    // Uncapped, a request may run ten searches ($0.10): more than the budget holds.
    const uncapped = await ask({});
    expect(uncapped.status).toBe(402);
    // Capped at two, it fits.
    expect((await ask({ max_tool_calls: 2 })).status).toBe(200);
  });

  it('bills a search model (gpt-4o-search-preview) for the search it runs on every request', async () => {
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini-search-preview', messages: [{ role: 'user', content: 'weather?' }], web_search_options: {} });
    const row = await lastRow();
    expect(row.costUsd).toBeCloseTo(usd(0.15, 100) + usd(0.6, row.tokensOut) + 0.03, 12);
  });

  it('reserves a chat that may answer in speech at the audio output rate', async () => {
    // 4 096 tokens of speech at $20 a million is about $0.08; written, at $0.6, they would fit in $0.01.
    s.dir.addUser('talker', { budgetUsd: 0.01, period: 'day' });
    const token = issueToken(s.dir, 'talker').token;
    const chat = (extra: Record<string, unknown>) =>
      fetch(`${s.gw.origin}/v1/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini-audio-preview', messages: [{ role: 'user', content: 'hi' }], ...extra }) });
    expect((await chat({ modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } })).status).toBe(402);
    expect((await chat({})).status).toBe(200);
  });

  it('bills each code interpreter container an answer used once, at the memory tier asked for, and reserves one', async () => {
    const tokens = (out: number) => usd(0.15, 100) + usd(0.6, out);
    const code = (extra: Record<string, unknown> = {}, container: Record<string, unknown> = { type: 'auto' }) =>
      s.oa().responses.create({ model: 'gpt-4o-mini', input: 'plot it', tools: [{ type: 'code_interpreter', container: container as { type: 'auto' } }], ...extra });
    await code();
    let row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + 0.03, 12);
    // The next turn runs in the same container: not billed again.
    await code({ previous_response_id: 'resp_fake' });
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut), 12);
    // A 64 GB container costs $1.92: reserved, it does not fit in a $1 budget.
    s.dir.addUser('coder', { budgetUsd: 1, period: 'day' });
    const token = issueToken(s.dir, 'coder').token;
    const big = await fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'crunch', tools: [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: '64g' } }] }) });
    expect(big.status).toBe(402);
  });

  it('counts the searches a request may run from its tools and caps', () => {
    expect(searchesAsked({ tools: [{ type: 'function', name: 'f' }] })).toBe(0);
    expect(searchesAsked({ tools: [{ type: 'web_search' }] })).toBe(DEFAULT_SEARCHES);
    expect(searchesAsked({ tools: [{ type: 'web_search_preview' }], max_tool_calls: 3 })).toBe(3);
    expect(searchesAsked({ tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 4 }] })).toBe(4);
    expect(searchesAsked({ tools: 'nonsense' })).toBe(0);
    expect(searchesAsked({ tools: [{ googleSearch: {} }] })).toBe(1);
    expect(searchesAsked({ tools: [{ google_search_retrieval: { dynamic_retrieval_config: {} } }] })).toBe(1);
    expect(previewSearch({ tools: [{ type: 'web_search_preview_2025_03_11' }] })).toBe(true);
    expect(previewSearch({ tools: [{ type: 'web_search' }] })).toBe(false);
    expect(fileSearchesAsked({ tools: [{ type: 'web_search' }] })).toBe(0);
    expect(fileSearchesAsked({ tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] })).toBe(DEFAULT_SEARCHES);
    expect(fileSearchesAsked({ tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }], max_tool_calls: 2 })).toBe(2);
    // A cap above the default bounds the calls all the same: they are reserved up to it.
    expect(fileSearchesAsked({ tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }], max_tool_calls: 50 })).toBe(50);
  });

  it('takes the search prices in a price override, and refuses one that is not a positive number', () => {
    expect(validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, webSearch: 5, webSearchPreview: 25, searchQuery: 14, fileSearch: 2.5 } } }).prices).toBeDefined();
    expect(() => validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, fileSearch: -1 } } })).toThrow(/prices/);
    expect(() => validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, searchQuery: 'cheap' } } })).toThrow(/prices/);
  });

  it("counts a grounded Gemini answer's queries as Google bills them: distinct, empty ones left out, at least one", () => {
    const answer = (g: Record<string, unknown>) => [{ content: { parts: [] }, groundingMetadata: g }];
    expect(searchQueries(answer({ webSearchQueries: ['a', '', 'b', 'a', '  '] }))).toBe(2);
    expect(searchQueries([...answer({ webSearchQueries: ['a'] }), ...answer({ webSearchQueries: ['c'] })])).toBe(2);
    expect(searchQueries(answer({ webSearchQueries: [], groundingChunks: [{ web: { uri: 'https://example.com' } }] }))).toBe(1);
    expect(searchQueries(answer({ webSearchQueries: [] }))).toBe(0);
    expect(searchQueries([{ content: { parts: [] } }])).toBe(0);
    expect(searchQueries('nonsense')).toBe(0);
  });
});
