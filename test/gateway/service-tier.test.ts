import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;

describe("processing tiers are billed as the providers bill them: OpenAI's priority dearer and flex at half, Anthropic's fast mode six times", () => {
  const s = gatewaySuite({ user: 'tiered', upstream: { promptTokens: 100, outputTokens: 10 } });
  const standard = usd(0.15, 100) + usd(0.6, 10);
  const lastRow = () => s.nextRow('tiered');

  it("bills a chat processed with priority at OpenAI's priority rates, plain and streamed, as the answer says", async () => {
    // gpt-4o-mini with priority: $0.25 / $1.00 a million tokens, 5/3 of its standard rates.
    const priority = usd(0.25, 100) + usd(1, 10);
    const r = await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' });
    expect(r.service_tier).toBe('priority');
    expect((await lastRow()).costUsd).toBeCloseTo(priority, 12);
    const stream = await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority', stream: true });
    for await (const _ of stream) void _;
    expect((await lastRow()).costUsd).toBeCloseTo(priority, 12);
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect((await lastRow()).costUsd).toBeCloseTo(standard, 12);
  });

  it('bills a response processed with flex at half the standard rates, plain and streamed', async () => {
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'hi', service_tier: 'flex' });
    expect((await lastRow()).costUsd).toBeCloseTo(standard / 2, 12);
    const stream = await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'hi', service_tier: 'flex', stream: true });
    for await (const _ of stream) void _;
    expect((await lastRow()).costUsd).toBeCloseTo(standard / 2, 12);
  });

  it('reserves a request that asks for priority at its rates, so a budget cannot be passed by the difference', async () => {
    // 100 000 output tokens: $0.06 at standard rates, $0.10 with priority.
    const token = s.tokenFor('hurried', { budgetUsd: 0.09, period: 'day' });
    const ask = (tier?: string) =>
      fetch(`${s.gw.origin}/v1/chat/completions`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100_000, messages: [{ role: 'user', content: 'hi' }], ...(tier ? { service_tier: tier } : {}) }) });
    expect((await ask('priority')).status).toBe(402);
    expect((await ask()).status).toBe(200);
  });

  it("bills a message in Anthropic's fast mode at six times the standard rates, plain and streamed, and reserves it so", async () => {
    const claude = new Anthropic({ baseURL: s.gw.origin, apiKey: s.token, maxRetries: 0 });
    const fast = { model: 'claude-haiku-4-5', max_tokens: 64, speed: 'fast', messages: [{ role: 'user' as const, content: 'hi' }] };
    const claudeStandard = usd(1, 100) + usd(5, 10);
    await claude.messages.create(fast as Anthropic.MessageCreateParamsNonStreaming);
    expect((await lastRow()).costUsd).toBeCloseTo(claudeStandard * 6, 12);
    for await (const _ of await claude.messages.create({ ...fast, stream: true } as Anthropic.MessageCreateParamsStreaming)) void _;
    expect((await lastRow()).costUsd).toBeCloseTo(claudeStandard * 6, 12);
    await claude.messages.create({ ...fast, speed: undefined } as Anthropic.MessageCreateParamsNonStreaming);
    expect((await lastRow()).costUsd).toBeCloseTo(claudeStandard, 12);
    // 20 000 output tokens: $0.10 at standard rates, $0.60 fast.
    const token = s.tokenFor('in-a-hurry', { budgetUsd: 0.5, period: 'day' });
    const ask = (speed?: string) =>
      fetch(`${s.gw.origin}/v1/messages`, { method: 'POST', headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ ...fast, max_tokens: 20_000, ...(speed ? { speed } : { speed: undefined }) }) });
    expect((await ask('fast')).status).toBe(402);
    expect((await ask()).status).toBe(200);
  });
});
