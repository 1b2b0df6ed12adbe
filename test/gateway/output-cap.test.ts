import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

describe('a request with no output cap is sent with the one it was reserved for, where a budget or a tokens-per-minute limit counts it', () => {
  const s = gatewaySuite({ user: 'open', gateway: { defaultMaxTokens: 1_000 } });
  const sent = () => s.upstream.seen.at(-1)!;
  const budgeted = () => s.tokenFor(`budgeted-${Math.random().toString(36).slice(2)}`, { budgetUsd: 5, period: 'day' });

  it("caps an OpenAI chat at defaultMaxTokens with max_completion_tokens (the field reasoning models take), streamed or not", async () => {
    const token = budgeted();
    await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write a novel' }] });
    expect(sent().body).toMatchObject({ max_completion_tokens: 1_000, model: 'gpt-4o-mini' });
    expect(sent().body).not.toHaveProperty('max_tokens');
    const stream = await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }], stream: true });
    for await (const _ of stream) void _;
    expect(sent().body).toMatchObject({ max_completion_tokens: 1_000, stream_options: { include_usage: true } });
    // Its own cap is left as it is.
    await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'short' }] });
    expect(sent().body).toMatchObject({ max_tokens: 50 });
    expect(sent().body).not.toHaveProperty('max_completion_tokens');
    // A cap sent as null is no cap: the gateway's replaces it, rather than coming before it in the body (a parser keeps the last).
    await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', max_completion_tokens: null, messages: [{ role: 'user', content: 'no limit' }] });
    expect(sent().body).toMatchObject({ max_completion_tokens: 1_000 });
  });

  it('caps a Responses API request with max_output_tokens, and a Gemini call in its generationConfig, keeping the rest', async () => {
    const token = budgeted();
    await s.oa(token).responses.create({ model: 'gpt-4o-mini', input: 'write a novel' });
    expect(sent().body).toMatchObject({ max_output_tokens: 1_000, input: 'write a novel' });
    await s.oa(token).responses.create({ model: 'gpt-4o-mini', input: 'write another', max_output_tokens: null });
    expect(sent().body).toMatchObject({ max_output_tokens: 1_000, input: 'write another' });
    const r = await fetch(`${s.gw.origin}/v1beta/models/gemini-2.5-flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { temperature: 0.2 } }) });
    expect(r.status).toBe(200);
    expect(sent().body).toMatchObject({ generationConfig: { temperature: 0.2, maxOutputTokens: 1_000 } });
  });

  it("caps a chat sent to another provider's OpenAI-compatible endpoint with max_tokens", async () => {
    const token = budgeted();
    await s.oa(token).chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent()).toMatchObject({ provider: 'anthropic', body: { max_tokens: 1_000 } });
    // Anthropic's own API requires max_tokens: nothing to add.
    await new Anthropic({ baseURL: s.gw.origin, apiKey: token, maxRetries: 0 }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(sent().body).toMatchObject({ max_tokens: 64 });
  });

  it('caps the requests a tokens-per-minute limit counts, and leaves alone those nothing counts', async () => {
    const limited = s.tokenFor('limited', { tpm: 100_000 });
    await s.oa(limited).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent().body).toMatchObject({ max_completion_tokens: 1_000 });
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent().body).not.toHaveProperty('max_completion_tokens');
    const raw = await fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi' }) });
    expect(raw.status).toBe(200);
    expect(sent().body).not.toHaveProperty('max_output_tokens');
  });
});
