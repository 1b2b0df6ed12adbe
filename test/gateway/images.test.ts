import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

/** gpt-image-1's list price, USD per million tokens: text in, image tokens out. */
const IMAGE = { input: 5, output: 40 };

describe("OpenAI's image generation and moderation endpoints through the OpenAI SDK", () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;
  const seenByClient: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    gw = await startGateway(upstream, keys, { directory: dir, ledger, prices: { 'dall-e-3': { input: 0, output: 10 } } });
    dir.addUser('ida', {});
    token = issueToken(dir, 'ida').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const oa = (t = token) => new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: t, maxRetries: 0 });
  const rowsOf = (route: string) => ledger.rows({}).filter((r) => r.route === route);

  it('generates images with the real key upstream, billed from the image tokens the answer reports', async () => {
    const r = await oa().images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk', n: 2, quality: 'low' });
    seenByClient.push(JSON.stringify(r));
    expect(r.data).toHaveLength(2);
    expect(Buffer.from(r.data![0]!.b64_json!, 'base64').toString()).toBe('fake image bytes');
    expect(upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/images/generations', keyIndex: 0 });
    await until('the call is in the ledger', () => rowsOf('images').length === 1);
    const row = rowsOf('images')[0]!;
    expect(row).toMatchObject({ provider: 'openai', model: 'gpt-image-1', tokensIn: 12, tokensOut: 544, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((12 * IMAGE.input + 544 * IMAGE.output) / 1e6, 12);
  });

  it('streams partial images as they come, billed from the usage of the last event', async () => {
    const before = rowsOf('images').length;
    const stream = await oa().images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse', stream: true, partial_images: 1 });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    expect(types).toEqual(['image_generation.partial_image', 'image_generation.completed']);
    await until('the call is in the ledger', () => rowsOf('images').length === before + 1);
    expect(rowsOf('images').at(-1)).toMatchObject({ tokensOut: 272, outcome: 'ok' });
  });

  it('bills an answer that reports no usage (DALL·E) for what was reserved, never for nothing and never from the image bytes', async () => {
    const before = rowsOf('images').length;
    await oa().images.generate({ model: 'dall-e-3', prompt: 'a lighthouse', quality: 'hd' });
    await until('the call is in the ledger', () => rowsOf('images').length === before + 1);
    const row = rowsOf('images').at(-1)!;
    expect(row).toMatchObject({ model: 'dall-e-3', tokensOut: 6240, outcome: 'ok_estimated' });
    expect(row.costUsd).toBeCloseTo((6240 * 10) / 1e6, 12);
  });

  it("reserves each image's dearest cost against a budget before anything is generated", async () => {
    // One image at the default quality may cost 6240 image tokens ($0.2496): more than $0.20.
    dir.addUser('frugal', { budgetUsd: 0.2, period: 'day' });
    const t = issueToken(dir, 'frugal').token;
    const before = upstream.seen.length;
    const refused = await oa(t).images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse' }).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(402);
    expect(upstream.seen.length).toBe(before);
    // At low quality (408 tokens at most, $0.0163) it fits.
    expect((await oa(t).images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse', quality: 'low' })).data).toHaveLength(1);
    const bad = await post(`${gw.origin}/v1/images/generations`, { model: 'gpt-image-1' }, bearer(t));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ message: "'prompt' is required and must be a string" });
  });

  it('moderates for free: limited like any call, billed nothing, the model OpenAI picks when none is named', async () => {
    dir.addUser('mod', { rpm: 2 });
    const t = issueToken(dir, 'mod').token;
    const r = await oa(t).moderations.create({ input: 'hello' });
    expect(r.results[0]!.flagged).toBe(false);
    expect(upstream.seen.at(-1)).toMatchObject({ path: '/v1/moderations', body: { input: 'hello' } });
    await oa(t).moderations.create({ model: 'omni-moderation-2024-09-26', input: 'hello' });
    expect((await oa(t).moderations.create({ input: 'hello' }).catch((e: unknown) => e)) as { status?: number }).toMatchObject({ status: 429 });
    const id = dir.getUser('mod')!.id;
    await until('both calls are in the ledger', () => ledger.rows({ userId: id }).length === 2);
    expect(ledger.rows({ userId: id }).map((x) => [x.route, x.model, x.costUsd, x.outcome])).toEqual([
      ['moderations', 'omni-moderation-latest', 0, 'ok'],
      ['moderations', 'omni-moderation-2024-09-26', 0, 'ok'],
    ]);
  });

  it('no key ever reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + gw.logs.join('');
    for (const k of [...keys.openai, ...keys.anthropic]) expect(all).not.toContain(k);
  });
});
