import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_CALLS, imageToolAsked } from '../../src/gateway/images.js';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const usd = (perMillion: number, tokens: number) => (perMillion * tokens) / 1e6;
/** Two low-quality 1024×1024 images of gpt-image-1: 408 image tokens each, at $40 a million. */
const TWO_LOW_IMAGES = usd(40, 2 * 408);

describe("images the Responses API's image_generation tool makes are billed at the image model's price, and reserved", () => {
  const s = gatewaySuite({ user: 'drawer', upstream: { promptTokens: 100, outputTokens: 10 } });
  const tokens = (out: number) => usd(0.15, 100) + usd(0.6, out);
  const lastRow = () => s.nextRow('drawer');
  const tools = [{ type: 'image_generation' as const, quality: 'low' as const, size: '1024x1024' as const }];

  it('bills each image of an answer on top of the tokens', async () => {
    const r = await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'draw a lighthouse', tools });
    expect(r.output.filter((o) => o.type === 'image_generation_call')).toHaveLength(2);
    const row = await lastRow();
    expect(row.outcome).toBe('ok');
    expect(row.costUsd).toBeCloseTo(tokens(row.tokensOut) + TWO_LOW_IMAGES, 12);
  });

  it('bills a stream whose final event is too large to keep whole (3 MB of images) from its usage and the images it made', async () => {
    const stream = await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'draw a lighthouse', tools, stream: true });
    let done = false;
    for await (const e of stream) if (e.type === 'response.completed') done = true;
    expect(done).toBe(true);
    const row = await lastRow();
    expect([row.tokensIn, row.tokensOut, row.outcome]).toEqual([100, 10, 'ok']);
    expect(row.costUsd).toBeCloseTo(tokens(10) + TWO_LOW_IMAGES, 12);
  });

  it('reserves the images a request may make: four at the dearest figure of its quality, or its max_tool_calls', async () => {
    const token = s.tokenFor('small-drawer', { budgetUsd: 0.5, period: 'day' });
    const ask = (extra: Record<string, unknown>) =>
      fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'draw', max_output_tokens: 100, tools: [{ type: 'image_generation', quality: 'high' }], ...extra }) });
    // Four high-quality images may cost $1.00 (6 240 tokens each at $40 a million): more than the budget.
    expect((await ask({})).status).toBe(402);
    // One ($0.25) fits.
    expect((await ask({ max_tool_calls: 1 })).status).toBe(200);
    const bad = await ask({ tools: [{ type: 'image_generation', partial_images: 9 }], stream: true });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/partial_images' must be a whole number from 0 to 3/);
  });

  it("reserves as many images as the request's max_tool_calls allows, above the default too", () => {
    const tool = { type: 'image_generation', quality: 'low', size: '1024x1024' };
    expect(imageToolAsked({ tools: [tool] }, false)).toEqual({ model: 'gpt-image-1', tokensPerImage: 408, images: DEFAULT_IMAGE_CALLS });
    expect(imageToolAsked({ tools: [tool], max_tool_calls: 1 }, false)?.images).toBe(1);
    expect(imageToolAsked({ tools: [tool], max_tool_calls: 12 }, false)?.images).toBe(12);
    expect(imageToolAsked({ tools: [{ ...tool, model: 'gpt-image-1-mini', partial_images: 2 }] }, true)).toMatchObject({ model: 'gpt-image-1-mini', tokensPerImage: 408 + 200 });
    expect(imageToolAsked({ tools: [{ type: 'web_search' }] }, false)).toBeUndefined();
  });
});
