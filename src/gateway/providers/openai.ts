/** OpenAI's API: Bearer auth, `{error:{message,type,code}}`, usage in `usage` (chat, embeddings, audio) or `response.usage` (Responses API). */
import { containersUsed } from '../containers.js';
import { callsOf } from '../web-search.js';
import { num, type Provider, type ServiceTier, type Usage } from './types.js';

/** The tier an OpenAI answer says it was processed in, when it is billed other than standard. */
export function billedTier(v: unknown): ServiceTier | undefined {
  return v === 'priority' || v === 'flex' ? v : undefined;
}

function usageOf(u: unknown): Usage | undefined {
  if (typeof u !== 'object' || u === null) return undefined;
  const o = u as Record<string, unknown>;
  if ('prompt_tokens' in o || 'completion_tokens' in o) return withAudio(withCached({ tokensIn: num(o.prompt_tokens), tokensOut: num(o.completion_tokens) }, o.prompt_tokens_details), o);
  if ('input_tokens' in o || 'output_tokens' in o) {
    const u: Usage = { tokensIn: num(o.input_tokens), tokensOut: num(o.output_tokens) };
    // An image edit's input images, billed at the image-input rate.
    const images = (o.input_tokens_details as { image_tokens?: unknown } | undefined)?.image_tokens;
    if (typeof images === 'number' && images > 0) u.imageTokensIn = Math.min(u.tokensIn, Math.ceil(images));
    return withCached(u, o.input_tokens_details);
  }
  // Whisper's transcripts report the seconds heard, the unit it is billed in.
  if (o.type === 'duration' && 'seconds' in o) return { tokensIn: Math.ceil(num(o.seconds)), tokensOut: 0 };
  return undefined;
}

/** A chat's audio tokens, heard and spoken (`audio_tokens` in the details), billed at the audio rates. */
function withAudio(u: Usage, o: Record<string, unknown>): Usage {
  const heard = num((o.prompt_tokens_details as Record<string, unknown> | null | undefined)?.audio_tokens);
  const spoken = num((o.completion_tokens_details as Record<string, unknown> | null | undefined)?.audio_tokens);
  if (heard > 0) u.audioIn = Math.min(heard, u.tokensIn);
  if (spoken > 0) u.audioOut = Math.min(spoken, u.tokensOut);
  return u;
}

/** The prompt tokens OpenAI read from its cache (`cached_tokens` in the details), billed at the cached rate. */
function withCached(u: Usage, details: unknown): Usage {
  const cached = (details as { cached_tokens?: unknown } | null | undefined)?.cached_tokens;
  if (typeof cached === 'number' && cached > 0) u.cachedIn = Math.min(u.tokensIn - (u.imageTokensIn ?? 0), Math.floor(cached));
  return u;
}

export const openai: Provider = {
  name: 'openai',
  envPrefix: 'OPENAI',
  defaultBaseUrl: 'https://api.openai.com/v1',
  usageKey: 'usage',
  authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  errorBody: (_status, type, message) => JSON.stringify({ error: { message, type, param: null, code: type } }),
  usageFromJson(json) {
    if (typeof json !== 'object' || json === null) return undefined;
    const o = json as Record<string, unknown>;
    const response = o.response as Record<string, unknown> | undefined;
    const u = usageOf(o.usage) ?? usageOf(response?.usage);
    // A Responses API answer (or its stream's last event) lists the searches it ran and the containers its code ran in.
    if (u === undefined) return u;
    const output = o.output ?? response?.output;
    const searches = callsOf(output, 'web_search_call');
    if (searches > 0) u.searches = searches;
    const fileSearches = callsOf(output, 'file_search_call');
    if (fileSearches > 0) u.fileSearches = fileSearches;
    const images = callsOf(output, 'image_generation_call');
    if (images > 0) u.imageCalls = images;
    // OpenAI's own tiers (a compatible provider's tier of the same name may cost the same as its standard).
    const tier = this.name === 'openai' ? billedTier(o.service_tier ?? response?.service_tier) : undefined;
    if (tier !== undefined) u.serviceTier = tier;
    const containers = containersUsed(output);
    if (containers.length > 0) u.containers = containers;
    return u;
  },
  usageFromEvent(json) {
    return this.usageFromJson(json);
  },
};
