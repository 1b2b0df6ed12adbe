/** What the gateway needs to know about one upstream API (one file per provider). */

export type ProviderName = 'openai' | 'anthropic' | 'gemini';

export interface Usage {
  tokensIn: number;
  tokensOut: number;
  /** The part of `tokensIn` that is images (an image edit's inputs), billed at the model's image-input rate. */
  imageTokensIn?: number;
  /** The part of `tokensIn` the provider read from its prompt cache, billed at the model's cached rate. */
  cachedIn?: number;
  /** The part of `tokensIn` written to the prompt cache (Anthropic), billed at the write rate: for 5 minutes, and for an hour. */
  cacheWriteIn?: number;
  cacheWrite1hIn?: number;
  /** Web searches the provider ran for the request, billed per search (Gemini: one grounded answer). */
  searches?: number;
  /** The distinct search queries a grounded Gemini answer ran: what a model billed per query (Gemini 3) is billed for. */
  searchQueries?: number;
  /** OpenAI's file_search tool calls, billed per call. */
  fileSearches?: number;
  /** The part of `tokensOut` that is images (a Gemini image model's pictures), billed at the model's image-output rate. */
  imageTokensOut?: number;
  /** The parts of `tokensIn` and `tokensOut` that are audio (a chat with an audio model), billed at the audio rates. */
  audioIn?: number;
  audioOut?: number;
  /** The processing tier when it is billed other than standard: OpenAI's `priority` (dearer) and `flex` (half), Anthropic's fast mode, a batch (half). */
  serviceTier?: ServiceTier;
  /** Images the Responses API's `image_generation` tool made (each billed at the image model's price). */
  imageCalls?: number;
  /** The code interpreter containers the answer's code ran in, billed once each. */
  containers?: string[];
}

/**
 * The processing tiers billed other than standard: OpenAI's priority and flex processing, Anthropic's
 * fast mode (`speed: "fast"`), and the providers' batch APIs (half the standard rates).
 */
export type ServiceTier = 'priority' | 'flex' | 'fast' | 'batch';

/** The `image_generation` tool of a Responses API request. */
export interface ImageTool {
  model: string;
  /** The most output tokens one image may cost (its quality and size, its partial images when streamed). */
  tokensPerImage: number;
  /** Images reserved: the request's `max_tool_calls`, else DEFAULT_IMAGE_CALLS. */
  images: number;
}

/** A client request understood well enough to limit, price and forward it. */
export interface ShapedRequest {
  model: string;
  stream: boolean;
  /** Output tokens the request may produce at most (what the reservation assumes). */
  maxTokens: number;
  /**
   * The request sets no output cap and `maxTokens` assumes `defaultMaxTokens` for it (for each of `n`
   * choices): where the cap goes when the gateway must send it for the reservation to be the worst
   * case. `chat`: `max_completion_tokens` (OpenAI) or `max_tokens`; `responses`: `max_output_tokens`;
   * `gemini`: `generationConfig.maxOutputTokens`.
   */
  uncapped?: 'chat' | 'responses' | 'gemini';
  /** Prompt tokens, estimated from the body before forwarding. */
  promptTokens: number;
  /** The part of `promptTokens` that is images (an image edit's inputs), reserved at the model's image-input rate. */
  imageTokens?: number;
  /** The body to forward (re-serialised only when the gateway had to change it). */
  body: Buffer;
  /** The gateway asked for the stream's usage chunk itself, so the client, which did not, should not see it. */
  injectedUsage?: boolean;
  /** The provider does not bill the call (Gemini's countTokens): no prompt or output to reserve or bill, and no usage to expect. */
  free?: boolean;
  /**
   * Output tokens to bill when the answer reports no usage, in place of an estimate from its size
   * (an image's bytes say nothing of its tokens): what was reserved, so it is never billed short.
   */
  outputIfUnreported?: number;
  /**
   * The request alone says what it costs (the characters of text to speak, the seconds of a measured
   * upload): billed as `promptTokens`, not as an estimate, when the answer reports no usage.
   */
  knownCost?: boolean;
  /** The answer is audio in this format, whose duration measures the output when no usage is reported. */
  audioOut?: string;
  /** The provider was asked for JSON in place of this answer format (`text`, `srt`, `vtt`), which the gateway writes from it. */
  renderAs?: string;
  /** A flat price in USD, reserved and billed whatever the usage (a Realtime client secret, whose sessions the gateway cannot see). */
  flatUsd?: number;
  /** The body's type when it is not JSON (an upload: multipart/form-data with its boundary). */
  contentType?: string;
  /** What the request accepts back, when not JSON or an event stream (audio). */
  accept?: string;
  /** An OpenAI response run in the background: the answer comes before the work, and the usage after it. */
  background?: boolean;
  /** Web searches the request may run (a search tool), reserved at the model's search price. */
  searches?: number;
  /** Search queries a grounded Gemini request may run, reserved for a model billed per query (Gemini 3). */
  searchQueries?: number;
  /** Its search tool is OpenAI's `web_search_preview`, which costs more on the models that do not reason. */
  searchPreview?: boolean;
  /** file_search calls the request may make, reserved at their price. */
  fileSearches?: number;
  /** The answer may be spoken (a chat asking for `audio` among its `modalities`): output reserved at the audio rate. */
  spoken?: boolean;
  /** The `searches` run whatever the answer says (a search model's chat, whose usage does not count them). */
  searchesRun?: boolean;
  /** The Responses API's `image_generation` tool: its image model, the output tokens one image may cost, and the images reserved. */
  imageTool?: ImageTool;
  /** USD of one code interpreter container the request may have made (its memory tier), reserved and billed per container used. */
  containerUsd?: number;
}

/** One upstream API; `N` is a built-in's name, or any name for a provider from the config (OpenAI-compatible). */
export interface Provider<N extends string = ProviderName> {
  name: N;
  /** Environment variable prefix: `OPENAI` reads OPENAI_API_KEY, OPENAI_BASE_URL. */
  envPrefix: string;
  defaultBaseUrl: string;
  /**
   * Where, under its base URL, the provider also serves OpenAI's API (Gemini: `/v1beta/openai`,
   * Anthropic: `/v1`), for which of OpenAI's routes, and for the models named with this prefix.
   * Calls there carry the key as OpenAI's SDK sends it, `Authorization: Bearer`, as both providers
   * document for that endpoint.
   */
  openaiCompat?: { path: string; kinds: readonly ('chat' | 'embeddings')[]; modelPrefix: string };
  /** Another variable the provider's own SDK reads the base URL from (Gemini: GOOGLE_GEMINI_BASE_URL), used when `<prefix>_BASE_URL` is unset. */
  sdkBaseUrlEnv?: string;
  /** The key under which an answer reports its usage (`usage`; Gemini: `usageMetadata`). */
  usageKey: string;
  /** Headers that carry the provider key upstream. */
  authHeaders(key: string): Record<string, string>;
  /** The error body in this API's shape. */
  errorBody(status: number, type: string, message: string): string;
  /** Usage from a non-streamed JSON response. */
  usageFromJson(json: unknown): Usage | undefined;
  /** Usage from one streamed event's JSON (merged by the meter: max input, last output). */
  usageFromEvent(json: unknown): Partial<Usage> | undefined;
}

/** Rough prompt size in tokens from the request body: ~4 bytes a token for English, rounded up, at least 1. */
export function estimatePromptTokens(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / 3));
}

/** A JSON object (not null, not an array): what a request body or one of its fields must be to be read further. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** `path` with the named parameters of the client's `url` (each cut to 512 characters), and nothing else of it. */
export function withParams(path: string, url: string, names: readonly string[]): string {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const out = new URLSearchParams();
  for (const name of names) {
    const v = params.get(name);
    if (v !== null) out.set(name, v.slice(0, 512));
  }
  const qs = out.toString();
  return qs ? `${path}?${qs}` : path;
}
