/**
 * One request (or relayed session, or watched call) on its way through the gateway: who called,
 * what, where it went, and what was counted for it, from admission to settlement.
 */
import type { AdmitResult } from '../store/types.js';
import type { Caller } from './auth.js';
import type { Plan } from './policy.js';
import type { Provider } from './providers/types.js';
import type { Route } from './routes.js';

export interface Flight {
  reqId: string;
  start: number;
  caller: Caller;
  route: Route;
  /** The API the client speaks: its errors, its usage format. */
  provider: Provider;
  /** Whose keys served it (a Gemini or Groq model called through the OpenAI API is theirs), for the ledger and the metrics. */
  upstream: string;
  model: string;
  /** The alias the client called the model by. */
  alias?: string;
  promptTokens: number;
  plan?: Plan;
  admitted?: AdmitResult;
  status: number;
  settled: boolean;
  /** Where a whole 200 answer is to be kept in the response cache. */
  cacheKey?: string;
  /** The client's `x-keyward-tag`, for the ledger. */
  tag?: string;
  /** Billed this, not by usage (a Realtime client secret). */
  flatUsd?: number;
  /** Web searches billed whatever the usage says (a search model's chat, which searches on every request). */
  searchesRun?: number;
  /** Its search tool is `web_search_preview`, priced as such. */
  searchPreview?: boolean;
  /** USD of each image the `image_generation` tool made (its model, quality and size). */
  imageUsd?: number;
  /** USD of each code interpreter container the answer used (the tier the request asked for). */
  containerUsd?: number;
}

/** What an admission counted, and the rate-limit headers for the answer. */
export interface Admission {
  admitted?: AdmitResult;
  headers?: Record<string, string>;
  /** Nothing was counted: the shared directory moved since the caller was authenticated. */
  stale?: boolean;
}

/** Milliseconds since `start` (a performance.now()), to the hundredth. */
export function sinceMs(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}
