/**
 * The routes the gateway serves and how each request is understood: which upstream, which model,
 * streamed or not, how many output tokens it may produce (what the reservation assumes).
 */
import { AUDIO_PARTS, shapeSpeech } from './audio.js';
import { badRequest } from './http-error.js';
import { withField, withMember } from './json-body.js';
import { EDIT_PARTS, imageToolAsked, shapeImageGeneration, VARIATION_PARTS } from './images.js';
import { shapeGeminiLiveToken, shapeRealtime, type RealtimePolicy } from './realtime.js';
import { anthropic } from './providers/anthropic.js';
import { gemini } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import { estimatePromptTokens, isObject, type Provider, type ShapedRequest } from './providers/types.js';
import { containerAsked } from './containers.js';
import { DEFAULT_SEARCHES, fileSearchesAsked, previewSearch, searchesAsked } from './web-search.js';

export type RouteKind = 'chat' | 'completions' | 'file' | 'batch' | 'batches' | 'conversation' | 'vector-store' | 'cache' | 'responses' | 'embeddings' | 'images' | 'image-edit' | 'image-variation' | 'moderations' | 'transcription' | 'translation' | 'speech' | 'realtime' | 'realtime-session' | 'realtime-call' | 'response' | 'models' | 'messages' | 'app' | 'generate' | 'embed' | 'count';

export interface Route {
  kind: RouteKind;
  method: 'GET' | 'POST';
  /** The methods it takes when more than one (a stored response: retrieved, cancelled, deleted). */
  methods?: readonly string[];
  /** The provider whose API shape the client speaks (errors are answered in it). */
  provider: Provider;
  /** Path appended to the provider's base URL (SDK semantics: OpenAI's base ends in /v1, Anthropic's does not). */
  upstreamPath: string;
  /** Gemini names the model in the path, not the body. */
  model?: string;
  /** Gemini: a streamed call (`:streamGenerateContent`), and whether it asked for SSE (`alt=sse`). */
  stream?: boolean;
  sse?: boolean;
  /** The body is an upload (multipart/form-data: an audio file, images), not JSON; what its form holds. */
  upload?: string;
}

/** A stored response the caller made through the gateway (`/v1/responses/{id}`, `…/cancel`, `…/input_items`): GET, POST or DELETE by what it asks. */
export const RESPONSE_OBJECT: Route = { kind: 'response', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: openai, upstreamPath: '/responses' };
export const RESPONSES_PREFIX = '/v1/responses/';
export const RESPONSE_OBJECT_PATH = /^\/v1\/responses\/([^/]+)(?:\/(cancel|input_items))?$/;

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/v1/chat/completions', { kind: 'chat', method: 'POST', provider: openai, upstreamPath: '/chat/completions' }],
  ['/v1/completions', { kind: 'completions', method: 'POST', provider: openai, upstreamPath: '/completions' }],
  ['/v1/responses', { kind: 'responses', method: 'POST', provider: openai, upstreamPath: '/responses' }],
  ['/v1/embeddings', { kind: 'embeddings', method: 'POST', provider: openai, upstreamPath: '/embeddings' }],
  ['/v1/images/generations', { kind: 'images', method: 'POST', provider: openai, upstreamPath: '/images/generations' }],
  ['/v1/images/edits', { kind: 'image-edit', method: 'POST', provider: openai, upstreamPath: '/images/edits', upload: EDIT_PARTS }],
  ['/v1/images/variations', { kind: 'image-variation', method: 'POST', provider: openai, upstreamPath: '/images/variations', upload: VARIATION_PARTS }],
  ['/v1/moderations', { kind: 'moderations', method: 'POST', provider: openai, upstreamPath: '/moderations' }],
  ['/v1/audio/transcriptions', { kind: 'transcription', method: 'POST', provider: openai, upstreamPath: '/audio/transcriptions', upload: AUDIO_PARTS }],
  ['/v1/audio/translations', { kind: 'translation', method: 'POST', provider: openai, upstreamPath: '/audio/translations', upload: AUDIO_PARTS }],
  ['/v1/audio/speech', { kind: 'speech', method: 'POST', provider: openai, upstreamPath: '/audio/speech' }],
  ['/v1/realtime/client_secrets', { kind: 'realtime', method: 'POST', provider: openai, upstreamPath: '/realtime/client_secrets' }],
  ['/v1/realtime/calls', { kind: 'realtime-call', method: 'POST', provider: openai, upstreamPath: '/realtime/calls' }],
  ['/v1/models', { kind: 'models', method: 'GET', provider: openai, upstreamPath: '/models' }],
  ['/v1/messages', { kind: 'messages', method: 'POST', provider: anthropic, upstreamPath: '/v1/messages' }],
  ['/v1/messages/count_tokens', { kind: 'count', method: 'POST', provider: anthropic, upstreamPath: '/v1/messages/count_tokens' }],
  ['/api/ai/chat', { kind: 'app', method: 'POST', provider: openai, upstreamPath: '' }],
]);

/** Model ids as Google names them (`gemini-2.5-flash`, `gemini-embedding-001`); nothing that could change the upstream path. */
const GEMINI_CALL = /^\/(v1beta|v1)\/models\/([A-Za-z0-9][A-Za-z0-9._-]{0,127}):(generateContent|streamGenerateContent|embedContent|batchEmbedContents|countTokens)$/;
const GEMINI_MODELS: Route = { kind: 'models', method: 'GET', provider: gemini, upstreamPath: '/v1beta/models' };
/** Gemini Live's ephemeral tokens (v1alpha only, as Google serves them). */
const GEMINI_LIVE_TOKENS: Route = { kind: 'realtime', method: 'POST', provider: gemini, upstreamPath: '/v1alpha/auth_tokens' };

/** True for a path in Gemini's API (so that even a refusal is answered in Gemini's error shape). */
export function isGeminiPath(path: string): boolean {
  return path.startsWith('/v1beta/') || path.startsWith('/v1alpha/') || (path.startsWith('/v1/models/') && path.includes(':'));
}

/** The Gemini API route a path names (the model comes from the path), or undefined. */
export function geminiRoute(path: string, query: string): Route | undefined {
  if (path === '/v1beta/models') return GEMINI_MODELS;
  if (path === '/v1alpha/auth_tokens') return GEMINI_LIVE_TOKENS;
  const m = GEMINI_CALL.exec(path);
  if (m === null) return undefined;
  const [, version, model, method] = m as unknown as [string, string, string, string];
  const stream = method === 'streamGenerateContent';
  return {
    kind: method === 'embedContent' || method === 'batchEmbedContents' ? 'embed' : method === 'countTokens' ? 'count' : 'generate',
    method: 'POST',
    provider: gemini,
    upstreamPath: `/${version}/models/${model}:${method}${stream ? '?alt=sse' : ''}`,
    model,
    stream,
    sse: stream && /(?:^|&)alt=sse(?:&|$)/.test(query),
  };
}

/** The member that asks for a stream's usage, with the opening brace it goes after (made once). */
const INJECT_USAGE = Buffer.from('{"stream_options":{"include_usage":true},');


function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw badRequest(`'${name}' must be a positive integer`);
  return v;
}

/** Understands an API request body; adds `stream_options.include_usage` to OpenAI chat streams so usage can be billed. */
export function shapeRequest(route: Route, json: unknown, raw: Buffer, defaultMaxTokens: number, realtime?: RealtimePolicy): ShapedRequest {
  if (!isObject(json)) throw badRequest('the request body must be a JSON object');
  const o = json as Record<string, unknown>;
  if (route.kind === 'realtime') return route.provider === gemini ? shapeGeminiLiveToken(o, realtime) : shapeRealtime(o, realtime);
  if (route.provider === gemini) return shapeGemini(route, o, raw, defaultMaxTokens);
  if (route.kind === 'moderations') return shapeModeration(o, raw);
  if (route.kind === 'speech') return shapeSpeech(o, raw);
  const model = o.model;
  if (typeof model !== 'string' || model === '') throw badRequest("'model' is required and must be a string");
  if (o.stream !== undefined && typeof o.stream !== 'boolean') throw badRequest("'stream' must be true or false");
  const stream = o.stream === true;
  let body = raw;
  let maxTokens: number;
  let injectedUsage = false;
  let uncapped: ShapedRequest['uncapped'];
  switch (route.kind) {
    case 'chat':
    case 'completions': {
      if (route.kind === 'chat') {
        // Each of n choices may be as long as the maximum.
        const cap = positiveInt(o.max_completion_tokens, 'max_completion_tokens') ?? positiveInt(o.max_tokens, 'max_tokens');
        if (cap === undefined) uncapped = 'chat';
        maxTokens = (cap ?? defaultMaxTokens) * (positiveInt(o.n, 'n') ?? 1);
        if (!Array.isArray(o.messages)) throw badRequest("'messages' is required and must be an array");
      } else {
        // Legacy completions: best_of completions are generated (and billed) per prompt, n of them returned.
        if (typeof o.prompt !== 'string' && !Array.isArray(o.prompt)) throw badRequest("'prompt' is required: a string, or an array of strings or of token arrays");
        const n = positiveInt(o.n, 'n') ?? 1;
        maxTokens = (positiveInt(o.max_tokens, 'max_tokens') ?? defaultMaxTokens) * Math.max(n, positiveInt(o.best_of, 'best_of') ?? 1) * promptCount(o.prompt);
      }
      const spoken = route.kind === 'chat' && Array.isArray(o.modalities) && o.modalities.includes('audio');
      // A search model searches on every request.
      const searches = route.kind === 'chat' && (o.web_search_options !== undefined || model.includes('search-preview')) ? 1 : 0;
      const so = o.stream_options as Record<string, unknown> | undefined | null;
      if (stream && (typeof so !== 'object' || so === null || so.include_usage !== true)) {
        if (!('stream_options' in o)) {
          // Splice the field in after the opening brace instead of re-serialising a possibly large prompt.
          body = withMember(raw, INJECT_USAGE);
        } else {
          o.stream_options = { ...(typeof so === 'object' && so !== null ? so : {}), include_usage: true };
          body = Buffer.from(JSON.stringify(o));
        }
        injectedUsage = true;
      }
      if (spoken || searches > 0) return { model, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body, injectedUsage, uncapped, ...(spoken ? { spoken } : {}), ...(searches > 0 ? { searches, searchesRun: true } : {}) };
      break;
    }
    case 'responses': {
      const cap = positiveInt(o.max_output_tokens, 'max_output_tokens');
      if (cap === undefined) uncapped = 'responses';
      maxTokens = cap ?? defaultMaxTokens;
      if (o.input === undefined) throw badRequest("'input' is required");
      if (o.background !== undefined && o.background !== null && typeof o.background !== 'boolean') throw badRequest("'background' must be true or false");
      const searches = searchesAsked(o);
      const fileSearches = fileSearchesAsked(o);
      const containerUsd = containerAsked(o);
      const imageTool = imageToolAsked(o, stream);
      if (o.background === true || searches > 0 || fileSearches > 0 || containerUsd > 0 || imageTool !== undefined) {
        return {
          model,
          stream,
          maxTokens,
          promptTokens: estimatePromptTokens(raw.length),
          body,
          uncapped,
          ...(o.background === true ? { background: true } : {}),
          ...(searches > 0 ? { searches, ...(previewSearch(o) ? { searchPreview: true } : {}) } : {}),
          ...(fileSearches > 0 ? { fileSearches } : {}),
          ...(containerUsd > 0 ? { containerUsd } : {}),
          ...(imageTool !== undefined ? { imageTool } : {}),
        };
      }
      break;
    }
    case 'embeddings':
      maxTokens = 0;
      if (o.input === undefined) throw badRequest("'input' is required");
      if (stream) throw badRequest('embeddings cannot be streamed');
      break;
    case 'images':
      return shapeImageGeneration(model, o, raw, stream);
    case 'messages': {
      maxTokens = positiveInt(o.max_tokens, 'max_tokens') ?? defaultMaxTokens;
      if (!Array.isArray(o.messages)) throw badRequest("'messages' is required and must be an array");
      const searches = searchesAsked(o);
      if (searches > 0) return { model, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body, searches };
      break;
    }
    case 'count':
      // Anthropic does not bill counting tokens: the call is limited like any other, and priced at nothing.
      if (!Array.isArray(o.messages)) throw badRequest("'messages' is required and must be an array");
      if (stream) throw badRequest('counting tokens cannot be streamed');
      return { model, stream: false, maxTokens: 0, promptTokens: 0, body: raw, free: true };
    default:
      throw badRequest('this route takes no body');
  }
  return { model, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body, injectedUsage, uncapped };
}

/**
 * The body with an output cap where it has none (see ShapedRequest.uncapped): spliced in after the
 * opening brace for OpenAI's APIs (the prompt is not serialised again), set in `generationConfig` for
 * Gemini. OpenAI's reasoning models refuse `max_tokens` in chat, other providers may not know
 * `max_completion_tokens`.
 */
export function withOutputCap(body: Buffer, parsed: Record<string, unknown>, where: NonNullable<ShapedRequest['uncapped']>, openaiItself: boolean, tokens: number): Buffer {
  if (where === 'gemini') {
    const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    o.generationConfig = { ...(isObject(o.generationConfig) ? o.generationConfig : {}), maxOutputTokens: tokens };
    return Buffer.from(JSON.stringify(o));
  }
  return withField(body, parsed, where === 'responses' ? 'max_output_tokens' : openaiItself ? 'max_completion_tokens' : 'max_tokens', String(tokens));
}

/** Prompts in a legacy completion request: a string or one token array is one; an array of strings or of token arrays, one each. */
function promptCount(prompt: string | unknown[]): number {
  if (typeof prompt === 'string' || prompt.length === 0 || typeof prompt[0] === 'number') return 1;
  return prompt.length;
}

/** OpenAI's moderation endpoint, which OpenAI does not bill; its model may be left out (OpenAI's default). */
function shapeModeration(o: Record<string, unknown>, raw: Buffer): ShapedRequest {
  if (o.input === undefined) throw badRequest("'input' is required");
  if (o.model !== undefined && (typeof o.model !== 'string' || o.model === '')) throw badRequest("'model' must be a string");
  return { model: (o.model as string | undefined) ?? 'omni-moderation-latest', stream: false, maxTokens: 0, promptTokens: 0, body: raw, free: true };
}

/** A Gemini call: the model from the path, the output cap from `generationConfig` (times the candidates asked for). */
function shapeGemini(route: Route, o: Record<string, unknown>, raw: Buffer, defaultMaxTokens: number): ShapedRequest {
  const stream = route.stream === true;
  if (stream && !route.sse) throw badRequest('keyward relays Gemini streams as server-sent events: call :streamGenerateContent?alt=sse (the @google/genai SDK does)');
  let maxTokens: number;
  if (route.kind === 'count') {
    // Google does not bill counting: the call is limited like any other, and priced at nothing.
    if (!Array.isArray(o.contents) && !isObject(o.generateContentRequest)) throw badRequest("'contents' (an array) or 'generateContentRequest' is required");
    return { model: route.model!, stream: false, maxTokens: 0, promptTokens: 0, body: raw, free: true };
  }
  if (route.kind === 'embed') {
    maxTokens = 0;
    const batch = route.upstreamPath.endsWith(':batchEmbedContents');
    if (batch ? !Array.isArray(o.requests) : !isObject(o.content)) throw badRequest(batch ? "'requests' is required and must be an array" : "'content' is required and must be an object");
    // Each request of a batch names its model: it must be the path's, the one the user was checked for.
    if (batch) {
      (o.requests as unknown[]).forEach((r, i) => {
        const m = (r as { model?: unknown } | null)?.model;
        if (m !== undefined && m !== `models/${route.model}` && m !== route.model) throw badRequest(`requests[${i}].model must be 'models/${route.model}', the model in the path`);
      });
    }
  } else {
    if (!Array.isArray(o.contents)) throw badRequest("'contents' is required and must be an array");
    const gc = o.generationConfig;
    if (gc !== undefined && !isObject(gc)) throw badRequest("'generationConfig' must be an object");
    const g = (gc ?? {}) as Record<string, unknown>;
    const cap = positiveInt(g.maxOutputTokens, 'generationConfig.maxOutputTokens');
    maxTokens = (cap ?? defaultMaxTokens) * (positiveInt(g.candidateCount, 'generationConfig.candidateCount') ?? 1);
    const uncapped = cap === undefined ? ('gemini' as const) : undefined;
    // Grounded: one answer, whose queries nothing caps (a model billed per query is reserved DEFAULT_SEARCHES of them).
    const searches = searchesAsked(o);
    if (searches > 0) return { model: route.model!, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body: raw, uncapped, searches, searchQueries: DEFAULT_SEARCHES };
    return { model: route.model!, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body: raw, uncapped };
  }
  return { model: route.model!, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body: raw };
}

export interface AppChatRequest {
  messages: Array<{ role: 'user' | 'assistant' | 'system'; content: string }>;
  model?: string;
}

/** `{ message }` or `{ messages, model }` for the simple app route. */
export function parseAppChat(json: unknown): AppChatRequest {
  if (!isObject(json)) throw badRequest('the request body must be a JSON object');
  const o = json as Record<string, unknown>;
  if (o.model !== undefined && typeof o.model !== 'string') throw badRequest("'model' must be a string");
  if (typeof o.message === 'string') {
    if (o.message.trim() === '') throw badRequest("'message' is empty");
    return { messages: [{ role: 'user', content: o.message }], model: o.model as string | undefined };
  }
  if (!Array.isArray(o.messages) || o.messages.length === 0) throw badRequest("send { \"message\": \"…\" } or { \"messages\": [{ \"role\": \"user\", \"content\": \"…\" }] }");
  const messages = o.messages.map((m: unknown, i: number) => {
    const r = m as Record<string, unknown> | null;
    if (!r || typeof r.content !== 'string' || !['user', 'assistant', 'system'].includes(r.role as string)) {
      throw badRequest(`messages[${i}] must be { role: 'user' | 'assistant' | 'system', content: string }`);
    }
    return { role: r.role as 'user' | 'assistant' | 'system', content: r.content };
  });
  return { messages, model: o.model as string | undefined };
}
