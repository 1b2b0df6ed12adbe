import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from './config.js';
import { IMAGE_INPUT_TOKENS, imageOutputTokens, PARTIAL_IMAGE_TOKENS, shapeImageGeneration, shapeImageUpload } from './images.js';
import { Prices } from './providers/prices.js';
import { openai } from './providers/openai.js';
import { Upload } from './upload.js';

async function upload(build: (f: FormData) => void): Promise<Upload> {
  const f = new FormData();
  build(f);
  const r = new Request('http://127.0.0.1/', { method: 'POST', body: f });
  return Upload.read(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!, 'images');
}
const img = () => new Blob([Buffer.from('png')], { type: 'image/png' });

describe('image requests', () => {
  it("reserves each image at its quality's dearest documented figure, more for later models and past 1536×1024", () => {
    expect(imageOutputTokens('gpt-image-1', 'low', '1024x1024')).toBe(408);
    expect(imageOutputTokens('gpt-image-1', 'medium', undefined)).toBe(1584);
    expect(imageOutputTokens('gpt-image-1', 'high', '1536x1024')).toBe(6240);
    expect(imageOutputTokens('gpt-image-1-mini', 'auto', 'auto')).toBe(6240);
    expect(imageOutputTokens('dall-e-3', 'hd', '1024x1024')).toBe(6240);
    // gpt-image-2 bills 7 024 tokens for a square image at high quality, and 12 329 at 3584×2048.
    expect(imageOutputTokens('gpt-image-2', 'high', '1024x1024')).toBe(7024);
    expect(imageOutputTokens('gpt-image-2', 'high', '3584x2048')).toBeGreaterThanOrEqual(12_329);
    // A size past any model's is counted at 4096×4096, not at what it claims.
    expect(imageOutputTokens('gpt-image-2', 'high', '99999x99999')).toBe(imageOutputTokens('gpt-image-2', 'high', '4096x4096'));
  });

  it('reserves n images and, on a stream, their partial images; bills what was reserved when no usage comes', () => {
    const raw = (o: object) => Buffer.from(JSON.stringify(o));
    const body = { model: 'gpt-image-1', prompt: 'a boat', n: 2, quality: 'low', partial_images: 3 };
    expect(shapeImageGeneration('gpt-image-1', body, raw(body), false)).toMatchObject({ maxTokens: 2 * 408, outputIfUnreported: 2 * 408 });
    expect(shapeImageGeneration('gpt-image-1', body, raw(body), true)).toMatchObject({ maxTokens: 2 * (408 + 3 * PARTIAL_IMAGE_TOKENS) });
    expect(() => shapeImageGeneration('gpt-image-1', { prompt: 'x', partial_images: 4 }, raw({}), true)).toThrow("'partial_images' must be a whole number from 0 to 3");
    expect(() => shapeImageGeneration('gpt-image-1', { prompt: 'x', n: 0 }, raw({}), false)).toThrow("'n' must be at least 1");
  });

  it("reserves an edit's input images at the image rate for GPT image models, and none for DALL·E", async () => {
    const edit = (model: string) =>
      upload((f) => {
        f.set('model', model);
        f.set('prompt', 'add a boat');
        f.append('image[]', img(), 'a.png');
        f.append('image[]', img(), 'b.png');
        f.set('quality', 'medium');
      });
    const gpt = await shapeImageUpload(await edit('gpt-image-1'), 'image-edit');
    expect(gpt).toMatchObject({ model: 'gpt-image-1', imageTokens: 2 * IMAGE_INPUT_TOKENS, maxTokens: 1584, stream: false });
    expect(gpt.promptTokens).toBeGreaterThan(2 * IMAGE_INPUT_TOKENS);
    const prices = new Prices();
    const textOnly = prices.cost('gpt-image-1', gpt.promptTokens, gpt.maxTokens);
    expect(prices.cost('gpt-image-1', gpt.promptTokens, gpt.maxTokens, gpt.imageTokens)).toBeCloseTo(textOnly + (2 * IMAGE_INPUT_TOKENS * (10 - 5)) / 1e6, 12);
    expect(await shapeImageUpload(await edit('dall-e-2'), 'image-edit')).toMatchObject({ imageTokens: 0, outputIfUnreported: 1584 });
  });

  it("reads an edit's image tokens from the answer's usage, at most its input tokens", () => {
    expect(openai.usageFromJson({ usage: { input_tokens: 50, output_tokens: 272, input_tokens_details: { text_tokens: 4, image_tokens: 46 } } })).toEqual({ tokensIn: 50, tokensOut: 272, imageTokensIn: 46 });
    expect(openai.usageFromJson({ usage: { input_tokens: 5, output_tokens: 1, input_tokens_details: { image_tokens: 99 } } })).toMatchObject({ imageTokensIn: 5 });
    expect(openai.usageFromJson({ usage: { input_tokens: 5, output_tokens: 1, input_tokens_details: { image_tokens: 'x' } } })).toEqual({ tokensIn: 5, tokensOut: 1 });
  });

  it('takes an image-input price in the config, next to input and output', () => {
    expect(validateGatewayConfig({ prices: { 'gpt-image-2': { input: 5, imageInput: 8, output: 30 } } }).prices).toEqual({ 'gpt-image-2': { input: 5, imageInput: 8, output: 30 } });
    expect(() => validateGatewayConfig({ prices: { 'gpt-image-2': { input: 5, imageInput: -1, output: 30 } } })).toThrow(/imageInput/);
    expect(new Prices({ 'gpt-image-2': { input: 5, imageInput: 8, output: 30 } }).cost('gpt-image-2', 100, 10, 60)).toBeCloseTo((40 * 5 + 60 * 8 + 10 * 30) / 1e6, 12);
    // Without one, image input costs what text input does.
    expect(new Prices({ m: { input: 2, output: 4 } }).cost('m', 100, 0, 60)).toBeCloseTo((100 * 2) / 1e6, 12);
  });
});
