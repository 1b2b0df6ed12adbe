/**
 * Google's Gemini API (generativelanguage.googleapis.com, what the `@google/genai` SDK calls with an
 * API key): `x-goog-api-key` auth, the model in the path (`/v1beta/models/{model}:generateContent`),
 * errors as `{error:{code,message,status}}` with Google's canonical status names, and usage in
 * `usageMetadata`. Thinking tokens are billed as output, as Google bills them; every streamed chunk
 * carries the usage so far, so the last one seen is the total.
 */
import { num, type Provider, type Usage } from './types.js';

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

function usageOf(u: unknown): Usage | undefined {
  if (typeof u !== 'object' || u === null) return undefined;
  const o = u as Record<string, unknown>;
  return { tokensIn: num(o.promptTokenCount) + num(o.toolUsePromptTokenCount), tokensOut: num(o.candidatesTokenCount) + num(o.thoughtsTokenCount) };
}

export const gemini: Provider = {
  name: 'gemini',
  envPrefix: 'GEMINI',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  sdkBaseUrlEnv: 'GOOGLE_GEMINI_BASE_URL',
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
  usageFromJson(json) {
    if (typeof json !== 'object' || json === null) return undefined;
    return usageOf((json as Record<string, unknown>).usageMetadata);
  },
  usageFromEvent(json) {
    if (typeof json !== 'object' || json === null) return undefined;
    const u = (json as Record<string, unknown>).usageMetadata;
    if (typeof u !== 'object' || u === null) return undefined;
    const o = u as Record<string, unknown>;
    const out: Partial<Usage> = {};
    if (o.promptTokenCount !== undefined) out.tokensIn = num(o.promptTokenCount) + num(o.toolUsePromptTokenCount);
    // Early chunks may carry only the prompt's count; output is known once a count for it appears.
    if (o.candidatesTokenCount !== undefined || o.thoughtsTokenCount !== undefined) out.tokensOut = num(o.candidatesTokenCount) + num(o.thoughtsTokenCount);
    return out;
  },
};
