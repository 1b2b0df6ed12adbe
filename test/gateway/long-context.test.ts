import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;

describe("a prompt past a model's long-context threshold is billed and reserved at the long rates, for the whole request", () => {
  // 300 000 prompt tokens, 100 000 of them read from the provider's cache: past GPT-5.4's 272K and Sonnet 4.5's 200K.
  const s = gatewaySuite({ user: 'reader', upstream: { promptTokens: 300_000, cachedTokens: 100_000, outputTokens: 10 } });
  const lastRow = () => s.nextRow('reader');

  it('bills a GPT-5.4 chat, plain and streamed, at twice the input and 1.5 times the output', async () => {
    const cost = (out: number) => usd(5, 200_000) + usd(0.5, 100_000) + usd(22.5, out);
    await s.oa().chat.completions.create({ model: 'gpt-5.4', messages: [{ role: 'user', content: 'the whole codebase' }] });
    let row = await lastRow();
    expect(row.tokensIn).toBe(300_000);
    expect(row.costUsd).toBeCloseTo(cost(row.tokensOut), 12);
    const stream = await s.oa().chat.completions.create({ model: 'gpt-5.4', messages: [{ role: 'user', content: 'again' }], stream: true });
    for await (const _ of stream) void _;
    row = await lastRow();
    expect(row.costUsd).toBeCloseTo(cost(row.tokensOut), 12);
  });

  it('bills a Claude Sonnet 4.5 message past 200K tokens at $6 and $22.50, its cache reads at $0.60', async () => {
    const claude = new Anthropic({ baseURL: s.gw.origin, apiKey: s.token, maxRetries: 0 });
    await claude.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'the whole contract' }] });
    const row = await lastRow();
    expect(row.tokensIn).toBe(300_000);
    expect(row.costUsd).toBeCloseTo(usd(6, 200_000) + usd(0.6, 100_000) + usd(22.5, row.tokensOut), 12);
  });

  it('bills a model without long-context rates at its one rate', async () => {
    await s.oa().chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'a long log' }] });
    const row = await lastRow();
    expect(row.costUsd).toBeCloseTo(usd(0.75, 200_000) + usd(0.075, 100_000) + usd(4.5, row.tokensOut), 12);
  });

  it('reserves a long prompt at the long rates, so a budget cannot be passed by the difference', async () => {
    const token = s.tokenFor('long-reader', { budgetUsd: 1, period: 'day' });
    const ask = (bytes: number) =>
      fetch(`${s.gw.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.4', max_tokens: 16, messages: [{ role: 'user', content: 'x'.repeat(bytes) }] }),
      });
    // About 300 000 tokens (the body's bytes / 3): $1.50 at the long rate, $0.75 at the short one: refused.
    const long = await ask(900_000);
    expect(long.status).toBe(402);
    // About 200 000: $0.50, under the threshold: admitted.
    expect((await ask(600_000)).status).toBe(200);
  });

  it('takes long-context rates in a price override, and says what is wrong with bad ones', () => {
    expect(validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, longContext: { above: 128_000, input: 2, output: 3, cachedInput: 0.2 } } } }).prices).toBeDefined();
    expect(() => validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, longContext: { input: 2, output: 3 } } } })).toThrow(/'my-model' is an object whose 'longContext' is an object with 'above'/);
    expect(() => validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, longContext: { above: 1.5, input: 2, output: 3 } } } })).toThrow(/'longContext' is an object whose 'above' is/);
  });
});
