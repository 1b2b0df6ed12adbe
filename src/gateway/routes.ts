/**
 * The routes the gateway serves and how each request is understood: which upstream, which model,
 * streamed or not, how many output tokens it may produce (what the reservation assumes).
 */
import { GatewayHttpError } from './http-error.js';
import { anthropic } from './providers/anthropic.js';
import { openai } from './providers/openai.js';
import { estimatePromptTokens, type Provider, type ShapedRequest } from './providers/types.js';

export type RouteKind = 'chat' | 'responses' | 'embeddings' | 'models' | 'messages' | 'app';

export interface Route {
  kind: RouteKind;
  method: 'GET' | 'POST';
  /** The provider whose API shape the client speaks (errors are answered in it). */
  provider: Provider;
  /** Path appended to the provider's base URL (SDK semantics: OpenAI's base ends in /v1, Anthropic's does not). */
  upstreamPath: string;
}

export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/v1/chat/completions', { kind: 'chat', method: 'POST', provider: openai, upstreamPath: '/chat/completions' }],
  ['/v1/responses', { kind: 'responses', method: 'POST', provider: openai, upstreamPath: '/responses' }],
  ['/v1/embeddings', { kind: 'embeddings', method: 'POST', provider: openai, upstreamPath: '/embeddings' }],
  ['/v1/models', { kind: 'models', method: 'GET', provider: openai, upstreamPath: '/models' }],
  ['/v1/messages', { kind: 'messages', method: 'POST', provider: anthropic, upstreamPath: '/v1/messages' }],
  ['/api/ai/chat', { kind: 'app', method: 'POST', provider: openai, upstreamPath: '' }],
]);

const INJECT_USAGE = Buffer.from('{"stream_options":{"include_usage":true},');

function bad(message: string): GatewayHttpError {
  return new GatewayHttpError(400, 'invalid_request_error', message);
}

function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`'${name}' must be a positive integer`);
  return v;
}

/** Understands an API request body; adds `stream_options.include_usage` to OpenAI chat streams so usage can be billed. */
export function shapeRequest(route: Route, json: unknown, raw: Buffer, defaultMaxTokens: number): ShapedRequest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('the request body must be a JSON object');
  const o = json as Record<string, unknown>;
  const model = o.model;
  if (typeof model !== 'string' || model === '') throw bad("'model' is required and must be a string");
  if (o.stream !== undefined && typeof o.stream !== 'boolean') throw bad("'stream' must be true or false");
  const stream = o.stream === true;
  let body = raw;
  let maxTokens: number;
  let injectedUsage = false;
  switch (route.kind) {
    case 'chat': {
      maxTokens = positiveInt(o.max_completion_tokens, 'max_completion_tokens') ?? positiveInt(o.max_tokens, 'max_tokens') ?? defaultMaxTokens;
      if (!Array.isArray(o.messages)) throw bad("'messages' is required and must be an array");
      const so = o.stream_options as Record<string, unknown> | undefined | null;
      if (stream && (typeof so !== 'object' || so === null || so.include_usage !== true)) {
        if (!('stream_options' in o)) {
          // Splice the field in after the opening brace instead of re-serialising a possibly large prompt.
          body = Buffer.concat([INJECT_USAGE, raw.subarray(raw.indexOf(0x7b) + 1)]);
        } else {
          o.stream_options = { ...(typeof so === 'object' && so !== null ? so : {}), include_usage: true };
          body = Buffer.from(JSON.stringify(o));
        }
        injectedUsage = true;
      }
      break;
    }
    case 'responses':
      maxTokens = positiveInt(o.max_output_tokens, 'max_output_tokens') ?? defaultMaxTokens;
      if (o.input === undefined) throw bad("'input' is required");
      break;
    case 'embeddings':
      maxTokens = 0;
      if (o.input === undefined) throw bad("'input' is required");
      if (stream) throw bad('embeddings cannot be streamed');
      break;
    case 'messages':
      maxTokens = positiveInt(o.max_tokens, 'max_tokens') ?? defaultMaxTokens;
      if (!Array.isArray(o.messages)) throw bad("'messages' is required and must be an array");
      break;
    default:
      throw bad('this route takes no body');
  }
  return { model, stream, maxTokens, promptTokens: estimatePromptTokens(raw.length), body, injectedUsage };
}

export interface AppChatRequest {
  messages: Array<{ role: 'user' | 'assistant' | 'system'; content: string }>;
  model?: string;
}

/** `{ message }` or `{ messages, model }` for the simple app route. */
export function parseAppChat(json: unknown): AppChatRequest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('the request body must be a JSON object');
  const o = json as Record<string, unknown>;
  if (o.model !== undefined && typeof o.model !== 'string') throw bad("'model' must be a string");
  if (typeof o.message === 'string') {
    if (o.message.trim() === '') throw bad("'message' is empty");
    return { messages: [{ role: 'user', content: o.message }], model: o.model as string | undefined };
  }
  if (!Array.isArray(o.messages) || o.messages.length === 0) throw bad("send { \"message\": \"…\" } or { \"messages\": [{ \"role\": \"user\", \"content\": \"…\" }] }");
  const messages = o.messages.map((m: unknown, i: number) => {
    const r = m as Record<string, unknown> | null;
    if (!r || typeof r.content !== 'string' || !['user', 'assistant', 'system'].includes(r.role as string)) {
      throw bad(`messages[${i}] must be { role: 'user' | 'assistant' | 'system', content: string }`);
    }
    return { role: r.role as 'user' | 'assistant' | 'system', content: r.content };
  });
  return { messages, model: o.model as string | undefined };
}
