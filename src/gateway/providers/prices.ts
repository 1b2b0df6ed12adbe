/**
 * What a model costs, in USD per million tokens. Ships with list prices for common OpenAI, Anthropic and Gemini models and can be
 * overridden (gateway config `prices`). Lookup: exact id, then the longest known prefix (dated ids such
 * as `gpt-4o-2024-08-06` take `gpt-4o`'s price). A model not in the table is priced at `fallback`,
 * deliberately expensive, so an unknown model can never slip past a budget.
 */
import type { ServiceTier, Usage } from './types.js';

export interface ModelPrice {
  input: number;
  output: number;
  /** Image input (an image edit's inputs), when it costs more than text; absent: `input`. */
  imageInput?: number;
  /** Image output of a model that also writes text (Gemini's image models), dearer than its text; absent: `output`. */
  imageOutput?: number;
  /** Input the provider served from its prompt cache; absent: `input` (no discount assumed). */
  cachedInput?: number;
  /** Input written to the prompt cache for 5 minutes (Anthropic); absent: 1.25 × `input`, Anthropic's rate. */
  cacheWrite?: number;
  /** Input written to the prompt cache for an hour (Anthropic); absent: 2 × `input`. */
  cacheWrite1h?: number;
  /** USD per thousand web searches the provider runs for a request (Gemini: grounded answers); absent: WEB_SEARCH_USD_PER_THOUSAND. */
  webSearch?: number;
  /** USD per thousand OpenAI `web_search_preview` calls, dearer on the models that do not reason; absent: `webSearch`. */
  webSearchPreview?: number;
  /** USD per thousand search queries, for a model whose grounding is billed per query (Gemini 3) rather than per grounded answer. */
  searchQuery?: number;
  /** USD per thousand OpenAI file_search calls; absent: FILE_SEARCH_USD_PER_THOUSAND. */
  fileSearch?: number;
  /** Audio in and out (Realtime sessions), dearer than text; absent: `input` and `output`. */
  audioInput?: number;
  /** Cached audio input; absent: `cachedInput`, then `audioInput`. */
  cachedAudioInput?: number;
  audioOutput?: number;
  /** What OpenAI's priority processing costs, times the standard rates; absent: DEFAULT_PRIORITY. */
  priority?: number;
  /** What OpenAI's flex processing costs, times the standard rates; absent: DEFAULT_FLEX. */
  flex?: number;
  /** What Anthropic's fast mode costs, times the standard rates; absent: DEFAULT_FAST. */
  fast?: number;
  /** What a request in a batch (OpenAI's Batch API, Anthropic's Message Batches, Gemini's batch mode) costs, times the standard rates; absent: DEFAULT_BATCH. */
  batch?: number;
  /** Dearer rates for a request whose prompt is longer than `above` tokens, for the whole request (as the providers bill it). */
  longContext?: LongContextPrice;
  /** USD per million tokens an hour, for holding a context cache (Gemini's `cachedContents`); absent: DEFAULT_CACHE_STORAGE. */
  cacheStorage?: number;
}

/**
 * A model's rates past a prompt length: its input and output, and its cached input (absent: scaled as
 * the input is). The other input rates (cache writes, images, audio) scale with the input, audio
 * output with the output.
 */
export interface LongContextPrice {
  /** Prompt tokens past which the long rates apply. */
  above: number;
  input: number;
  output: number;
  cachedInput?: number;
}

/** A Realtime response's tokens by kind (the cached ones are part of their kind's input). */
export interface TokenKinds {
  textIn: number;
  cachedTextIn: number;
  audioIn: number;
  cachedAudioIn: number;
  imageIn: number;
  textOut: number;
  audioOut: number;
}

export type PriceTable = Record<string, ModelPrice>;

/** OpenAI's and Anthropic's list price for web searches, per thousand. */
export const WEB_SEARCH_USD_PER_THOUSAND = 10;
/** OpenAI's priority processing: 1.7 to 2 times the standard rates by model; twice them unless the table says otherwise. */
export const DEFAULT_PRIORITY = 2;
/** OpenAI's flex processing: half the standard rates. */
export const DEFAULT_FLEX = 0.5;
/** Anthropic's fast mode (Opus 4.6): six times the standard rates. */
export const DEFAULT_FAST = 6;
/** OpenAI's Batch API, Anthropic's Message Batches and Gemini's batch mode: half the standard rates, for input and output alike. */
export const DEFAULT_BATCH = 0.5;
/** OpenAI's list price for file_search calls, per thousand. */
export const FILE_SEARCH_USD_PER_THOUSAND = 2.5;
/** A context cache's storage, USD per million tokens an hour, for a model the table gives none: the dearest Google lists (its Pro models'), so that no cache is held for less than it costs. */
export const DEFAULT_CACHE_STORAGE = 4.5;

/** The tool calls a request ran (its usage) or may run (its reservation), billed per call on top of the tokens. */
export type ToolCalls = Pick<Usage, 'searches' | 'searchQueries' | 'fileSearches'>;

/** OpenAI's GPT-5.4 and GPT-5.5 models and their 1.05M-token window: a prompt over 272K tokens pays twice the input and 1.5 times the output, for the whole request. */
const openaiLong = (input: number, output: number, cachedInput?: number): LongContextPrice => ({ above: 272_000, input: input * 2, output: output * 1.5, ...(cachedInput !== undefined ? { cachedInput: cachedInput * 2 } : {}) });
/** Anthropic's 1M-token window of Sonnet 4 and 4.5: a prompt over 200K tokens pays $6 and $22.50. */
const SONNET_LONG: LongContextPrice = { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6 };

export const DEFAULT_PRICES: PriceTable = {
  // A prompt read from OpenAI's cache costs `cachedInput`. Priority processing costs `priority` times
  // the standard rates where OpenAI's price list says less than twice (gpt-4o: $4.25 / $17 against $2.50 / $10).
  'gpt-5.5': { input: 5, cachedInput: 0.5, output: 30, longContext: openaiLong(5, 30, 0.5) },
  'gpt-5.5-pro': { input: 30, output: 180, longContext: openaiLong(30, 180) },
  'gpt-5.4': { input: 2.5, cachedInput: 0.25, output: 15, longContext: openaiLong(2.5, 15, 0.25) },
  'gpt-5.4-pro': { input: 30, output: 180, longContext: openaiLong(30, 180) },
  'gpt-5.4-mini': { input: 0.75, cachedInput: 0.075, output: 4.5 },
  'gpt-5.4-nano': { input: 0.2, cachedInput: 0.02, output: 1.25 },
  'gpt-5.2': { input: 1.75, cachedInput: 0.175, output: 14 },
  'gpt-5.2-pro': { input: 21, output: 168 },
  'gpt-5.1': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2, priority: 1.8 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  // The models that do not reason pay $25 a thousand for `web_search_preview` calls (the search's tokens free).
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8, webSearchPreview: 25, priority: 1.75 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6, webSearchPreview: 25, priority: 1.75 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4, webSearchPreview: 25 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10, webSearchPreview: 25, priority: 1.7 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6, webSearchPreview: 25, priority: 0.25 / 0.15 },
  o3: { input: 2, cachedInput: 0.5, output: 8, priority: 1.75 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4, priority: 2 / 1.1 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2 },
  // Images: text input, image input (an edit's images), and the image tokens of the answer as output.
  'gpt-image-1': { input: 5, imageInput: 10, output: 40 },
  'gpt-image-1-mini': { input: 2, imageInput: 2.5, output: 8 },
  'gpt-image-1.5': { input: 5, imageInput: 8, output: 32 },
  // Audio. Whisper is priced per million seconds heard ($0.006 a minute), tts-1 per million characters
  // spoken; the GPT-4o audio models per million tokens (input: audio, the dearer kind).
  'whisper-1': { input: 100, output: 0 },
  'gpt-4o-transcribe': { input: 6, output: 10 },
  'gpt-4o-mini-transcribe': { input: 3, output: 5 },
  'tts-1': { input: 15, output: 0 },
  'tts-1-hd': { input: 30, output: 0 },
  'gpt-4o-mini-tts': { input: 0.6, output: 12 },
  // Chat with audio in and out: text tokens at the text rates, audio tokens at the audio rates (a
  // family's price would bill the audio of 'gpt-4o-mini-audio-preview' at gpt-4o-mini's text rate).
  'gpt-4o-audio-preview': { input: 2.5, output: 10, audioInput: 40, audioOutput: 80 },
  'gpt-4o-mini-audio-preview': { input: 0.15, output: 0.6, audioInput: 10, audioOutput: 20 },
  'gpt-audio': { input: 2.5, output: 10, audioInput: 32, audioOutput: 64 },
  'gpt-audio-mini': { input: 0.6, output: 2.4, audioInput: 10, audioOutput: 20 },
  // Chat models that search the web on every request: the search at $30 a thousand on top of the tokens.
  'gpt-4o-search-preview': { input: 2.5, output: 10, webSearch: 30 },
  'gpt-4o-mini-search-preview': { input: 0.15, output: 0.6, webSearch: 30 },
  // Realtime sessions relayed by the gateway: text, audio and image tokens, cached ones cheaper.
  'gpt-realtime': { input: 4, cachedInput: 0.4, output: 16, audioInput: 32, cachedAudioInput: 0.4, audioOutput: 64, imageInput: 5 },
  'gpt-realtime-mini': { input: 0.6, cachedInput: 0.06, output: 2.4, audioInput: 10, cachedAudioInput: 0.3, audioOutput: 20, imageInput: 0.8 },
  'gpt-4o-realtime-preview': { input: 5, cachedInput: 2.5, output: 20, audioInput: 40, cachedAudioInput: 2.5, audioOutput: 80 },
  'gpt-4o-mini-realtime-preview': { input: 0.6, cachedInput: 0.3, output: 2.4, audioInput: 10, cachedAudioInput: 0.3, audioOutput: 20 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  // Anthropic: a cache read costs a tenth of the input, a write 1.25 times it (2 times for an hour).
  // An Opus the table does not list yet is priced as Opus 4 was, the dearest.
  'claude-opus-4': { input: 15, cachedInput: 1.5, output: 75 },
  'claude-opus-4-1': { input: 15, cachedInput: 1.5, output: 75 },
  'claude-opus-4-5': { input: 5, cachedInput: 0.5, output: 25 },
  'claude-opus-4-6': { input: 5, cachedInput: 0.5, output: 25 },
  'claude-sonnet-4': { input: 3, cachedInput: 0.3, output: 15, longContext: SONNET_LONG },
  'claude-sonnet-4-5': { input: 3, cachedInput: 0.3, output: 15, longContext: SONNET_LONG },
  'claude-sonnet-4-6': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-haiku-4-5': { input: 1, cachedInput: 0.1, output: 5 },
  'claude-3-7-sonnet': { input: 3, cachedInput: 0.3, output: 15 },
  'claude-3-5-haiku': { input: 0.8, cachedInput: 0.08, output: 4 },
  // Gemini: the Pro models cost more for a prompt over 200k tokens. Cached content at a quarter of the
  // input (storage of an explicit cache is not billed here); an answer grounded in Google Search at
  // $35 a thousand, or from Gemini 3 on, each search query it ran at $14 a thousand (the free daily
  // grounded prompts and queries not counted).
  'gemini-3-pro-preview': { input: 2, cachedInput: 0.2, output: 12, searchQuery: 14, longContext: { above: 200_000, input: 4, output: 18, cachedInput: 0.4 }, cacheStorage: 4.5 },
  'gemini-3-flash-preview': { input: 0.5, cachedInput: 0.05, output: 3, searchQuery: 14, cacheStorage: 1 },
  'gemini-2.5-pro': { input: 1.25, cachedInput: 0.31, output: 10, webSearch: 35, longContext: { above: 200_000, input: 2.5, output: 15, cachedInput: 0.625 }, cacheStorage: 4.5 },
  'gemini-2.5-flash': { input: 0.3, cachedInput: 0.075, output: 2.5, webSearch: 35, cacheStorage: 1 },
  'gemini-2.5-flash-lite': { input: 0.1, cachedInput: 0.025, output: 0.4, webSearch: 35, cacheStorage: 1 },
  'gemini-2.0-flash': { input: 0.1, cachedInput: 0.025, output: 0.4, webSearch: 35, cacheStorage: 1 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3, webSearch: 35 },
  // Gemini Live sessions relayed by the gateway: text, and audio (video and images too) at its rate.
  'gemini-live-2.5-flash-preview': { input: 0.5, output: 2, audioInput: 3, audioOutput: 12 },
  'gemini-2.5-flash-native-audio': { input: 0.5, output: 2, audioInput: 3, audioOutput: 12 },
  'gemini-2.0-flash-live': { input: 0.35, output: 1.5, audioInput: 2.1, audioOutput: 8.5 },
  'gemini-embedding-001': { input: 0.15, output: 0 },
  // Gemini's image models: a picture's tokens at the image-output rate (a 1024×1024 image is 1 290
  // tokens: $0.039 at $30 a million), the text they write at the text rate.
  'gemini-2.5-flash-image': { input: 0.3, output: 2.5, imageOutput: 30 },
  'gemini-3-pro-image-preview': { input: 2, output: 12, imageOutput: 120 },
};

/** A model the table does not know: dearer than any listed, its searches too (a grounded answer at $35 a query). */
export const FALLBACK_PRICE: ModelPrice = { input: 15, output: 75, webSearch: 35, searchQuery: 35 };

export class Prices {
  /** A Map, not an object: model names come from clients, and `constructor` must not find Object's. */
  private readonly table: ReadonlyMap<string, ModelPrice>;
  private readonly keys: string[];
  private readonly cache = new Map<string, ModelPrice>();
  private readonly fallback: ModelPrice;
  /** Each model price's long-context rates, made once. */
  private readonly long = new WeakMap<ModelPrice, ModelPrice>();

  constructor(overrides: PriceTable = {}, fallback: ModelPrice = FALLBACK_PRICE) {
    this.table = new Map(Object.entries({ ...DEFAULT_PRICES, ...overrides }));
    this.keys = [...this.table.keys()].sort((a, b) => b.length - a.length);
    this.fallback = fallback;
  }

  of(model: string): ModelPrice {
    let p = this.cache.get(model);
    if (p) return p;
    const family = this.keys.find((k) => model.startsWith(k + '-'));
    p = this.table.get(model) ?? (family !== undefined ? this.table.get(family) : undefined) ?? this.fallback;
    if (this.cache.size < 10_000) this.cache.set(model, p);
    return p;
  }

  /** The rates a request with this many prompt tokens pays: the model's, or past its long-context threshold, the long ones. */
  rates(model: string, tokensIn: number): ModelPrice {
    const p = this.of(model);
    if (p.longContext === undefined || tokensIn <= p.longContext.above) return p;
    let long = this.long.get(p);
    if (long === undefined) this.long.set(p, (long = longRates(p, p.longContext)));
    return long;
  }

  /** True when the table prices this model (exactly or by family), false when it falls back. */
  known(model: string): boolean {
    return this.of(model) !== this.fallback;
  }

  /** Cost in USD of a Realtime response's usage, each kind of token at its own rate. */
  realtimeCost(model: string, u: TokenKinds): number {
    const p = this.of(model);
    const audioIn = p.audioInput ?? p.input;
    return (
      (u.textIn - u.cachedTextIn) * p.input +
      u.cachedTextIn * (p.cachedInput ?? p.input) +
      (u.audioIn - u.cachedAudioIn) * audioIn +
      u.cachedAudioIn * (p.cachedAudioInput ?? p.cachedInput ?? audioIn) +
      u.imageIn * (p.imageInput ?? p.input) +
      u.textOut * p.output +
      u.audioOut * (p.audioOutput ?? p.output)
    ) / 1e6;
  }

  /**
   * Cost in USD of what the provider reported: the prompt's images, cache reads and cache writes each
   * at their rate, the rest of the input at the input rate.
   */
  usageCost(model: string, u: Usage, preview = false): number {
    const cached = u.cachedIn ?? 0;
    const w5m = u.cacheWriteIn ?? 0;
    const w1h = u.cacheWrite1hIn ?? 0;
    const heard = u.audioIn ?? 0;
    const spoken = u.audioOut ?? 0;
    const drawn = u.imageTokensOut ?? 0;
    const searches = this.toolCost(model, u, preview);
    const tier = u.serviceTier === undefined ? 1 : this.tierFactor(model, u.serviceTier);
    if (cached === 0 && w5m === 0 && w1h === 0 && heard === 0 && spoken === 0 && drawn === 0) return this.cost(model, u.tokensIn, u.tokensOut, u.imageTokensIn) * tier + searches;
    const p = this.rates(model, u.tokensIn);
    const plain = Math.max(0, u.tokensIn - (u.imageTokensIn ?? 0) - cached - w5m - w1h - heard);
    const input = plain * p.input + (u.imageTokensIn ?? 0) * (p.imageInput ?? p.input) + cached * (p.cachedInput ?? p.input) + w5m * (p.cacheWrite ?? p.input * 1.25) + w1h * (p.cacheWrite1h ?? p.input * 2) + heard * (p.audioInput ?? p.input);
    const output = (u.tokensOut - spoken - drawn) * p.output + spoken * (p.audioOutput ?? p.output) + drawn * (p.imageOutput ?? p.output);
    return searches + ((input + output) / 1e6) * tier;
  }

  /** What a processing tier costs, times the model's standard rates. */
  tierFactor(model: string, tier: ServiceTier): number {
    const p = this.of(model);
    switch (tier) {
      case 'priority':
        return p.priority ?? DEFAULT_PRIORITY;
      case 'fast':
        return p.fast ?? DEFAULT_FAST;
      case 'batch':
        return p.batch ?? DEFAULT_BATCH;
      case 'flex':
        return p.flex ?? DEFAULT_FLEX;
    }
  }

  /** What `tokens` of output cost more when they are images than text (an image model's worst case). */
  drawnExtra(model: string, tokens: number): number {
    const p = this.of(model);
    return (tokens * Math.max(0, (p.imageOutput ?? p.output) - p.output)) / 1e6;
  }

  /** What `tokens` of output cost more when spoken than written (an audio chat's worst case). */
  spokenExtra(model: string, tokens: number): number {
    const p = this.of(model);
    return (tokens * Math.max(0, (p.audioOutput ?? p.output) - p.output)) / 1e6;
  }

  /**
   * USD for the searches a request to this model ran or may run: web searches (`preview`: its tool
   * is `web_search_preview`), a grounded answer's queries where the model is billed per query, and
   * file_search calls.
   */
  toolCost(model: string, calls: ToolCalls, preview = false): number {
    const searches = calls.searches ?? 0;
    const files = calls.fileSearches ?? 0;
    if (searches === 0 && files === 0) return 0;
    const p = this.of(model);
    const web = p.searchQuery !== undefined && calls.searchQueries !== undefined ? calls.searchQueries * p.searchQuery : searches * ((preview ? p.webSearchPreview : undefined) ?? p.webSearch ?? WEB_SEARCH_USD_PER_THOUSAND);
    return (web + files * (p.fileSearch ?? FILE_SEARCH_USD_PER_THOUSAND)) / 1000;
  }

  /**
   * What a context cache of `tokens` costs to hold for `hours` (Gemini's `cachedContents`), and with
   * `created`, to make: its tokens at the input rate, as Google documents a cache's creation.
   */
  cacheCost(model: string, tokens: number, hours: number, created: boolean): number {
    const p = this.rates(model, tokens);
    return ((created ? tokens * p.input : 0) + tokens * Math.max(0, hours) * (p.cacheStorage ?? DEFAULT_CACHE_STORAGE)) / 1e6;
  }

  /** Cost in USD; `imageIn` of the `tokensIn` are images, at the image-input rate. */
  cost(model: string, tokensIn: number, tokensOut: number, imageIn = 0): number {
    const p = this.rates(model, tokensIn);
    return ((tokensIn - imageIn) * p.input + imageIn * (p.imageInput ?? p.input) + tokensOut * p.output) / 1e6;
  }
}

/** A model's rates past its long-context threshold: every input rate scaled as its input, audio output as its output. */
function longRates(p: ModelPrice, l: LongContextPrice): ModelPrice {
  const inF = p.input > 0 ? l.input / p.input : 1;
  const outF = p.output > 0 ? l.output / p.output : 1;
  const rates: ModelPrice = { ...p, input: l.input, output: l.output };
  delete rates.longContext;
  // Absent rates stay absent: they follow the (long) input and output where they are read.
  if (l.cachedInput !== undefined) rates.cachedInput = l.cachedInput;
  else if (p.cachedInput !== undefined) rates.cachedInput = p.cachedInput * inF;
  for (const k of ['cacheWrite', 'cacheWrite1h', 'imageInput', 'audioInput', 'cachedAudioInput'] as const) if (p[k] !== undefined) rates[k] = p[k] * inF;
  for (const k of ['audioOutput', 'imageOutput'] as const) if (p[k] !== undefined) rates[k] = p[k] * outF;
  return rates;
}
