import { toFile } from 'openai';
import { describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { bearer, post, until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

/** gpt-image-1's list price, USD per million tokens: text in, image in (an edit's images), image tokens out. */
const IMAGE = { input: 5, imageInput: 10, output: 40 };
const png = (s: string) => toFile(Buffer.from(s), `${s}.png`, { type: 'image/png' });

describe("OpenAI's image generation and moderation endpoints through the OpenAI SDK", () => {
  const s = gatewaySuite({ user: 'ida', gateway: { prices: { 'dall-e-3': { input: 0, output: 10 }, 'dall-e-2': { input: 0, output: 5 } } } });
  const { keys, dir, ledger, oa, rowsOf } = s;
  const seenByClient: string[] = [];

  it('generates images with the real key upstream, billed from the image tokens the answer reports', async () => {
    const r = await oa().images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk', n: 2, quality: 'low' });
    seenByClient.push(JSON.stringify(r));
    expect(r.data).toHaveLength(2);
    expect(Buffer.from(r.data![0]!.b64_json!, 'base64').toString()).toBe('fake image bytes');
    expect(s.upstream.seen.at(-1)).toMatchObject({ provider: 'openai', path: '/v1/images/generations', keyIndex: 0 });
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
    const before = s.upstream.seen.length;
    const refused = await oa(t).images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse' }).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(402);
    expect(s.upstream.seen.length).toBe(before);
    // At low quality (408 tokens at most, $0.0163) it fits.
    expect((await oa(t).images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse', quality: 'low' })).data).toHaveLength(1);
    const bad = await post(`${s.gw.origin}/v1/images/generations`, { model: 'gpt-image-1' }, bearer(t));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ message: "'prompt' is required and must be a string" });
  });

  it('edits uploaded images with the real key upstream, the images sent byte for byte, their input tokens billed at the image rate', async () => {
    const r = await oa().images.edit({ model: 'gpt-image-1', image: [await png('first'), await png('second')], prompt: 'add a boat', quality: 'low' });
    seenByClient.push(JSON.stringify(r));
    expect(Buffer.from(r.data![0]!.b64_json!, 'base64').toString()).toBe('edited 2 image(s)');
    const seen = s.upstream.seen.at(-1)!;
    expect(seen).toMatchObject({ provider: 'openai', path: '/v1/images/edits', keyIndex: 0 });
    expect(seen.form!.images.map((b) => b.toString())).toEqual(['first', 'second']);
    expect(seen.form!.fields).toMatchObject({ model: 'gpt-image-1', prompt: 'add a boat', quality: 'low' });
    await until('the edit is in the ledger', () => rowsOf('image-edit').length === 1);
    const row = rowsOf('image-edit')[0]!;
    // The fake bills 3 text tokens and 323 image tokens an input image, 272 out.
    expect(row).toMatchObject({ provider: 'openai', model: 'gpt-image-1', tokensIn: 3 + 646, tokensOut: 272, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((3 * IMAGE.input + 646 * IMAGE.imageInput + 272 * IMAGE.output) / 1e6, 12);
  });

  it('streams an edit’s partial images, billed from the usage of its last event', async () => {
    const before = rowsOf('image-edit').length;
    const stream = await oa().images.edit({ model: 'gpt-image-1', image: await png('one'), prompt: 'make it night', stream: true, partial_images: 1 });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    expect(types).toEqual(['image_edit.partial_image', 'image_edit.completed']);
    await until('the edit is in the ledger', () => rowsOf('image-edit').length === before + 1);
    const row = rowsOf('image-edit').at(-1)!;
    expect(row).toMatchObject({ tokensIn: 4 + 323, tokensOut: 272, outcome: 'ok' });
    expect(row.costUsd).toBeCloseTo((4 * IMAGE.input + 323 * IMAGE.imageInput + 272 * IMAGE.output) / 1e6, 12);
  });

  it("reserves an edit's input images and output images against a budget before anything is sent", async () => {
    // One input image (6240 tokens at $10/M, $0.0624) and one low-quality image out (408 at $40/M, $0.0163) fit $0.10; two input images do not.
    dir.addUser('editor', { budgetUsd: 0.1, period: 'day' });
    const t = issueToken(dir, 'editor').token;
    const before = s.upstream.seen.length;
    const refused = await oa(t).images.edit({ model: 'gpt-image-1', image: [await png('a'), await png('b')], prompt: 'merge them', quality: 'low' }).catch((e: unknown) => e);
    expect((refused as { status?: number }).status).toBe(402);
    expect(s.upstream.seen.length).toBe(before);
    expect((await oa(t).images.edit({ model: 'gpt-image-1', image: await png('a'), prompt: 'brighter', quality: 'low' })).data).toHaveLength(1);
    expect(s.upstream.seen.length).toBe(before + 1);
  });

  it('makes variations (DALL·E 2), billed what was reserved for its images since DALL·E reports no usage', async () => {
    const r = await oa().images.createVariation({ model: 'dall-e-2', image: await png('base'), n: 2, size: '512x512' });
    expect(r.data).toHaveLength(2);
    expect(s.upstream.seen.at(-1)).toMatchObject({ path: '/v1/images/variations', keyIndex: 0 });
    await until('the variation is in the ledger', () => rowsOf('image-variation').length === 1);
    const row = rowsOf('image-variation')[0]!;
    expect(row).toMatchObject({ model: 'dall-e-2', tokensIn: 0, tokensOut: 2 * 6240, outcome: 'ok_estimated' });
    expect(row.costUsd).toBeCloseTo((2 * 6240 * 5) / 1e6, 12);
  });

  it('refuses a malformed edit or variation with a 400 saying what is wrong, and sends nothing upstream', async () => {
    const before = s.upstream.seen.length;
    const form = async (build: (f: FormData) => void) => {
      const f = new FormData();
      build(f);
      const r = new Request('http://127.0.0.1/', { method: 'POST', body: f });
      return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type')! };
    };
    const send = async (path: string, body: Buffer | string, type: string) => {
      const res = await fetch(`${s.gw.origin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': type }, body });
      return { status: res.status, message: ((await res.json()) as { error: { message: string } }).error.message };
    };
    const img = () => new Blob([Buffer.from('x')], { type: 'image/png' });
    expect(await send('/v1/images/edits', JSON.stringify({ model: 'gpt-image-1', prompt: 'p' }), 'application/json')).toEqual({ status: 400, message: 'send multipart/form-data with one or more `image` files, a `prompt` and a `model` field (the OpenAI SDKs do)' });
    const noImage = await form((f) => { f.set('model', 'gpt-image-1'); f.set('prompt', 'p'); });
    expect(await send('/v1/images/edits', noImage.body, noImage.type)).toMatchObject({ status: 400, message: expect.stringContaining("'image' is required") });
    const tooMany = await form((f) => { f.set('model', 'gpt-image-1'); f.set('prompt', 'p'); for (let i = 0; i < 17; i++) f.append('image[]', img(), `${i}.png`); });
    expect(await send('/v1/images/edits', tooMany.body, tooMany.type)).toEqual({ status: 400, message: 'an edit takes at most 16 images; this form has 17' });
    const noPrompt = await form((f) => { f.set('model', 'gpt-image-1'); f.set('image', img(), 'a.png'); });
    expect(await send('/v1/images/edits', noPrompt.body, noPrompt.type)).toMatchObject({ status: 400, message: expect.stringContaining("'prompt' is required") });
    const badN = await form((f) => { f.set('model', 'gpt-image-1'); f.set('prompt', 'p'); f.set('image', img(), 'a.png'); f.set('n', 'many'); });
    expect(await send('/v1/images/edits', badN.body, badN.type)).toEqual({ status: 400, message: "'n' must be a whole number from 0 to 10" });
    const streamed = await form((f) => { f.set('model', 'dall-e-2'); f.set('image', img(), 'a.png'); f.set('stream', 'true'); });
    expect(await send('/v1/images/variations', streamed.body, streamed.type)).toEqual({ status: 400, message: 'image variations cannot be streamed' });
    expect(s.upstream.seen.length).toBe(before);
  });

  it('moderates for free: limited like any call, billed nothing, the model OpenAI picks when none is named', async () => {
    dir.addUser('mod', { rpm: 2 });
    const t = issueToken(dir, 'mod').token;
    const r = await oa(t).moderations.create({ input: 'hello' });
    expect(r.results[0]!.flagged).toBe(false);
    expect(s.upstream.seen.at(-1)).toMatchObject({ path: '/v1/moderations', body: { input: 'hello' } });
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
    const all = seenByClient.join('\n') + s.gw.logs.join('');
    for (const k of [...keys.openai, ...keys.anthropic]) expect(all).not.toContain(k);
  });
});
