/**
 * Anthropic's Messages API: `x-api-key` auth, `{type:'error',error:{type,message}}`. Streams report
 * input tokens in `message_start` (message.usage) and the cumulative output in `message_delta` (usage).
 */
import { num, withParams, type Provider, type Usage } from './types.js';

/**
 * The prompt's tokens: those read from the cache and those written to it count in the input, each
 * kind billed at its own rate; a write names its lifetime in `cache_creation` (5 minutes unless it says).
 */
function inputOf(u: Record<string, unknown>): Pick<Usage, 'tokensIn' | 'cachedIn' | 'cacheWriteIn' | 'cacheWrite1hIn'> {
  const read = num(u.cache_read_input_tokens);
  const written = num(u.cache_creation_input_tokens);
  const out: Pick<Usage, 'tokensIn' | 'cachedIn' | 'cacheWriteIn' | 'cacheWrite1hIn'> = { tokensIn: num(u.input_tokens) + written + read };
  if (read > 0) out.cachedIn = read;
  if (written > 0) {
    const split = u.cache_creation as { ephemeral_1h_input_tokens?: unknown } | null | undefined;
    const hour = Math.min(written, num(split?.ephemeral_1h_input_tokens));
    if (hour > 0) out.cacheWrite1hIn = hour;
    if (written > hour) out.cacheWriteIn = written - hour;
  }
  return out;
}

/** The web searches the `web_search` server tool ran (`server_tool_use`), billed per search; and fast mode, billed dearer. */
function withSearches<U extends Partial<Usage>>(out: U, u: Record<string, unknown>): U {
  const n = num((u.server_tool_use as Record<string, unknown> | null | undefined)?.web_search_requests);
  if (n > 0) out.searches = n;
  if (u.speed === 'fast') out.serviceTier = 'fast';
  return out;
}

/** The API version the gateway asks for when the client names none (the one the SDKs send). */
export const ANTHROPIC_VERSION = '2023-06-01';

export const anthropic: Provider = {
  name: 'anthropic',
  envPrefix: 'ANTHROPIC',
  defaultBaseUrl: 'https://api.anthropic.com',
  usageKey: 'usage',
  // Anthropic's OpenAI SDK compatibility layer: chat completions only (no embeddings, no Responses API).
  openaiCompat: { path: '/v1', kinds: ['chat'], modelPrefix: 'claude-' },
  authHeaders: (key) => ({ 'x-api-key': key }),
  errorBody: (_status, type, message) => JSON.stringify({ type: 'error', error: { type, message } }),
  usageFromJson(json): Usage | undefined {
    const u = (json as { usage?: Record<string, unknown> } | null)?.usage;
    if (typeof u !== 'object' || u === null) return undefined;
    return withSearches({ ...inputOf(u), tokensOut: num(u.output_tokens) }, u);
  },
  usageFromEvent(json): Partial<Usage> | undefined {
    const o = json as { type?: string; message?: { usage?: Record<string, unknown> }; usage?: Record<string, unknown> } | null;
    if (!o) return undefined;
    if (o.type === 'message_start' && o.message?.usage) {
      const u = o.message.usage;
      const out: Partial<Usage> = { ...inputOf(u), tokensOut: num(u.output_tokens) };
      if (u.speed === 'fast') out.serviceTier = 'fast';
      return out;
    }
    if (o.type === 'message_delta' && o.usage) {
      const u = o.usage;
      const out: Partial<Usage> = { tokensOut: num(u.output_tokens) };
      if (typeof u.input_tokens === 'number') Object.assign(out, inputOf(u));
      return withSearches(out, u);
    }
    return undefined;
  },
};

/** The upstream path for a client's model listing: `/v1/models` with its paging parameters, nothing else of the client's URL. */
export function anthropicModelsPath(url: string): string {
  return withParams('/v1/models', url, ['limit', 'after_id', 'before_id']);
}
