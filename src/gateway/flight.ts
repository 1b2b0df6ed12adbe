/**
 * One request (or relayed session, or watched call) on its way through the gateway: who called,
 * what, where it went, and what was counted for it, from admission to settlement.
 */
import type { AdmitResult, UserRecord } from '../store/types.js';
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
  /**
   * Its tokens are not counted against the tokens-per-minute limits (a batch: the provider runs it
   * apart from live traffic, over hours), only its cost against the budgets.
   */
  outsideTpm?: boolean;
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

/**
 * A flight as another instance needs it to bill what it started (a background response, a batch
 * taken over through Redis): its data, less what only this process holds (its route, provider, timers).
 */
export interface PackedFlight extends Pick<Flight, 'reqId' | 'model' | 'alias' | 'promptTokens' | 'plan' | 'admitted' | 'status' | 'tag' | 'searchesRun' | 'searchPreview' | 'containerUsd' | 'imageUsd' | 'outsideTpm'> {
  /** When the request came (ms since the epoch), for the latency the ledger records. */
  startedAt: number;
  /** The user as they were; the directory's record, when there is one, is read afresh. */
  user: UserRecord;
  tokenId: string;
}

export function packFlight(f: Flight): PackedFlight {
  return {
    reqId: f.reqId,
    startedAt: Date.now() - (performance.now() - f.start),
    user: f.caller.user,
    tokenId: f.caller.tokenId,
    model: f.model,
    alias: f.alias,
    promptTokens: f.promptTokens,
    plan: f.plan,
    admitted: f.admitted,
    status: f.status,
    tag: f.tag,
    searchesRun: f.searchesRun,
    searchPreview: f.searchPreview,
    containerUsd: f.containerUsd,
    imageUsd: f.imageUsd,
    outsideTpm: f.outsideTpm,
  };
}

/** What an instance writes of work it may hand over: a flight, the version of the record, the label of the key that made the work. */
export interface PackedWork extends PackedFlight {
  v: 1;
  key: string;
}

/** A record another instance wrote, read back; undefined when it is not one this version reads. */
export function readPacked<T extends PackedWork>(raw: Buffer): Partial<T> & PackedWork | undefined {
  let p: Partial<T> | null;
  try {
    p = JSON.parse(raw.toString('utf8')) as Partial<T> | null;
  } catch {
    return undefined;
  }
  if (p?.v !== 1 || typeof p.reqId !== 'string' || typeof p.user?.id !== 'string' || typeof p.model !== 'string' || typeof p.key !== 'string') return undefined;
  return p as Partial<T> & PackedWork;
}

/** The packed flight's user as the directory has them now; one gone from it is billed as they were, disabled (their work is cancelled). */
export function userNow(p: PackedFlight, lookup: (id: string) => UserRecord | undefined): UserRecord {
  return lookup(p.user.id) ?? { ...p.user, disabled: true };
}

/** The flight made again on this instance, under `user` as the directory has them now. */
export function unpackFlight(p: PackedFlight, route: Route, provider: Provider, user: UserRecord): Flight {
  return {
    reqId: p.reqId,
    start: performance.now() - (Date.now() - p.startedAt),
    caller: { user, tokenId: p.tokenId },
    route,
    provider,
    upstream: provider.name,
    model: p.model,
    alias: p.alias,
    promptTokens: p.promptTokens,
    plan: p.plan,
    admitted: p.admitted,
    status: p.status,
    settled: false,
    tag: p.tag,
    searchesRun: p.searchesRun,
    searchPreview: p.searchPreview,
    containerUsd: p.containerUsd,
    imageUsd: p.imageUsd,
    outsideTpm: p.outsideTpm,
  };
}
