import { describe, expect, it } from 'vitest';
import { StreamMeter } from '../meter.js';
import { anthropic } from './anthropic.js';
import { gemini } from './gemini.js';
import { openai } from './openai.js';
import { Prices } from './prices.js';

const prices = new Prices();
const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;

describe('prompt caching is billed at its own rates', () => {
  it("reads OpenAI's cached prompt tokens, in chat and in the Responses API, and bills them at the cached rate", () => {
    const chat = openai.usageFromJson({ usage: { prompt_tokens: 2_000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 1_536 } } })!;
    expect(chat).toEqual({ tokensIn: 2_000, tokensOut: 100, cachedIn: 1_536 });
    expect(prices.usageCost('gpt-4o-mini', chat)).toBeCloseTo(usd(0.15, 464) + usd(0.075, 1_536) + usd(0.6, 100), 15);
    const responses = openai.usageFromJson({ response: { usage: { input_tokens: 10_000, output_tokens: 50, input_tokens_details: { cached_tokens: 9_000 } } } })!;
    expect(responses).toEqual({ tokensIn: 10_000, tokensOut: 50, cachedIn: 9_000 });
    expect(prices.usageCost('gpt-5', responses)).toBeCloseTo(usd(1.25, 1_000) + usd(0.125, 9_000) + usd(10, 50), 15);
    // No cache reported: the plain input rate, as before.
    expect(prices.usageCost('gpt-4o-mini', { tokensIn: 2_000, tokensOut: 100 })).toBeCloseTo(prices.cost('gpt-4o-mini', 2_000, 100), 15);
  });

  it("bills Anthropic's cache reads at a tenth of the input, and its writes at 1.25 times it, or twice for an hour", () => {
    const u = anthropic.usageFromJson({
      usage: { input_tokens: 1_000, cache_read_input_tokens: 10_000, cache_creation_input_tokens: 2_500, cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 500 }, output_tokens: 300 },
    })!;
    expect(u).toEqual({ tokensIn: 13_500, tokensOut: 300, cachedIn: 10_000, cacheWriteIn: 2_000, cacheWrite1hIn: 500 });
    expect(prices.usageCost('claude-sonnet-4-5', u)).toBeCloseTo(usd(3, 1_000) + usd(0.3, 10_000) + usd(3.75, 2_000) + usd(6, 500) + usd(15, 300), 15);
    // An older answer says nothing of the write's lifetime: 5 minutes, Anthropic's default.
    expect(anthropic.usageFromJson({ usage: { input_tokens: 10, cache_creation_input_tokens: 90, output_tokens: 1 } })).toEqual({ tokensIn: 100, tokensOut: 1, cacheWriteIn: 90 });
  });

  it("reads Gemini's cached content tokens, in an answer and in a stream's chunks", () => {
    const meta = { usageMetadata: { promptTokenCount: 4_000, cachedContentTokenCount: 3_000, candidatesTokenCount: 20 } };
    expect(gemini.usageFromJson(meta)).toEqual({ tokensIn: 4_000, tokensOut: 20, cachedIn: 3_000 });
    expect(gemini.usageFromEvent(meta)).toEqual({ tokensIn: 4_000, tokensOut: 20, cachedIn: 3_000 });
    expect(prices.usageCost('gemini-2.5-flash', { tokensIn: 4_000, tokensOut: 20, cachedIn: 3_000 })).toBeCloseTo(usd(0.3, 1_000) + usd(0.075, 3_000) + usd(2.5, 20), 15);
  });

  it('assumes no discount for a model whose cached rate it does not know, and a price override can name every rate', () => {
    expect(prices.usageCost('gpt-3.5-turbo', { tokensIn: 1_000, tokensOut: 0, cachedIn: 800 })).toBeCloseTo(usd(0.5, 1_000), 15);
    const own = new Prices({ 'my-claude': { input: 2, output: 10, cachedInput: 0.5, cacheWrite: 2.2, cacheWrite1h: 3 } });
    expect(own.usageCost('my-claude', { tokensIn: 400, tokensOut: 0, cachedIn: 100, cacheWriteIn: 100, cacheWrite1hIn: 100 })).toBeCloseTo(usd(2, 100) + usd(0.5, 100) + usd(2.2, 100) + usd(3, 100), 15);
  });

  it("keeps a stream's cache counts with the input that reported them (Anthropic's message_start)", () => {
    const m = new StreamMeter(anthropic);
    const ev = (type: string, data: object) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    m.push(ev('message_start', { message: { usage: { input_tokens: 5, cache_read_input_tokens: 1_000, cache_creation_input_tokens: 0, output_tokens: 1 } } }));
    m.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } }));
    m.push(ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 42 } }));
    m.end();
    expect(m.usage(0)).toEqual({ tokensIn: 1_005, tokensOut: 42, cachedIn: 1_000 });
  });

  it("bills a chat's audio at the audio rates, not its model family's text rate", () => {
    const u = openai.usageFromJson({ usage: { prompt_tokens: 300, completion_tokens: 1_000, prompt_tokens_details: { audio_tokens: 200 }, completion_tokens_details: { audio_tokens: 900 } } })!;
    expect(u).toEqual({ tokensIn: 300, tokensOut: 1_000, audioIn: 200, audioOut: 900 });
    // A dated id of the audio model, not gpt-4o-mini's family price.
    expect(prices.of('gpt-4o-mini-audio-preview-2024-12-17')).toMatchObject({ audioInput: 10, audioOutput: 20 });
    expect(prices.usageCost('gpt-4o-mini-audio-preview-2024-12-17', u)).toBeCloseTo(usd(0.15, 100) + usd(10, 200) + usd(0.6, 100) + usd(20, 900), 15);
    // What a spoken answer may cost beyond a written one, for the reservation.
    expect(prices.spokenExtra('gpt-4o-audio-preview', 1_000)).toBeCloseTo(usd(80 - 10, 1_000), 15);
    expect(prices.spokenExtra('gpt-4o-mini', 1_000)).toBe(0);
  });
});

describe('searches are priced by what the provider bills for them', () => {
  it('prices web searches, preview searches, grounded queries and file_search calls by model, and a model it does not know at the dearest', () => {
    expect(prices.toolCost('gpt-5', { searches: 3 })).toBeCloseTo(0.03, 15);
    expect(prices.toolCost('gpt-4o', { searches: 3 }, true)).toBeCloseTo(0.075, 15);
    // A reasoning model pays the plain rate for a preview search.
    expect(prices.toolCost('o4-mini', { searches: 3 }, true)).toBeCloseTo(0.03, 15);
    expect(prices.toolCost('gpt-4o-mini', { fileSearches: 4 })).toBeCloseTo(0.01, 15);
    // Gemini 2.5: one grounded answer, however many queries; Gemini 3: each query.
    expect(prices.toolCost('gemini-2.5-pro', { searches: 1, searchQueries: 5 })).toBeCloseTo(0.035, 15);
    expect(prices.toolCost('gemini-3-pro-preview', { searches: 1, searchQueries: 5 })).toBeCloseTo(0.07, 15);
    expect(prices.toolCost('gemini-9-ultra', { searches: 1, searchQueries: 5 })).toBeCloseTo(0.175, 15);
    expect(prices.toolCost('some-model', { searches: 2 })).toBeCloseTo(0.07, 15);
    expect(prices.toolCost('gpt-5', {})).toBe(0);
    const custom = new Prices({ 'my-model': { input: 1, output: 1, webSearch: 5, fileSearch: 1 } });
    expect(custom.toolCost('my-model', { searches: 2, fileSearches: 2 })).toBeCloseTo(0.012, 15);
    expect(prices.usageCost('gpt-4o', { tokensIn: 0, tokensOut: 0, searches: 2 }, true)).toBeCloseTo(0.05, 15);
  });

  it("reads a grounded Gemini answer's queries, and OpenAI's file_search calls, in an answer and in a stream", () => {
    const grounded = { candidates: [{ groundingMetadata: { webSearchQueries: ['a', 'b', ''] } }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5 } };
    expect(gemini.usageFromJson(grounded)).toEqual({ tokensIn: 10, tokensOut: 5, searches: 1, searchQueries: 2 });
    const m = new StreamMeter(gemini);
    m.push(Buffer.from(`data: ${JSON.stringify({ candidates: [{}], usageMetadata: { promptTokenCount: 10 } })}\n\ndata: ${JSON.stringify(grounded)}\n\n`));
    m.end();
    expect(m.usage(0)).toEqual({ tokensIn: 10, tokensOut: 5, searches: 1, searchQueries: 2 });
    const done = { type: 'response.completed', response: { output: [{ type: 'file_search_call' }, { type: 'file_search_call' }, { type: 'message' }], usage: { input_tokens: 7, output_tokens: 3 } } };
    const s = new StreamMeter(openai);
    s.push(Buffer.from(`event: response.completed\ndata: ${JSON.stringify(done)}\n\n`));
    s.end();
    expect(s.usage(0)).toEqual({ tokensIn: 7, tokensOut: 3, fileSearches: 2 });
  });
});

describe("a prompt past a model's long-context threshold pays the long rates", () => {
  it("applies GPT-5.4's 2× input and 1.5× output past 272K prompt tokens, to the whole request and its cached input", () => {
    expect(prices.cost('gpt-5.4', 272_000, 1_000)).toBeCloseTo(usd(2.5, 272_000) + usd(15, 1_000), 15);
    expect(prices.cost('gpt-5.4', 272_001, 1_000)).toBeCloseTo(usd(5, 272_001) + usd(22.5, 1_000), 15);
    expect(prices.usageCost('gpt-5.4-2026-03-05', { tokensIn: 300_000, tokensOut: 10, cachedIn: 100_000 })).toBeCloseTo(usd(5, 200_000) + usd(0.5, 100_000) + usd(22.5, 10), 15);
    expect(prices.cost('gpt-5.4-pro', 300_000, 0)).toBeCloseTo(usd(60, 300_000), 15);
  });

  it('applies the same rule to GPT-5.5 ($10 / $45 past 272K, cached input $1) and GPT-5.5 pro', () => {
    expect(prices.cost('gpt-5.5', 272_000, 1_000)).toBeCloseTo(usd(5, 272_000) + usd(30, 1_000), 15);
    expect(prices.usageCost('gpt-5.5', { tokensIn: 272_001, tokensOut: 1_000, cachedIn: 72_001 })).toBeCloseTo(usd(10, 200_000) + usd(1, 72_001) + usd(45, 1_000), 15);
    expect(prices.cost('gpt-5.5-pro', 300_000, 10)).toBeCloseTo(usd(60, 300_000) + usd(270, 10), 15);
  });

  it("scales Anthropic's cache writes with the long input, and Gemini Pro's rates past 200K", () => {
    const u = { tokensIn: 250_000, tokensOut: 100, cachedIn: 100_000, cacheWriteIn: 20_000, cacheWrite1hIn: 10_000 };
    expect(prices.usageCost('claude-sonnet-4-5', u)).toBeCloseTo(usd(6, 120_000) + usd(0.6, 100_000) + usd(7.5, 20_000) + usd(12, 10_000) + usd(22.5, 100), 15);
    expect(prices.usageCost('claude-sonnet-4-5', { ...u, tokensIn: 200_000, cachedIn: 50_000 })).toBeCloseTo(usd(3, 120_000) + usd(0.3, 50_000) + usd(3.75, 20_000) + usd(6, 10_000) + usd(15, 100), 15);
    expect(prices.cost('gemini-2.5-pro', 200_001, 10)).toBeCloseTo(usd(2.5, 200_001) + usd(15, 10), 15);
    expect(prices.usageCost('gemini-3-pro-preview', { tokensIn: 300_000, tokensOut: 0, cachedIn: 300_000 })).toBeCloseTo(usd(0.4, 300_000), 15);
  });

  it('takes long-context rates in an override, their other input rates following the input', () => {
    const own = new Prices({ 'my-model': { input: 1, output: 4, imageInput: 2, longContext: { above: 1_000, input: 3, output: 6 } } });
    expect(own.cost('my-model', 1_000, 10)).toBeCloseTo(usd(1, 1_000) + usd(4, 10), 15);
    expect(own.cost('my-model', 2_000, 10, 500)).toBeCloseTo(usd(3, 1_500) + usd(6, 500) + usd(6, 10), 15);
    // The long rates are made once and kept: the same object each time.
    expect(own.rates('my-model', 5_000)).toBe(own.rates('my-model', 9_000));
    expect(own.rates('my-model', 10)).toBe(own.of('my-model'));
    // A cached rate the long rates do not name follows the input: three times $0.10.
    const cached = new Prices({ 'my-model': { input: 1, output: 4, cachedInput: 0.1, longContext: { above: 1_000, input: 3, output: 6 } } });
    expect(cached.usageCost('my-model', { tokensIn: 2_000, tokensOut: 0, cachedIn: 1_000 })).toBeCloseTo(usd(3, 1_000) + usd(0.3, 1_000), 15);
  });

  it('prices the newer models, and an Opus the table does not list yet at the dearest Opus rate', () => {
    expect(prices.cost('gpt-5.5', 2e5, 1e6)).toBeCloseTo(31, 12);
    expect(prices.cost('gpt-5.4-nano', 1e6, 1e6)).toBeCloseTo(1.45, 12);
    expect(prices.cost('claude-opus-4-6', 1e6, 1e6)).toBe(30);
    expect(prices.cost('claude-opus-4-5-20251101', 1e6, 1e6)).toBe(30);
    expect(prices.cost('claude-opus-4-9', 1e6, 1e6)).toBe(90);
  });
});

describe("an image model's pictures are billed at its image-output rate", () => {
  it("reads Gemini's image tokens from the answer's modality details, in an answer and in a stream", () => {
    const answer = { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1_300, candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1_290 }, { modality: 'TEXT', tokenCount: 10 }] } };
    const u = gemini.usageFromJson(answer)!;
    expect(u).toEqual({ tokensIn: 10, tokensOut: 1_300, imageTokensOut: 1_290 });
    expect(prices.usageCost('gemini-2.5-flash-image', u)).toBeCloseTo(usd(0.3, 10) + usd(2.5, 10) + usd(30, 1_290), 15);
    expect(prices.usageCost('gemini-2.5-flash-image-preview', u)).toBeCloseTo(usd(0.3, 10) + usd(2.5, 10) + usd(30, 1_290), 15);
    const m = new StreamMeter(gemini);
    m.push(Buffer.from(`data: ${JSON.stringify({ usageMetadata: { promptTokenCount: 10 } })}\r\n\r\ndata: ${JSON.stringify(answer)}\r\n\r\n`));
    m.end();
    expect(m.usage(0)).toEqual({ tokensIn: 10, tokensOut: 1_300, imageTokensOut: 1_290 });
    // A model without an image rate bills them as any output.
    expect(prices.usageCost('gemini-2.5-flash', u)).toBeCloseTo(usd(0.3, 10) + usd(2.5, 1_300), 15);
    expect(prices.drawnExtra('gemini-3-pro-image-preview', 1_000)).toBeCloseTo(usd(108, 1_000), 15);
    expect(prices.drawnExtra('gemini-2.5-flash', 1_000)).toBe(0);
  });
});

describe("OpenAI's processing tiers", () => {
  it("reads the tier OpenAI billed from an answer, an event or beside the usage, and leaves a compatible provider's alone", async () => {
    const { usageOfAnswer } = await import('../usage-search.js');
    expect(openai.usageFromJson({ usage: { prompt_tokens: 10, completion_tokens: 2 }, service_tier: 'priority' })).toEqual({ tokensIn: 10, tokensOut: 2, serviceTier: 'priority' });
    expect(openai.usageFromJson({ response: { usage: { input_tokens: 10, output_tokens: 2 }, service_tier: 'flex' } })).toEqual({ tokensIn: 10, tokensOut: 2, serviceTier: 'flex' });
    expect(openai.usageFromJson({ usage: { prompt_tokens: 10, completion_tokens: 2 }, service_tier: 'default' })).toEqual({ tokensIn: 10, tokensOut: 2 });
    const answer = (tier: string) => Buffer.from(JSON.stringify({ id: 'c', choices: [{ message: { content: 'say "service_tier": "flex"' } }], usage: { prompt_tokens: 10, completion_tokens: 2 }, service_tier: tier }));
    expect(usageOfAnswer(openai, answer('priority'))).toEqual({ tokensIn: 10, tokensOut: 2, serviceTier: 'priority' });
    // The words in the answer's text are not the key.
    expect(usageOfAnswer(openai, answer('default'))).toEqual({ tokensIn: 10, tokensOut: 2 });
    const groq = { ...openai, name: 'groq' };
    expect(groq.usageFromJson({ usage: { prompt_tokens: 10, completion_tokens: 2 }, service_tier: 'flex' })).toEqual({ tokensIn: 10, tokensOut: 2 });
    expect(usageOfAnswer(groq, answer('flex'))).toEqual({ tokensIn: 10, tokensOut: 2 });
  });

  it('prices priority at twice the standard rates and flex at half, unless the table says otherwise, its searches unchanged', () => {
    const u = { tokensIn: 1_000, tokensOut: 100 };
    expect(prices.usageCost('gpt-5', { ...u, serviceTier: 'priority' })).toBeCloseTo(2 * prices.usageCost('gpt-5', u), 15);
    expect(prices.usageCost('gpt-5', { ...u, cachedIn: 500, serviceTier: 'flex' })).toBeCloseTo(prices.usageCost('gpt-5', { ...u, cachedIn: 500 }) / 2, 15);
    expect(prices.usageCost('gpt-5', { ...u, searches: 1, serviceTier: 'priority' })).toBeCloseTo(2 * prices.usageCost('gpt-5', u) + 0.01, 15);
    // OpenAI's price list charges less than twice for some models.
    expect(prices.tierFactor('gpt-4o', 'priority')).toBe(1.7);
    expect(prices.tierFactor('gpt-4o-2024-08-06', 'priority')).toBe(1.7);
    expect(prices.usageCost('gpt-4o-mini', { tokensIn: 1e6, tokensOut: 1e6, serviceTier: 'priority' })).toBeCloseTo(1.25, 12);
    expect(prices.usageCost('o4-mini', { tokensIn: 1e6, tokensOut: 1e6, serviceTier: 'priority' })).toBeCloseTo(10, 12);
    expect(prices.tierFactor('gpt-5', 'batch')).toBe(0.5);
    const own = new Prices({ 'gpt-4o': { input: 2.5, output: 10, priority: 1.7 } });
    expect(own.tierFactor('gpt-4o', 'priority')).toBe(1.7);
    expect(own.tierFactor('gpt-4o', 'flex')).toBe(0.5);
  });
});
