import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;

describe('prompt caching, billed through the gateway at the rates the providers charge', () => {
  // 2 000 prompt tokens: OpenAI reads 1 500 of them from its cache; Anthropic too, and writes 300 (200 for 5 minutes, 100 for an hour).
  const s = gatewaySuite({ user: 'cacher', upstream: { promptTokens: 2_000, cachedTokens: 1_500, cacheWrites: { fiveMinutes: 200, hour: 100 }, outputTokens: 10 } });
  let rows = 0;
  /** The ledger's row for the call just made, once written. */
  const lastRow = async () => {
    rows++;
    await until('the call is in the ledger', () => s.ledger.rows({}).length >= rows);
    return s.ledger.rows({}).at(-1)!;
  };

  it('bills an OpenAI chat, plain and streamed, for its cached prompt tokens at the cached rate', async () => {
    const openaiCost = (out: number) => usd(0.15, 500) + usd(0.075, 1_500) + usd(0.6, out);
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the same long system prompt, again' }] });
    let row = await lastRow();
    expect([row.route, row.tokensIn, row.outcome]).toEqual(['chat', 2_000, 'ok']);
    expect(row.costUsd).toBeCloseTo(openaiCost(row.tokensOut), 12);
    const stream = await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }], stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect([row.tokensIn, row.outcome]).toEqual([2_000, 'ok']);
    expect(row.costUsd).toBeCloseTo(openaiCost(row.tokensOut), 12);
  });

  it("bills an Anthropic message, plain and streamed, for its cache reads and each lifetime's writes at their rates", async () => {
    const claude = new Anthropic({ baseURL: s.gw.origin, apiKey: s.token, maxRetries: 0 });
    const claudeCost = (out: number) => usd(1, 200) + usd(0.1, 1_500) + usd(1.25, 200) + usd(2, 100) + usd(5, out);
    await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    let row = await lastRow();
    expect([row.route, row.tokensIn]).toEqual(['messages', 2_000]);
    expect(row.costUsd).toBeCloseTo(claudeCost(row.tokensOut), 12);
    const stream = await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect([row.tokensIn, row.outcome]).toEqual([2_000, 'ok']);
    expect(row.costUsd).toBeCloseTo(claudeCost(row.tokensOut), 12);
  });
});
