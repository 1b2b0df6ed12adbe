/**
 * Google's Gemini API (generativelanguage.googleapis.com, what the `@google/genai` SDK calls with an
 * API key): `x-goog-api-key` auth, the model in the path (`/v1beta/models/{model}:generateContent`),
 * errors as `{error:{code,message,status}}` with Google's canonical status names, and usage in
 * `usageMetadata`. Thinking tokens are billed as output, as Google bills them; every streamed chunk
 * carries the usage so far, so the last one seen is the total.
 */
import { searchQueries } from '../web-search.js';
import { num, type Provider, type Usage, withParams } from './types.js';

/** google.rpc.Code names, which the SDKs read from `error.status`. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  402: 'RESOURCE_EXHAUSTED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

type Counts = Record<string, unknown>;
const tokensIn = (o: Counts) => num(o.promptTokenCount) + num(o.toolUsePromptTokenCount);
const tokensOut = (o: Counts) => num(o.candidatesTokenCount) + num(o.thoughtsTokenCount);

/** The answer's image tokens (`candidatesTokensDetails`, modality IMAGE), billed at the image-output rate. */
function withImages<U extends Partial<Usage>>(u: U, o: Counts): U {
  const details = o.candidatesTokensDetails;
  if (!Array.isArray(details)) return u;
  let images = 0;
  for (const d of details) if ((d as { modality?: unknown } | null)?.modality === 'IMAGE') images += num((d as { tokenCount?: unknown }).tokenCount);
  if (images > 0) u.imageTokensOut = u.tokensOut === undefined ? images : Math.min(images, u.tokensOut);
  return u;
}

/** The prompt's tokens served from a context cache (`cachedContentTokenCount`), billed at the cached rate. */
function withCached<U extends Partial<Usage>>(u: U, o: Counts): U {
  const cached = num(o.cachedContentTokenCount);
  if (cached > 0) u.cachedIn = Math.min(cached, u.tokensIn ?? cached);
  return u;
}

/** An answer grounded in Google Search: one grounded answer, and the queries it ran (Gemini 3 is billed per query). */
function withGrounding<U extends Partial<Usage>>(u: U, json: unknown): U {
  const queries = searchQueries((json as { candidates?: unknown } | null)?.candidates);
  if (queries > 0) {
    u.searches = 1;
    u.searchQueries = queries;
  }
  return u;
}

function countsOf(json: unknown): Counts | undefined {
  const u = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).usageMetadata : undefined;
  return typeof u === 'object' && u !== null ? (u as Counts) : undefined;
}

export const gemini: Provider = {
  name: 'gemini',
  envPrefix: 'GEMINI',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  sdkBaseUrlEnv: 'GOOGLE_GEMINI_BASE_URL',
  openaiCompat: { path: '/v1beta/openai', kinds: ['chat', 'embeddings'], modelPrefix: 'gemini-' },
  usageKey: 'usageMetadata',
  authHeaders: (key) => ({ 'x-goog-api-key': key }),
  errorBody: (status, type, message) =>
    JSON.stringify({
      error: {
        code: status,
        message,
        status: STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
        // The gateway's own error type, where Google puts a machine-readable reason.
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: type, domain: 'keyward' }],
      },
    }),
  usageFromJson(json): Usage | undefined {
    const o = countsOf(json);
    return o && withGrounding(withImages(withCached({ tokensIn: tokensIn(o), tokensOut: tokensOut(o) }, o), o), json);
  },
  usageFromEvent(json) {
    const o = countsOf(json);
    if (o === undefined) return undefined;
    const out: Partial<Usage> = {};
    if (o.promptTokenCount !== undefined) withCached(Object.assign(out, { tokensIn: tokensIn(o) }), o);
    // Early chunks may carry only the prompt's count; output is known once a count for it appears.
    if (o.candidatesTokenCount !== undefined || o.thoughtsTokenCount !== undefined) withImages(Object.assign(out, { tokensOut: tokensOut(o) }), o);
    return withGrounding(out, json);
  },
};

/** A model's id as the other APIs name it: Gemini's lists say `models/gemini-2.5-flash`. */
export function geminiModelId(name: string): string {
  return name.startsWith('models/') ? name.slice(7) : name;
}

/** The model list path for a caller's list request: the API version it called, and only the paging parameters. */
export function geminiModelsPath(url: string): string {
  return withParams(`/${url.startsWith('/v1/') ? 'v1' : 'v1beta'}/models`, url, ['pageSize', 'pageToken']);
}

/** The text of an answer's first candidate, its thought parts left out. */
export function geminiText(json: Record<string, unknown>): string {
  const parts = (json.candidates as Array<{ content?: { parts?: Array<{ text?: unknown; thought?: unknown }> } }> | undefined)?.[0]?.content?.parts ?? [];
  return parts
    .filter((p) => typeof p.text === 'string' && p.thought !== true)
    .map((p) => p.text as string)
    .join('');
}
