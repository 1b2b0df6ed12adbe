/**
 * OpenAI's image routes: generations (JSON), edits and variations (uploads). What an image costs is
 * known only once it is made (the answer's usage, for GPT image models), so each request reserves
 * the most its images can cost:
 * - output: for each of `n` images, the dearest figure OpenAI documents for its quality, grown with
 *   the image's size past the sizes those figures are for; a streamed image's partial images add
 *   100 tokens each, as OpenAI bills them;
 * - input, for an edit by a GPT image model: each uploaded image at `IMAGE_INPUT_TOKENS`, priced at
 *   the model's image-input rate (dearer than its text rate).
 * DALL·E reports no usage: it is billed what was reserved for its images (price it per token of that).
 */
import { badRequest } from './http-error.js';
import { estimatePromptTokens, isObject, type ImageTool, type ShapedRequest } from './providers/types.js';
import type { Upload } from './upload.js';

/** Images reserved for a Responses API request with the `image_generation` tool and no `max_tool_calls`. */
export const DEFAULT_IMAGE_CALLS = 4;
/** Output tokens a streamed image's partial image costs (OpenAI: 100 image tokens each). */
export const PARTIAL_IMAGE_TOKENS = 100;
/**
 * Input tokens reserved for each image an edit uploads to a GPT image model. The model scales an
 * input image down before reading it, so its tokens are bounded whatever the file's size: OpenAI puts
 * a 1024×1024 image at about 3 050 tokens in high fidelity (135 in low); twice that covers the larger
 * sizes. The bill is what the answer reports.
 */
export const IMAGE_INPUT_TOKENS = 6240;
/** The most images an edit takes (OpenAI's limit for the GPT image models). */
const MAX_EDIT_IMAGES = 16;
/** The largest size OpenAI's dearest per-quality figures are given for (1536×1024). */
const DOCUMENTED_AREA = 1536 * 1024;
/** The area a size is counted at, at most (past every size a model offers: a reservation, not a refusal). */
const MAX_AREA = 4096 * 4096;

/** Models whose per-quality figures OpenAI documents (gpt-image-1's tables; DALL·E is reserved and billed by the same). */
function documented(model: string): boolean {
  return /^(?:gpt-image-1(?:-mini)?|dall-e-[23])(?:-|$)/.test(model);
}

/**
 * The most output tokens one image can be billed: gpt-image-1's figure for the largest size of its
 * quality (`low` 408, `medium` 1 584, otherwise 6 240); later models at gpt-image-2's dearest square
 * figure's ratio to that (7 024 against 6 240). Past 1536×1024 it grows with the square root of the
 * area (gpt-image-2's 3584×2048 at high quality is 12 329 tokens; this reserves 15 200).
 */
export function imageOutputTokens(model: string, quality: unknown, size: unknown): number {
  const base = quality === 'low' ? 408 : quality === 'medium' ? 1584 : 6240;
  const later = documented(model) ? 1 : 7024 / 6240;
  return Math.ceil(base * later * sizeFactor(size));
}

function sizeFactor(size: unknown): number {
  const m = typeof size === 'string' ? /^(\d{1,5})x(\d{1,5})$/.exec(size) : null;
  if (m === null) return 1;
  const area = Math.min(MAX_AREA, Number(m[1]) * Number(m[2]));
  return area > DOCUMENTED_AREA ? Math.sqrt(area / DOCUMENTED_AREA) : 1;
}

/** GPT image models report usage, and bill an edit's input images as image tokens. */
function gptImage(model: string): boolean {
  return model.startsWith('gpt-image') || model.startsWith('chatgpt-image');
}

function count(v: unknown, name: string, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw badRequest(`'${name}' must be a whole number from 0 to ${max}`);
  return n;
}

/**
 * The Responses API's `image_generation` tool, when a request has it: each image it makes is billed
 * at its image model's output price (gpt-image-1 unless the tool names another), for the dearest
 * figure of the tool's quality and size (`auto`: the dearest of all; an answer does not say which the
 * model chose), its partial images too when streamed.
 */
export function imageToolAsked(o: Record<string, unknown>, stream: boolean): ImageTool | undefined {
  const tool = Array.isArray(o.tools) ? (o.tools as unknown[]).find((t): t is Record<string, unknown> => isObject(t) && t.type === 'image_generation') : undefined;
  if (tool === undefined) return undefined;
  const model = typeof tool.model === 'string' && tool.model !== '' ? tool.model : 'gpt-image-1';
  const partials = stream ? (count(tool.partial_images, 'tools[].partial_images', 3) ?? 0) : 0;
  const cap = o.max_tool_calls;
  // The request's cap on tool calls bounds its images, however many; without one, a guess.
  const images = typeof cap === 'number' && Number.isInteger(cap) && cap >= 0 ? cap : DEFAULT_IMAGE_CALLS;
  return { model, tokensPerImage: imageOutputTokens(model, tool.quality, tool.size) + partials * PARTIAL_IMAGE_TOKENS, images };
}

/** Output tokens reserved for `n` images, their partial images included when streamed. */
function outputReserve(model: string, o: { n?: unknown; quality?: unknown; size?: unknown; partial_images?: unknown }, stream: boolean): number {
  const n = count(o.n, 'n', 10) ?? 1;
  if (n === 0) throw badRequest("'n' must be at least 1");
  const partials = stream ? (count(o.partial_images, 'partial_images', 3) ?? 0) : 0;
  return n * (imageOutputTokens(model, o.quality, o.size) + partials * PARTIAL_IMAGE_TOKENS);
}

/** An image generation (JSON). */
export function shapeImageGeneration(model: string, o: Record<string, unknown>, raw: Buffer, stream: boolean): ShapedRequest {
  if (typeof o.prompt !== 'string' || o.prompt === '') throw badRequest("'prompt' is required and must be a string");
  const maxTokens = outputReserve(model, o, stream);
  return { model, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body: raw, outputIfUnreported: maxTokens };
}

/** The parts an image upload's form holds, for the message when it is not a form. */
export const EDIT_PARTS = 'one or more `image` files, a `prompt` and a `model` field';
export const VARIATION_PARTS = 'an `image` file and a `model` field';

/** An image edit or variation: an upload of the images to work from, read well enough to limit, price and forward. */
export async function shapeImageUpload(upload: Upload, kind: 'image-edit' | 'image-variation'): Promise<ShapedRequest> {
  const model = upload.model();
  const stream = upload.flag('stream');
  const images = await upload.files('image');
  const fields = { n: upload.field('n'), quality: upload.field('quality'), size: upload.field('size'), partial_images: upload.field('partial_images') };
  const base = { model, stream, body: upload.body, contentType: upload.contentType, accept: stream ? 'text/event-stream' : 'application/json' };
  if (kind === 'image-variation') {
    if (images.length !== 1) throw badRequest("'image' is required: the one image to make variations of, as a file part of the form");
    if (stream) throw badRequest('image variations cannot be streamed');
    const maxTokens = outputReserve(model, fields, false);
    return { ...base, maxTokens, promptTokens: 0, outputIfUnreported: maxTokens };
  }
  if (images.length === 0) throw badRequest("'image' is required: the image to edit (or up to 16, as `image[]`), as file parts of the form");
  if (images.length > MAX_EDIT_IMAGES) throw badRequest(`an edit takes at most ${MAX_EDIT_IMAGES} images; this form has ${images.length}`);
  if ((await upload.files('mask')).length > 1) throw badRequest("'mask' must be one file");
  const prompt = upload.field('prompt');
  if (prompt === undefined || prompt === '') throw badRequest("'prompt' is required: what to change, as a text field of the form");
  const maxTokens = outputReserve(model, fields, stream);
  const imageTokens = gptImage(model) ? images.length * IMAGE_INPUT_TOKENS : 0;
  return { ...base, maxTokens, promptTokens: estimatePromptTokens(Buffer.byteLength(prompt)) + imageTokens, imageTokens, outputIfUnreported: maxTokens };
}
