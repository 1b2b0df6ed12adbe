/**
 * `createGateway(options)`: a `node:http` request handler that authenticates the caller, applies
 * rate limits and budget reservations (one atomic store call), forwards to the upstream with the
 * server-side provider key, streams the answer through chunk by chunk, then settles the reservation
 * to the real cost and queues a ledger row. Everything the client sees is scrubbed of key material.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { apiSecurityHeaders, RECOMMENDED_HEADERS } from '../recommended-headers.js';
import { KeywardError } from '../errors.js';
import { engineWith, redactSecret, redactText, scanText, type CustomRules, type Engine, type SecretMatch } from '../secrets/index.js';
import { MemoryCounters, MemoryLedger } from '../store/memory.js';
import type { AdmitResult, CounterCheck, Counters, Directory, Ledger, TokenScope, UserRecord } from '../store/types.js';
import { Alerter, type Alert, type AlertOptions } from './alerts.js';
import { cacheUse, ResponseCache, SharedResponseCache, type AnswerCache, type CacheOptions } from './response-cache.js';
import { AnomalyDetector, type AnomalyOptions } from './anomaly.js';
import { Cancel } from './cancel.js';
import { Authenticator, type Caller, type JwtOptions } from './auth.js';
import { period } from './budget.js';
import { endUserId, withEndUser } from './end-user-id.js';
import { egressDispatcher } from './egress.js';
import { upstreamFromEnv, type UpstreamConfig } from './env.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { HeldBytes, SMALL_BODY } from './held-bytes.js';
import { DEFAULT_BREAKER, KeyPool, type BreakerOptions, type KeyChange, type PoolKey } from './keys.js';
import { LedgerWriter } from './ledger-writer.js';
import { NetworkList } from './networks.js';
import { GatewayMetrics } from './metrics.js';
import { accessLog, createLogger, type Logger } from './logger.js';
import { StreamMeter } from './meter.js';
import { UsageEventFilter } from './usage-filter.js';
import { usageOfAnswer } from './usage-search.js';
import { describeSecrets, redactBody, type PromptSecretsMode } from './prompt-secrets.js';
import { renderTranscript, shapeUpload, spokenTokens } from './audio.js';
import { shapeImageUpload } from './images.js';
import { Upload } from './upload.js';
import type { RealtimePolicy } from './realtime.js';
import { DEFAULT_BACKGROUND, RESPONSE_ID, type BackgroundOptions } from './background-responses.js';
import { StoredResponses, type Via } from './stored-responses.js';
import { RESPONSE_ID_IN_ANSWER, tagOwner } from './response-ownership.js';
import { storedObjectsNamed } from './shared-objects.js';
import { BilledContainers, CONTAINER_USD } from './containers.js';
import { CALLS_PATH, HANGUP_PATH } from './realtime-call.js';
import { REALTIME_PATH } from './realtime-relay.js';
import { realtimeRoutes } from './realtime-routes.js';
import { sinceMs, type Admission, type Flight } from './flight.js';
import { handleObjects, taggedObjectOwner, type ObjectRoutesGateway } from './object-routes.js';
import { Batches, CONVERSATION_ID, CONVERSATIONS, GEMINI_DOWNLOAD_PREFIX, GEMINI_FILES_ROUTE, GEMINI_UPLOAD_PATH, geminiFileName, isFileId, objectRoute, OWNED_DAYS, VECTOR_STORE_ID, VECTOR_STORES, type TaggedKind } from './batches.js';
import { Owners } from './owners.js';
import { budgetChecked, budgetedIds, budgetSeeder, forgetRemovedBudgets, plan, refusalMessage, releaseLease, settle, spendAfter, teamOfKey, type GlobalBudget, type IpLimits, type Plan, type TeamPolicy } from './policy.js';
import { anthropic, ANTHROPIC_VERSION } from './providers/anthropic.js';
import { compatibleProvider, ModelList, providerNameError, type CompatibleProviderConfig } from './providers/compatible.js';
import { gemini, geminiModelId, geminiText } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import { modelListRequest, PROVIDER_NAMES, PROVIDERS } from './providers/registry.js';
import { Prices, type ModelPrice, type PriceTable } from './providers/prices.js';
import type { Provider, ProviderName, ServiceTier, ShapedRequest, Usage } from './providers/types.js';
import { estimatePromptTokens, isObject } from './providers/types.js';
import { geminiRoute, isGeminiPath, parseAppChat, RESPONSE_OBJECT, RESPONSE_OBJECT_PATH, RESPONSES_PREFIX, ROUTES, shapeRequest, withOutputCap, type Route } from './routes.js';
import { DEFAULT_RESILIENCE, Upstream, type ResilienceOptions } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';

export interface AppChatPolicy {
  /** A built-in provider, or one of `providers` (asked through OpenAI's chat API). */
  provider: ProviderName | (string & {});
  model: string;
  maxTokens?: number;
  system?: string;
}

export interface GatewayOptions {
  /** Users and tokens (SqliteStore or MemoryDirectory). */
  directory: Directory;
  /** Limits and budgets; default in memory (one instance). Use RedisCounters for several instances. */
  counters?: Counters;
  /** Usage ledger; default the directory when it is also a ledger (SqliteStore), else memory. */
  ledger?: Ledger;
  /** Where provider keys, base URLs and the egress proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) are read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Explicit upstreams by provider name, instead of the environment (a provider left out gets no keys). */
  upstreams?: Partial<Record<string, UpstreamConfig>>;
  /**
   * Providers that speak OpenAI's API, by name (`groq`: keys from GROQ_API_KEY…, GROQ_BASE_URL
   * overriding `baseUrl`). A call through the OpenAI routes for one of their `models` goes to them.
   */
  providers?: Record<string, CompatibleProviderConfig>;
  /** Models any user may call (absent: all). Users may be narrowed further by their own list. */
  models?: string[];
  /** The model behind `POST /api/ai/chat`. */
  chat?: AppChatPolicy;
  /** Output tokens reserved when a request sets no maximum (default 4096). */
  defaultMaxTokens?: number;
  prices?: PriceTable;
  fallbackPrice?: ModelPrice;
  ipLimits?: IpLimits;
  /** Trust X-Forwarded-For: the number of proxies in front of the gateway, or their addresses. */
  trustProxy?: number | string[];
  globalBudget?: GlobalBudget;
  /**
   * Limits and budgets of teams, by name, shared by every user whose `team` it is
   * (`{ "research": { "rpm": 600, "budgetUsd": 500, "softBudgetUsd": 400, "period": "month" } }`).
   */
  teams?: Record<string, TeamPolicy>;
  /** When the counter store (Redis) fails: budgets always fail closed; limits fail `closed` (default) or `open`. */
  limitsOnStoreFailure?: 'open' | 'closed';
  /** Origins allowed to call from a browser (CORS is off without it). */
  corsOrigins?: string[];
  /**
   * Models to try, in order, when a model's provider fails after its retries (5xx, 429, its keys
   * refused), before anything reached the client: `{ "gpt-4o-mini": ["gemini-2.5-flash"] }`. On
   * OpenAI's chat API any model the gateway routes; on Anthropic's messages API, other Claude models.
   */
  fallbacks?: Record<string, string[]>;
  /**
   * Names clients call that stand for a model the operator picks (`{ "fast": "gpt-4o-mini" }`), so
   * the model behind an app changes with the config, not with a release of the app. The request goes
   * out, and is billed and logged, as the model.
   */
  aliases?: Record<string, string>;
  /** Secrets (the secrets engine's rules) in a request body: refuse the request, send it with them redacted, or do not look (default). */
  promptSecrets?: PromptSecretsMode;
  /**
   * A project's own secret rules (`parseRules`/`loadRules` of a `.keyward-rules.json`), looked for in
   * request bodies besides the built-in ones under `promptSecrets`: an internal service's tokens
   * are then refused or redacted before a provider sees them. The config file names the file.
   */
  promptSecretRules?: CustomRules;
  /**
   * Objects a provider keeps for the whole project (files, vector stores, containers, Gemini caches)
   * that every user may name in a request; any other is refused, since it may hold another user's data.
   */
  sharedObjects?: string[];
  /**
   * Tell OpenAI and Anthropic which gateway user each request is for, as a hash (`safety_identifier`,
   * `metadata.user_id`), so that abuse by one user can be blocked without the key every user shares
   * (default true).
   */
  endUserIds?: boolean;
  /** Serve repeated identical requests of a user from memory (or, `shared`, from Redis), billed nothing (off without it). */
  cache?: CacheOptions;
  /** Mint OpenAI Realtime client secrets and Gemini Live tokens for gateway users, each billed a flat price (off without it). */
  realtime?: RealtimePolicy;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest audio upload accepted for transcription and translation (default 25 MiB, OpenAI's own limit). */
  maxUploadBytes?: number;
  /** Largest file accepted at `POST /v1/files` (a batch's requests; default 100 MiB). */
  maxFileBytes?: number;
  /** The request bodies held in memory at once, past 64 KiB each (uploads, files; default 512 MiB): past it, a 503 to retry. */
  maxBufferedBytes?: number;
  resilience?: Partial<ResilienceOptions>;
  breaker?: Partial<BreakerOptions>;
  jwt?: JwtOptions;
  logger?: Logger;
  logLevel?: string;
  alerts?: AlertOptions;
  anomaly?: AnomalyOptions;
  /** undici (7) dispatcher for upstream calls (default: a keep-alive Agent owned by the gateway, through the egress proxy the env names). */
  dispatcher?: Dispatcher;
  ledgerFlushMs?: number;
  /** How often an in-memory gateway looks for budgets taken away (ms; default 5000). */
  budgetWatchMs?: number;
  /** How background responses are followed until they finish (default: asked about every 10 s, cancelled after 6 h). */
  background?: Partial<BackgroundOptions>;
}

/** The config fields a running gateway takes on `setPolicy` (SIGHUP); the others need a restart. */
export const RELOADABLE = ['models', 'chat', 'defaultMaxTokens', 'prices', 'fallbackPrice', 'ipLimits', 'corsOrigins', 'maxBodyBytes', 'maxUploadBytes', 'maxFileBytes', 'maxBufferedBytes', 'promptSecrets', 'promptSecretRules', 'fallbacks', 'aliases', 'cache', 'realtime', 'teams', 'sharedObjects'] as const;
export type ReloadablePolicy = Pick<GatewayOptions, (typeof RELOADABLE)[number]>;

export type GatewayHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /**
   * Handles a request whose body a framework already parsed (Express, Fastify). `asUser` names the
   * keyward user when the app's own auth middleware has already identified the caller.
   */
  handleParsed(req: IncomingMessage, res: ServerResponse, body: unknown, asUser?: string): void;
  /**
   * Relays OpenAI Realtime sessions (`GET /v1/realtime?model=…`, WebSocket): pass the HTTP server's
   * `upgrade` events here, as in `server.on('upgrade', gateway.upgrade)`.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Writes queued ledger rows and releases connections (relayed sessions are ended); call on shutdown. */
  close(): Promise<void>;
  logger: Logger;
  /** Breaker state of every provider key (labels only, never the keys). */
  keyState(): Record<string, ReturnType<KeyPool['state']>>;
  /**
   * Rotates provider keys without a restart: each provider given gets exactly these keys (the others
   * keep theirs). Kept keys keep their breaker state; requests in flight finish on the key they have.
   * Returns the labels added and removed per provider.
   */
  setProviderKeys(keys: Partial<Record<string, string[]>>): Partial<Record<string, KeyChange>>;
  /**
   * Takes a new policy without a restart: every field of RELOADABLE, as given (a field left out goes
   * back to its default), for the requests that arrive from now on. Throws, changing nothing, when
   * `chat` names a provider the gateway lacks or a `shared` cache has no shared store. The response
   * cache is kept unless its settings changed.
   */
  setPolicy(policy: ReloadablePolicy): void;
  /** Prometheus metrics (requests, latency, tokens, spend, upstream attempts, key states), for a scrape endpoint. */
  metrics: GatewayMetrics;
};

/** The API header set, plus COEP: a JSON API embeds nothing, so cross-origin isolation costs nothing. */
const SECURITY: Record<string, string> = { ...apiSecurityHeaders(), [RECOMMENDED_HEADERS.crossOriginEmbedderPolicy.name]: RECOMMENDED_HEADERS.crossOriginEmbedderPolicy.value };
const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_CAPTURE = 16 * 1024 * 1024;
const DEFAULT_MAX_UPLOAD = 25 * 1024 * 1024;
const DEFAULT_MAX_FILE = 100 * 1024 * 1024;
const DEFAULT_MAX_BUFFERED = 512 * 1024 * 1024;
/**
 * Kept out of the response cache: audio answers are files, not worth holding; uploads never repeat
 * byte for byte (a new boundary each time); a Realtime client secret must be new each time.
 */
const NOT_CACHED: ReadonlySet<string> = new Set(['transcription', 'translation', 'speech', 'realtime', 'image-edit', 'image-variation']);

/** Writes a chunk on to the client; a client slower than the upstream pauses the upstream until it drains. */
function writeOrWait(res: ServerResponse, body: UpstreamAnswer['body'], chunk: Buffer): void {
  if (!res.write(chunk)) {
    body.pause();
    res.once('drain', () => body.resume());
  }
}

function headersWith(extra?: Record<string, string>): Record<string, string> {
  return extra ? Object.assign({}, SECURITY, extra) : Object.assign({}, SECURITY);
}

/**
 * The request's body, up to `limit` bytes. With `held`, past SMALL_BODY bytes it is counted against
 * what the gateway holds at once, until the answer to `res` is sent.
 */
function readBody(req: IncomingMessage, limit: number, held?: HeldBytes, res?: ServerResponse): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Made only for a body large enough to count: a chat request's never is.
    let taken: { bytes: number } | undefined;
    const fail = (err: unknown) => {
      req.removeAllListeners('data');
      req.resume();
      reject(err);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return fail(tooLarge(limit));
      if (held !== undefined && res !== undefined && size > SMALL_BODY) {
        taken ??= { bytes: 0 };
        try {
          held.take(res, taken, size - taken.bytes);
        } catch (err) {
          return fail(err);
        }
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): GatewayHttpError {
  return new GatewayHttpError(413, 'request_too_large', `the request body is larger than the gateway's limit of ${limit} bytes`, { connection: 'close' });
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) throw new GatewayHttpError(400, 'invalid_request_error', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new GatewayHttpError(400, 'invalid_request_error', `the request body is not valid JSON (${redactText((err as Error).message).slice(0, 120)})`);
  }
}

export function createGateway(options: GatewayOptions): GatewayHandler {
  const log = options.logger ?? createLogger({ level: options.logLevel, ...(options.promptSecretRules ? { engine: engineWith(options.promptSecretRules) } : {}) });
  const access = accessLog(log);
  const dir = options.directory;
  const ledger = options.ledger ?? (isLedger(dir) ? dir : new MemoryLedger());
  // Budgets in memory start from the spend the ledger holds (its queued rows too), when first used in their period.
  const counters = options.counters ?? new MemoryCounters({ initial: budgetSeeder(ledger, () => writer.pending()) });
  let budgetWatch: NodeJS.Timeout | undefined;
  if (counters instanceof MemoryCounters && counters.seeded) {
    // Looked for every few seconds (a budget removed and given back faster than that keeps its counter).
    let budgeted = budgetedIds(dir.listUsers());
    budgetWatch = setInterval(() => {
      try {
        budgeted = forgetRemovedBudgets(dir.listUsers(), budgeted, (prefix) => counters.forget(prefix));
      } catch (err) {
        log.error({ err }, 'looking for budgets taken away failed');
      }
    }, options.budgetWatchMs ?? 5000);
    budgetWatch.unref();
  }
  const writer = new LedgerWriter(ledger, log, options.ledgerFlushMs);
  // Read at scrape time, by when the upstreams below exist.
  const metrics = new GatewayMetrics({
    keyState: () => keyStates(),
    ledgerQueued: () => writer.queued,
    sessions: () => voice.sessions(),
    followed: () => ({ background_response: stored.following, batch: batches.size }),
    heldBodyBytes: () => held.bytes,
  });
  const alerter = new Alerter(log, options.alerts, (kind) => metrics.alert(kind));
  // Counted where the limits are: across every instance on a shared Redis.
  const anomaly = options.anomaly ? new AnomalyDetector(options.anomaly, dir, alerter, log, counters) : undefined;
  const auth = new Authenticator(dir, options.jwt);
  // The policy a reload may change (RELOADABLE): set by applyPolicy, once below and on each setPolicy.
  let prices!: Prices;
  let maxBody!: number;
  let maxUpload!: number;
  let maxFile!: number;
  let maxBuffered!: number;
  /** The request bodies held in memory at once (uploads and files: a chat request's is too small to count). */
  const held = new HeldBytes(() => maxBuffered);
  let defaultMaxTokens!: number;
  let ipLimits: IpLimits | undefined;
  let globalModels: Set<string> | undefined;
  let cors: Set<string> | undefined;
  let chatPolicy!: AppChatPolicy;
  let promptSecrets!: PromptSecretsMode;
  /** The secrets engine with `promptSecretRules`; undefined: the built-in rules. */
  let promptEngine: Engine | undefined;
  let sharedObjects!: Set<string>;
  const billedContainers = new BilledContainers();
  let fallbacks!: Map<string, string[]>;
  let aliases!: Map<string, string>;
  let realtime: RealtimePolicy | undefined;
  let teams!: Map<string, TeamPolicy>;
  let cache: AnswerCache | undefined;
  let cacheOptions: CacheOptions | undefined;
  const limitsOpen = options.limitsOnStoreFailure === 'open';
  const ownDispatcher = options.dispatcher === undefined;
  const endUserIds = options.endUserIds !== false;
  const env = options.env ?? process.env;
  const dispatcher = options.dispatcher ?? egressDispatcher(env, { keepAliveTimeout: 30_000, connections: 512, connect: { timeout: 10_000 } });
  const resilience = { ...DEFAULT_RESILIENCE, ...options.resilience };
  const breaker = { ...DEFAULT_BREAKER, ...options.breaker };

  const allKeys: string[] = [];
  /** Every upstream by name: the built-in providers, then the config's OpenAI-compatible ones. */
  const byName = new Map<string, Upstream>();
  /** A provider refused one of its keys (on a call, or opening a session). */
  function keyRejected(provider: string, key: PoolKey): void {
    alerter.send({ kind: 'provider_key_rejected', message: `${provider} rejected provider key ${key.label}; it is out of the pool until the keys are reloaded (SIGHUP) or the gateway restarts` });
  }

  function addUpstream(p: Provider<string>): Upstream {
    const name = p.name;
    // Explicit upstreams replace the environment entirely: a provider left out has no keys.
    const cfg = options.upstreams ? (options.upstreams[name] ?? { baseUrl: p.defaultBaseUrl, keys: [] }) : upstreamFromEnv(p, env);
    allKeys.push(...cfg.keys);
    const up: Upstream = new Upstream(p, cfg, new KeyPool(name, cfg.keys, breaker), dispatcher, resilience, {
      keyRejected: (key) => keyRejected(name, key),
      webPage: (status) => log.warn({ upstream: up.base, status }, 'the upstream answered with a web page, not the API; check its base URL'),
      attempted: (result) => metrics.attempt(name, result),
    });
    byName.set(name, up);
    return up;
  }
  const upstreams = Object.fromEntries(PROVIDER_NAMES.map((n) => [n, addUpstream(PROVIDERS[n])])) as Record<ProviderName, Upstream>;
  /** The built-in providers that also serve OpenAI's API, for models of theirs called through it. */
  const compatUpstreams = Object.values(upstreams).filter((u) => u.provider.openaiCompat !== undefined);
  const compatible: Array<{ models: ModelList; upstream: Upstream }> = [];
  for (const [name, c] of Object.entries(options.providers ?? {})) {
    const problem = providerNameError(name);
    if (problem) throw new KeywardError('KW_BAD_CONFIG', `providers: ${problem}`, { hint: 'name it e.g. groq, mistral or local-vllm' });
    compatible.push({ models: new ModelList(c.models), upstream: addUpstream(compatibleProvider(name, c)) });
  }
  /** The app route's policy: the config's, or the default; its provider must be one the gateway has. */
  function checkedChat(chat: AppChatPolicy | undefined): AppChatPolicy {
    const policy = chat ?? defaultChatPolicy(upstreams);
    if (byName.has(policy.provider)) return policy;
    throw new KeywardError('KW_BAD_CONFIG', `chat: provider '${policy.provider}' is neither built in (${PROVIDER_NAMES.join(', ')}) nor one of "providers"`, { hint: 'name a provider the gateway has, or add it to "providers"' });
  }
  const keyStates = () => Object.fromEntries([...byName].map(([n, u]) => [n, u.pool.state()]));

  /** Removes key material from text going to a client: the pool's own keys (past ones too) verbatim, then anything the engine recognises. */
  function scrub(text: string): string {
    for (const k of allKeys) if (text.includes(k)) text = text.split(k).join(redactSecret(k));
    return redactText(text);
  }

  function clientIp(req: IncomingMessage): string | undefined {
    const remote = req.socket.remoteAddress;
    const tp = options.trustProxy;
    if (tp === undefined) return remote;
    const xff = req.headers['x-forwarded-for'];
    if (typeof xff !== 'string') return remote;
    const hops = xff.split(',').map((s) => s.trim()).filter(Boolean);
    if (typeof tp === 'number') return hops.length >= tp ? hops[hops.length - tp] : (hops[0] ?? remote);
    if (remote === undefined || !tp.includes(remote)) return remote;
    for (let i = hops.length - 1; i >= 0; i--) if (!tp.includes(hops[i]!)) return hops[i];
    return hops[0] ?? remote;
  }

  function corsHeaders(req: IncomingMessage): Record<string, string> | undefined {
    const origin = req.headers.origin;
    if (!cors || origin === undefined || !cors.has(origin)) return undefined;
    return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'x-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, location' };
  }

  function sendError(res: ServerResponse, provider: Provider, err: GatewayHttpError, reqId: string, extra?: Record<string, string>): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = provider.errorBody(err.status, err.type, err.message);
    const h = headersWith(extra);
    h['content-type'] = JSON_TYPE;
    h['x-request-id'] = reqId;
    if (err.headers) Object.assign(h, err.headers);
    res.writeHead(err.status, h);
    res.end(body);
  }

  const unpriced = new Set<string>();
  /** Says once per model that a budgeted request used a model without a price (it is billed at the fallback price). */
  function unpricedModel(model: string): void {
    if (unpriced.has(model) || unpriced.size > 1000) return;
    unpriced.add(model);
    log.warn({ model: model.slice(0, 100) }, 'model has no price in the table: billed at the fallback price; add it to "prices" in the config');
  }

  // Parsed once per list: a changed user is a new record with a new array.
  const networkLists = new WeakMap<string[], NetworkList>();
  /** Refuses a caller whose user may only call from certain networks, from anywhere else (and says so once an hour). */
  function allowFrom(user: UserRecord, tokenId: string, req: IncomingMessage): void {
    const allow = user.allowIps;
    if (allow === undefined) return;
    let list = networkLists.get(allow);
    if (list === undefined) {
      try {
        list = new NetworkList(allow);
      } catch {
        // Written past the CLI's and the config's checks (by hand, or by an older keyward): refuse rather than let anyone in.
        throw new GatewayHttpError(403, 'permission_error', `user '${user.name}' has an address list the gateway cannot read; the gateway's operator must fix it with 'keyward users set ${user.name} --allow-ips …'`);
      }
      networkLists.set(allow, list);
    }
    const ip = clientIp(req);
    if (list.has(ip)) return;
    outsideNetwork(user, tokenId, ip ?? 'unknown');
    throw new GatewayHttpError(403, 'permission_error', `user '${user.name}' may not call the gateway from this address (${ip ?? 'unknown'})`);
  }

  /**
   * Refuses a call to an API outside the token's scopes, before anything is read, counted or
   * forwarded. A token scoped to the app route that calls a provider's API was most likely taken
   * from the app's bundle: one alert per token an hour.
   */
  function allowScope(caller: Caller, route: Route, req: IncomingMessage): void {
    const scope = scopeOf(route, req);
    if (caller.scopes!.includes(scope)) return;
    const allowed = caller.scopes!.map((s) => SCOPE_NAMES[s] ?? `'${s.slice(0, 20)}'`).join(', ') || 'nothing';
    alertOnce(`alert:scope:${caller.tokenId}`, 3_600_000, {
      kind: 'outside_scope',
      userId: caller.user.id,
      user: caller.user.name,
      message: `token ${caller.tokenId} of user '${caller.user.name}' was used to call ${SCOPE_NAMES[scope]}, outside its scopes (${allowed}), from ${(clientIp(req) ?? 'unknown').slice(0, 64)}; whoever holds it took it from where it was shipped: revoke it with 'keyward tokens revoke ${caller.tokenId}'`,
    });
    throw new GatewayHttpError(403, 'permission_error', `this gateway token may call only ${allowed}, not ${SCOPE_NAMES[scope]}; ask the gateway's operator for a token with that scope`);
  }

  /** A token used outside its networks has most likely leaked: one alert per user an hour, on every instance together. */
  function outsideNetwork(user: UserRecord, tokenId: string, ip: string): void {
    alertOnce(`alert:net:${user.id}`, 3_600_000, {
      kind: 'outside_network',
      userId: user.id,
      user: user.name,
      message:
        tokenId === 'jwt' || tokenId === 'app'
          ? `user '${user.name}' was called from ${ip.slice(0, 64)}, outside its allowed networks (signed in through ${tokenId === 'jwt' ? 'a JWT' : "the app's own auth"}); unless that is a new office or server, check who holds its credentials`
          : `user '${user.name}' was called from ${ip.slice(0, 64)}, outside its allowed networks, with token ${tokenId}; unless that is a new office or server, the token has leaked: revoke it with 'keyward tokens revoke ${tokenId}'`,
    });
  }

  /**
   * A hard budget refused a request: once a period (per user, per team, or for the gateway), on
   * every instance together. The global budget's alert matters most: every budgeted request stops with it.
   */
  function budgetReached(role: 'user-budget' | 'team-budget' | 'global-budget', user: UserRecord, check: CounterCheck, refusal: string): void {
    alertOnce(`alert:${check.key}`, check.windowMs, {
      kind: 'budget_reached',
      ...(role === 'user-budget' ? { userId: user.id, user: user.name } : {}),
      message:
        role === 'global-budget'
          ? `the gateway's global budget refuses requests now (${refusal}); raise globalBudget in the config if that is not what should happen`
          : role === 'team-budget'
            ? `team '${teamOfKey(check.key)}' has reached its hard budget and its members' requests are refused (${refusal}); raise teams.${teamOfKey(check.key)}.budgetUsd in the config if that is not what should happen`
            : `user '${user.name}' has reached its hard budget and its requests are refused (${refusal}); raise it with 'keyward users set ${user.name} --budget-usd …' if that is not what should happen`,
    });
  }

  /** Sends an alert unless one went out under `key` within `ttlMs`, on any instance sharing the store. */
  function alertOnce(key: string, ttlMs: number, alert: Alert): void {
    const failed = (err: unknown) => log.error({ err, alert: alert.kind }, 'checking whether an alert was already sent failed');
    try {
      const r = counters.once(key, ttlMs);
      if (r === true) alerter.send(alert);
      else if (r instanceof Promise) r.then((first) => first && alerter.send(alert), failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * A request that carries a secret: refused (`block`), or its body with each secret redacted
   * (`redact`). Logged by kind and redacted form, and an alert once per user an hour: a secret that
   * reached the gateway's client has most likely leaked further, whatever happens here.
   */
  function secretInPrompt(caller: Caller, route: Route, reqId: string, body: string, found: SecretMatch[], json = true): string {
    const user = caller.user;
    const what = describeSecrets(found);
    const clean = promptSecrets === 'redact' ? redactBody(body, found, json) : undefined;
    const action = clean === undefined ? 'refused' : 'redacted';
    metrics.promptSecret(action);
    log.warn({ reqId, user: user.name, route: route.kind, secrets: found.map((m) => ({ rule: m.ruleId, redacted: m.redacted })), action }, 'secret in a request to an AI provider');
    alertOnce(`alert:prompt:${user.id}`, 3_600_000, {
      kind: 'secret_in_prompt',
      userId: user.id,
      user: user.name,
      message: `user '${user.name}' sent ${what} in a request to an AI provider (${clean === undefined ? 'refused' : `sent with the secret${found.length > 1 ? 's' : ''} redacted`}); rotate it if it is real${found[0]!.revokeUrl ? `: ${found[0]!.revokeUrl}` : ''}`,
    });
    if (clean === undefined) {
      throw new GatewayHttpError(
        400,
        'secret_in_prompt',
        promptSecrets === 'redact'
          ? `the request carries ${what} that the gateway cannot redact in place; take it out and send the request again`
          : `the request carries ${what}; the gateway does not send secrets to AI providers: take it out and send the request again`,
      );
    }
    return clean;
  }

  const makeCache = (o: CacheOptions | undefined): AnswerCache | undefined => {
    if (o === undefined) return undefined;
    if (!o.shared) return new ResponseCache(o);
    let logged = 0;
    // Logged at most once a minute: a Redis that is away would otherwise log every request.
    const values = (counters as Counters).sharedValues?.((err) => {
      if (Date.now() - logged < 60_000) return;
      logged = Date.now();
      log.warn({ err }, 'the shared response cache in Redis failed; requests go to the provider meanwhile');
    });
    if (values === undefined) throw new KeywardError('KW_BAD_CONFIG', 'cache.shared keeps answers where every instance reads them, and these counters share nothing', { hint: 'give the gateway Redis counters (keyward gateway --redis), or take "shared" out of "cache"' });
    return new SharedResponseCache(values, o);
  };

  /**
   * Takes a policy: every field of RELOADABLE as given, a field left out at its default. Checks what
   * can fail (the app route's provider, a shared cache's store) before changing anything.
   */
  function applyPolicy(p: ReloadablePolicy): void {
    const chat = checkedChat(p.chat);
    const nextCache = JSON.stringify(p.cache) !== JSON.stringify(cacheOptions) ? makeCache(p.cache) : cache;
    chatPolicy = chat;
    globalModels = p.models ? new Set(p.models) : undefined;
    defaultMaxTokens = p.defaultMaxTokens ?? 4096;
    prices = new Prices(p.prices, p.fallbackPrice);
    ipLimits = p.ipLimits;
    cors = p.corsOrigins ? new Set(p.corsOrigins) : undefined;
    maxBody = p.maxBodyBytes ?? 1024 * 1024;
    maxUpload = p.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
    maxFile = p.maxFileBytes ?? DEFAULT_MAX_FILE;
    maxBuffered = p.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    if (maxBuffered < Math.max(maxFile, maxUpload)) log.warn({ maxBufferedBytes: maxBuffered, maxFileBytes: maxFile, maxUploadBytes: maxUpload }, 'maxBufferedBytes is below the largest file or upload the gateway accepts: such a file is refused (413) even when nothing else is held; raise maxBufferedBytes or lower maxFileBytes');
    promptSecrets = p.promptSecrets ?? 'off';
    promptEngine = p.promptSecretRules ? engineWith(p.promptSecretRules) : undefined;
    sharedObjects = new Set(p.sharedObjects ?? []);
    fallbacks = new Map(Object.entries(p.fallbacks ?? {}));
    aliases = new Map(Object.entries(p.aliases ?? {}));
    realtime = p.realtime;
    teams = new Map(Object.entries(p.teams ?? {}));
    cache = nextCache;
    cacheOptions = p.cache;
  }
  applyPolicy(options);

  /**
   * Why the user may not call a model, or undefined: the gateway's list, the user's and the user's
   * team's must each name it, or the alias the client called it by.
   */
  function modelRefusal(user: UserRecord, model: string, alias?: string): string | undefined {
    const named = (alias ?? model).slice(0, 80);
    if (globalModels && !globalModels.has(model) && (alias === undefined || !globalModels.has(alias))) return `model '${named}' is not enabled on this gateway`;
    if (user.models && !user.models.includes(model) && (alias === undefined || !user.models.includes(alias))) return `model '${named}' is not allowed for this user`;
    const team = user.team !== undefined ? teams.get(user.team)?.models : undefined;
    if (team && !team.includes(model) && (alias === undefined || !team.includes(alias))) return `model '${named}' is not allowed for team '${user.team}'`;
    return undefined;
  }

  function mayCall(user: UserRecord, model: string, alias?: string): boolean {
    return modelRefusal(user, model, alias) === undefined;
  }

  /** True when a budget counts the user's spend: their own, their team's, or the gateway's. */
  function budgetCounts(user: UserRecord): boolean {
    return user.budgetUsd !== undefined || options.globalBudget !== undefined || (user.team !== undefined && teams.get(user.team)?.budgetUsd !== undefined);
  }

  function allowModel(user: UserRecord, model: string, alias?: string): void {
    const why = modelRefusal(user, model, alias);
    if (why !== undefined) throw new GatewayHttpError(403, 'model_not_allowed', why);
  }

  const NOT_COUNTED: Admission = {};
  const STALE: Admission = { stale: true };

  /** Sync when the store is (memory): no promise or microtask per request on the default store. */
  function admit(p: Plan, caller: Caller): Admission | Promise<Admission> {
    const nothingToCount = p.checks.length === 0;
    if (nothingToCount && (counters as Counters).checksDirectory !== true) return NOT_COUNTED;
    let r: AdmitResult | Promise<AdmitResult>;
    try {
      r = counters.admit(p.checks, caller.dirVersion);
    } catch (err) {
      return nothingToCount ? NOT_COUNTED : storeDown(p, err);
    }
    if (typeof (r as PromiseLike<AdmitResult>).then === 'function') {
      return Promise.resolve(r).then(
        (x) => (x.stale ? STALE : nothingToCount ? NOT_COUNTED : admitted(p, caller.user, x)),
        // Nothing was to be counted: only the directory check failed, and the copy decides alone (as documented).
        (err: unknown) => (nothingToCount ? NOT_COUNTED : storeDown(p, err)),
      );
    }
    return admitted(p, caller.user, r as AdmitResult);
  }

  /**
   * Plans and admits the flight's caller. With a shared directory (Redis), the admission script counts
   * nothing when the directory moved since the caller was authenticated (a token revoked, a user
   * disabled or re-enabled, a limit changed on another machine, whose message may not have arrived);
   * the caller is then judged again on the caught-up copy and planned again, so the change applies to
   * this very request.
   */
  function admitFlight(f: Flight, req: IncomingMessage, reserveTokens: number, reserveUsd: number, spends = true): Admission | Promise<Admission> {
    const first = f.caller.user;
    const makePlan = (u: UserRecord): Plan => {
      // Judged again on a caught-up copy: the model and the address must still be allowed to whoever the caller now is.
      if (u !== first) {
        allowModel(u, f.model, f.alias);
        allowFrom(u, f.caller.tokenId, req);
      }
      return plan(u, clientIp(req), ipLimits, options.globalBudget, reserveTokens, reserveUsd, Date.now(), f.reqId, teams, spends);
    };
    const p = makePlan(first);
    f.plan = p;
    const a = admit(p, f.caller);
    if (!(a instanceof Promise)) return a;
    return a.then(async (first) => {
      let r = first;
      for (let i = 0; r.stale; i++) {
        const again = i < 3 ? reauthenticate(f.caller, req) : f.caller;
        f.caller = again instanceof Promise ? await again : again;
        // After three moves in a row, count without the check rather than never.
        f.caller.dirVersion = i < 3 ? dir.currentVersion : undefined;
        const q = makePlan(f.caller.user);
        f.plan = q;
        const b = admit(q, f.caller);
        r = b instanceof Promise ? await b : b;
      }
      return r;
    });
  }

  function reauthenticate(caller: Caller, req: IncomingMessage): Caller | Promise<Caller> {
    if (caller.tokenId === 'app') return appUser(caller.user.id);
    return auth.authenticate(req.headers);
  }

  function storeDown(p: Plan, err: unknown): Admission {
    metrics.storeFailure('admit');
    log.error({ err }, 'counter store unavailable');
    if (budgetChecked(p) || !limitsOpen) {
      throw new GatewayHttpError(503, 'store_unavailable', budgetChecked(p) ? 'budgets cannot be checked right now (the usage store is unreachable), so the request is refused; retry shortly' : 'rate limits cannot be checked right now (the usage store is unreachable); retry shortly', { 'retry-after': '2' });
    }
    return NOT_COUNTED;
  }

  function admitted(p: Plan, user: UserRecord, r: AdmitResult): Admission {
    const headers: Record<string, string> = {};
    if (p.rpm >= 0) headers['x-ratelimit-limit-requests'] = String(p.checks[p.rpm]!.limit);
    if (p.tpm >= 0) headers['x-ratelimit-limit-tokens'] = String(p.checks[p.tpm]!.limit);
    if (!r.ok) {
      anomaly?.refused(user);
      const role = p.roles[r.failed]!;
      const retryS = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      const m = refusalMessage(role, p.checks[r.failed]!, retryS);
      if (role === 'user-budget' || role === 'team-budget' || role === 'global-budget') budgetReached(role, user, p.checks[r.failed]!, m.message);
      headers['retry-after'] = String(retryS);
      if (role === 'user-rpm') {
        headers['x-ratelimit-remaining-requests'] = '0';
        headers['x-ratelimit-reset-requests'] = `${retryS}s`;
      }
      if (role === 'user-tpm') {
        headers['x-ratelimit-remaining-tokens'] = '0';
        headers['x-ratelimit-reset-tokens'] = `${retryS}s`;
      }
      throw new GatewayHttpError(m.status, m.type, m.message, headers);
    }
    if (p.rpm >= 0) headers['x-ratelimit-remaining-requests'] = String(r.remaining[p.rpm]);
    if (p.tpm >= 0) headers['x-ratelimit-remaining-tokens'] = String(r.remaining[p.tpm]);
    return { admitted: r, headers };
  }

  /**
   * Settles a forwarded request: the store, the ledger, the log line, the metrics. `last` is false
   * when an error answer follows, which is counted where it is sent.
   */
  function finish(f: Flight, usage: Usage, outcome: string, billed: boolean, last = true): void {
    if (f.settled) return;
    f.settled = true;
    const costUsd = billed ? (f.flatUsd ?? prices.usageCost(f.model, f.searchesRun !== undefined && usage.searches === undefined ? { ...usage, searches: f.searchesRun } : usage, f.searchPreview) + containersCost(f, usage) + (usage.imageCalls ?? 0) * (f.imageUsd ?? 0)) : 0;
    const tokensIn = billed ? usage.tokensIn : 0;
    const tokensOut = billed ? usage.tokensOut : 0;
    const user = f.caller.user;
    if (f.plan && f.admitted) {
      try {
        const s = settle(counters, f.plan, f.admitted.now, f.outsideTpm ? f.plan.reservedTokens : tokensIn + tokensOut, costUsd);
        if (s)
          s.catch((err: unknown) => {
            metrics.storeFailure('settle');
            log.error({ err, reqId: f.reqId }, 'settling usage failed; queued until the store is back');
          });
      } catch (err) {
        metrics.storeFailure('settle');
        log.error({ err, reqId: f.reqId }, 'settling usage failed');
      }
      softAlerts(user, f.plan, f.admitted, f.plan.reservedNano, costUsd);
    }
    if (anomaly && billed) anomaly.spent(user, costUsd);
    const latencyMs = sinceMs(f.start);
    record(f, f.reqId, f.model, tokensIn, tokensOut, costUsd, latencyMs, f.status, outcome);
    metrics.took(f.route.kind, f.upstream, latencyMs / 1000);
    if (last) metrics.request(f.route.kind, f.upstream, f.status, outcome);
    if (billed) metrics.usage(f.upstream, f.model, tokensIn, tokensOut, costUsd);
  }

  /** The dearer tier a request asks for: OpenAI's priority processing, Anthropic's fast mode. */
  function requestedTier(upstream: Upstream, parsed: unknown): ServiceTier | undefined {
    const o = parsed as { service_tier?: unknown; speed?: unknown } | null;
    if (upstream === upstreams.openai) return o?.service_tier === 'priority' ? 'priority' : undefined;
    if (upstream === upstreams.anthropic) return o?.speed === 'fast' ? 'fast' : undefined;
    return undefined;
  }

  /** The code interpreter containers an answer used that were not billed before, at the tier the request asked for. */
  function containersCost(f: Flight, usage: Usage): number {
    if (usage.containers === undefined) return 0;
    return billedContainers.fresh(usage.containers) * (f.containerUsd ?? CONTAINER_USD['1g']!);
  }

  /** The ledger row and the log line of one billed thing: a request, or a response of a relayed session (under its own id). */
  function record(f: Flight, id: string, model: string, tokensIn: number, tokensOut: number, costUsd: number, latencyMs: number, status: number, outcome: string): void {
    const user = f.caller.user;
    writer.push({ ts: Date.now(), requestId: id, userId: user.id, tokenId: f.caller.tokenId, provider: f.upstream, route: f.route.kind, model, tokensIn, tokensOut, costUsd, latencyMs, status, outcome, tag: f.tag, team: user.team });
    access({ reqId: id, user: user.name, route: f.route.kind, model, status, outcome, tokensIn, tokensOut, costUsd, ms: latencyMs, tag: f.tag });
  }

  /**
   * The soft budgets (the user's and the team's) after a request or a session's response: the
   * admission's view, less what the request (or the session) held there, plus what it spent.
   */
  function softAlerts(user: UserRecord, p: Plan, a: AdmitResult | undefined, heldNano: number, spentUsd: number): void {
    if (!a) return;
    if (user.softBudgetUsd !== undefined) {
      const spent = spendAfter(p, a, spentUsd, p.userBudget, heldNano);
      if (spent !== undefined && spent >= user.softBudgetUsd) softAlert(user, spent);
    }
    const soft = p.teamBudget >= 0 ? teams.get(user.team!)?.softBudgetUsd : undefined;
    if (soft !== undefined) {
      const spent = spendAfter(p, a, spentUsd, p.teamBudget, heldNano);
      if (spent !== undefined && spent >= soft) teamSoftAlert(user.team!, soft, spent);
    }
  }

  function teamSoftAlert(team: string, soft: number, spent: number): void {
    const per = period(teams.get(team)?.period ?? 'month');
    alertOnce(`alert:soft-team:${team}:${per.key}`, per.remainingMs + 3_600_000, {
      kind: 'soft_budget',
      message: `team '${team}' has spent $${spent.toFixed(4)}, past its soft budget of $${soft} for ${per.key.slice(1)}`,
    });
  }

  function softAlert(user: UserRecord, spent: number): void {
    const per = period(user.period ?? 'month');
    alertOnce(`alert:soft:${user.id}:${per.key}`, per.remainingMs + 3_600_000, {
      kind: 'soft_budget',
      userId: user.id,
      user: user.name,
      message: `user '${user.name}' has spent $${spent.toFixed(4)}, past the soft budget of $${user.softBudgetUsd} for ${per.key.slice(1)}`,
    });
  }

  /**
   * Passes a successful upstream answer on, metering usage, then settles. SSE streams go through chunk by
   * chunk as they arrive; a JSON answer is small, so it is sent in one write with its length (and parsed
   * for usage), unless it grows past MAX_JSON_CAPTURE, when it is streamed too.
   */
  function relay(f: Flight, up: UpstreamAnswer, res: ServerResponse, shaped: ShapedRequest, extra: Record<string, string> | undefined, gone: () => boolean, via: Via, retry?: (err: Error) => boolean): void {
    const ct = String(up.headers['content-type'] ?? JSON_TYPE);
    const streaming = ct.startsWith('text/event-stream');
    const h = headersWith(extra);
    h['content-type'] = ct;
    h['x-request-id'] = f.reqId;
    f.status = up.statusCode;
    const body = up.body;
    // The image tool's images are counted as they are made: the final event, which lists them, may be too large to keep.
    const meter = streaming ? new StreamMeter(f.provider, shaped.imageTool ? 'response.image_generation_call.completed' : undefined) : undefined;
    const filter = streaming && shaped.injectedUsage ? new UsageEventFilter() : undefined;
    // A file (speech audio, a text transcript) goes through as it comes, so that a player can start on
    // the first bytes; a speech file is also kept (up to MAX_JSON_CAPTURE) to measure how long it plays.
    const file = !streaming && !ct.includes('json');
    let captured: Buffer[] | undefined = streaming || file ? undefined : [];
    let audio: Buffer[] | undefined = file && shaped.audioOut !== undefined ? [] : undefined;
    let capturedBytes = 0;
    let done = false;
    if (streaming) h['x-accel-buffering'] = 'no';
    if (streaming || file) res.writeHead(up.statusCode, h);
    const known = { tokensIn: shaped.promptTokens, tokensOut: 0 };
    /** A stored response's id, from its stream's first event. */
    let responseId: string | undefined;
    const complete = (outcome: string) => {
      if (done) return;
      done = true;
      const unreported = shaped.outputIfUnreported;
      if (meter) {
        meter.end();
        // A background stream left before its end runs on at OpenAI: followed until it has finished.
        if (shaped.background && responseId !== undefined && !meter.reported) return stored.follow(responseId, f, shaped.maxTokens, via);
        if (!meter.reported && shaped.knownCost) finish(f, known, outcome, true);
        else finish(f, meter.reported || unreported === undefined ? meter.usage(shaped.promptTokens) : { tokensIn: shaped.promptTokens, tokensOut: unreported }, meter.reported ? outcome : outcome === 'ok' ? 'ok_estimated' : outcome, true);
        return;
      }
      let usage: Usage | undefined;
      if (captured !== undefined && captured.length > 0) usage = usageOfAnswer(f.provider, captured.length === 1 ? captured[0]! : Buffer.concat(captured));
      if (usage === undefined && shaped.knownCost) {
        finish(f, known, outcome, true);
        return;
      }
      if (usage === undefined && audio !== undefined && outcome === 'ok') {
        // Billed by how long the speech plays; what was reserved when that cannot be read.
        void spokenTokens(Buffer.concat(audio), shaped.audioOut!, ct)
          .catch(() => undefined)
          .then((spoken) => finish(f, { tokensIn: shaped.promptTokens, tokensOut: spoken ?? shaped.maxTokens }, 'ok_estimated', true));
        return;
      }
      // An embedding has no output to bill, however large the vectors.
      finish(f, usage ?? { tokensIn: shaped.promptTokens, tokensOut: unreported ?? (shaped.maxTokens === 0 ? 0 : Math.max(1, Math.ceil(capturedBytes / 4))) }, usage || shaped.free ? outcome : `${outcome}_estimated`, true);
    };
    const write = (chunk: Buffer) => writeOrWait(res, body, chunk);
    body.pipe({
      data(chunk) {
        capturedBytes += chunk.length;
        if (meter) {
          if (responseId === undefined && f.route.kind === 'responses') {
            responseId = RESPONSE_ID_IN_ANSWER.exec(chunk.toString('latin1'))?.[1];
            if (responseId !== undefined) stored.note(responseId, f, via, shaped.background === true);
          }
          meter.push(chunk);
          if (filter === undefined) write(chunk);
          else {
            const out = filter.push(chunk);
            if (out.length > 0) write(out);
          }
        } else if (audio !== undefined) {
          if (capturedBytes <= MAX_JSON_CAPTURE) audio.push(chunk);
          else audio = undefined;
          write(chunk);
        } else if (captured !== undefined) {
          captured.push(chunk);
          if (capturedBytes > MAX_JSON_CAPTURE) {
            // Too large to hold: stream the rest, estimate usage.
            res.writeHead(up.statusCode, h);
            for (const c of captured) write(c);
            captured = undefined;
          }
        } else write(chunk);
      },
      end() {
        if (captured !== undefined) {
          const buf = captured.length === 1 ? captured[0]! : Buffer.concat(captured);
          captured = [buf];
          const rendered = shaped.renderAs !== undefined ? renderTranscript(buf, shaped.renderAs) : undefined;
          const out = rendered !== undefined ? Buffer.from(rendered) : buf;
          if (rendered !== undefined) h['content-type'] = 'text/plain; charset=utf-8';
          h['content-length'] = String(out.length);
          res.writeHead(up.statusCode, h);
          res.end(out);
          if (f.cacheKey !== undefined && up.statusCode === 200) cache!.set(f.cacheKey, buf);
          if (f.route.kind === 'responses' && up.statusCode < 300) {
            if (shaped.background && stored.startedInBackground(buf, f, shaped.maxTokens, via)) {
              done = true;
              return;
            }
            const id = shaped.background ? undefined : RESPONSE_ID_IN_ANSWER.exec(buf.toString('latin1', 0, 1024))?.[1];
            if (id !== undefined) stored.note(id, f, via, false);
          }
        } else if (filter !== undefined) res.end(filter.end());
        else res.end();
        complete('ok');
      },
      error(err) {
        if (gone()) {
          complete('client_disconnect');
          return;
        }
        // Nothing has reached the client yet (a JSON answer is sent whole): try again, on the next key.
        if (!res.headersSent && retry?.(err)) {
          done = true;
          return;
        }
        log.warn({ reqId: f.reqId, err }, 'upstream failed mid-response');
        if (streaming && !res.writableEnded) {
          const msg = `the upstream connection failed mid-stream (${err.code ?? 'error'})`;
          res.end(f.provider.name === 'anthropic' ? `event: error\ndata: ${f.provider.errorBody(502, 'api_error', msg)}\n\n` : `data: ${f.provider.errorBody(502, 'upstream_error', msg)}\n\n`);
        } else if (!res.headersSent) {
          f.status = 502;
          sendError(res, f.provider, new GatewayHttpError(502, 'upstream_error', `the upstream connection failed mid-answer (${err.code ?? 'error'})`), f.reqId, extra);
        } else res.destroy();
        complete('upstream_reset');
      },
    });
    res.on('close', () => {
      if (!done && gone()) {
        body.destroy();
        complete('client_disconnect');
      }
    });
  }

  async function forwardError(f: Flight, up: UpstreamAnswer, res: ServerResponse, extra: Record<string, string> | undefined): Promise<void> {
    let text = scrub(await up.body.text(MAX_ERROR_BODY, 'truncate'));
    if (!text.trim().startsWith('{')) text = f.provider.errorBody(up.statusCode, 'upstream_error', `${f.upstream} answered ${up.statusCode}: ${text.slice(0, 500)}`);
    const h = headersWith(extra);
    h['content-type'] = JSON_TYPE;
    h['x-request-id'] = f.reqId;
    const ra = up.headers['retry-after'];
    if (typeof ra === 'string') h['retry-after'] = ra;
    f.status = up.statusCode;
    res.writeHead(up.statusCode, h);
    res.end(text);
    log.warn({ reqId: f.reqId, status: up.statusCode, body: text.slice(0, 2000) }, 'upstream error');
    finish(f, { tokensIn: 0, tokensOut: 0 }, 'upstream_error', false);
  }

  /** `objectsKey`: the label of the key that made the stored objects the request names (checkObjects'), which it must go with. */
  async function handleApi(req: IncomingMessage, res: ServerResponse, route: Route, reqId: string, start: number, caller: Caller, parsed: unknown, raw: Buffer, cors: Record<string, string> | undefined, objectsKey?: string): Promise<void> {
    const user = caller.user;
    const upload = parsed instanceof Upload ? parsed : undefined;
    // An alias goes out as its model: the body is rewritten before anything else reads it.
    const named = aliases.size === 0 || route.provider === gemini ? undefined : upload ? upload.field('model') : typeof parsed === 'object' && parsed !== null ? (parsed as { model?: unknown }).model : undefined;
    const aliasOf = typeof named === 'string' ? aliases.get(named) : undefined;
    const alias = aliasOf !== undefined ? (named as string) : undefined;
    if (aliasOf !== undefined) {
      if (upload) await upload.set('model', aliasOf);
      else {
        parsed = { ...(parsed as Record<string, unknown>), model: aliasOf };
        raw = Buffer.from(JSON.stringify(parsed));
      }
    }
    let shaped = upload ? await shapeUploadFor(route, upload) : shapeRequest(route, parsed, raw, defaultMaxTokens, realtime);
    allowModel(user, shaped.model, alias);
    anomaly?.request(user, clientIp(req));
    // A background response is followed at OpenAI until it has finished: it goes nowhere else.
    const chain = shaped.background ? [] : fallbackChain(route, shaped.model, user);
    let upstream = upstreamFor(route, shaped.model);
    if (shaped.background && upstream !== upstreams.openai) throw badRequest(`background responses are OpenAI's: '${shaped.model}' is served by ${upstream.provider.name}, which runs none; call it without background`);
    // A stored response is its user's alone: tagged with whose it is, and a previous one continued by its user only (checked once admitted).
    let previous: unknown;
    let conversation: string | undefined;
    if (route.kind === 'responses' && upstream === upstreams.openai && !upload) {
      const o = parsed as Record<string, unknown>;
      conversation = conversationIdOf(o.conversation);
      previous = o.previous_response_id ?? undefined;
      if (o.store !== false) shaped = { ...shaped, body: tagOwner(shaped.body, o, user.id) };
    }
    // Which user the request is for, as a hash the provider can block alone if it sees abuse, rather than the key every user shares.
    if (endUserIds && !upload) {
      const to = route.kind === 'messages' && upstream === upstreams.anthropic ? 'anthropic' : (route.kind === 'chat' || route.kind === 'responses') && upstream === upstreams.openai ? 'openai' : undefined;
      if (to !== undefined) shaped = { ...shaped, body: withEndUser(shaped.body, parsed as Record<string, unknown>, to, endUserId(user.id)) };
    }
    const f: Flight = { reqId, start, caller, route, provider: route.provider, upstream: upstream.provider.name, model: shaped.model, alias, promptTokens: shaped.promptTokens, status: 0, settled: false, tag: tagOf(req), flatUsd: shaped.flatUsd };
    if (shaped.searchesRun) f.searchesRun = shaped.searches;
    if (shaped.searchPreview) f.searchPreview = true;
    if (shaped.containerUsd !== undefined) f.containerUsd = shaped.containerUsd;
    if (shaped.imageTool !== undefined) f.imageUsd = prices.cost(shaped.imageTool.model, 0, shaped.imageTool.tokensPerImage);
    const budgeted = budgetCounts(user);
    // A request with no output cap is reserved for defaultMaxTokens, but a model may write far more (a
    // reasoning model, up to its own maximum): where a budget or a tokens-per-minute limit counts it, it
    // is sent with that cap, so that its reservation is its worst case and the limit holds.
    if (shaped.uncapped !== undefined && (budgeted || user.tpm !== undefined || (user.team !== undefined && teams.get(user.team)?.tpm !== undefined))) {
      shaped = { ...shaped, body: withOutputCap(shaped.body, parsed as Record<string, unknown>, shaped.uncapped, upstream === upstreams.openai, defaultMaxTokens) };
    }
    // Reserved for the dearest model the request may end on, so that a fallback cannot overshoot a budget.
    if (budgeted && shaped.flatUsd === undefined && !prices.known(shaped.model)) unpricedModel(shaped.model);
    // Asked for a dearer tier (OpenAI's priority processing, Anthropic's fast mode): reserved at its rates (the answer says which tier it was billed in).
    const tier = upload ? undefined : requestedTier(upstream, parsed);
    const worst = (m: string) => prices.cost(m, shaped.promptTokens, shaped.maxTokens, shaped.imageTokens) * (tier ? prices.tierFactor(m, tier) : 1) + prices.toolCost(m, shaped, shaped.searchPreview) + (shaped.spoken ? prices.spokenExtra(m, shaped.maxTokens) : 0) + prices.drawnExtra(m, shaped.maxTokens) + (shaped.containerUsd ?? 0) + (shaped.imageTool ? shaped.imageTool.images * (f.imageUsd ?? 0) : 0);
    let reserveUsd = shaped.flatUsd ?? worst(shaped.model);
    for (const m of chain) {
      if (budgeted && !prices.known(m)) unpricedModel(m);
      reserveUsd = Math.max(reserveUsd, worst(m));
    }
    // A cached answer costs nothing: it is admitted (and counted against the request limits) with nothing reserved.
    const use = cache !== undefined && !shaped.stream && !shaped.free && !NOT_CACHED.has(route.kind) ? cacheUse(req.headers['cache-control']) : undefined;
    const cacheKey = use ? cache!.key(user.id, upstream.provider.name + route.upstreamPath, shaped.body) : undefined;
    const got = use?.read ? cache!.get(cacheKey!) : undefined;
    const hit = got instanceof Promise ? await got : got;
    const a = hit ? admitFlight(f, req, 0, 0) : admitFlight(f, req, shaped.promptTokens + shaped.maxTokens, reserveUsd);
    const { admitted, headers } = a instanceof Promise ? await a : a;
    f.admitted = admitted;
    let extra = headers || cors ? Object.assign({}, headers, cors) : undefined;
    // After admission, so that a client cannot have OpenAI asked about response after response unlimited.
    /** The key whose project holds what the request continues (a stored response, a conversation): the one it must go with. */
    let pinned: PoolKey | undefined;
    if (previous !== undefined || conversation !== undefined) {
      try {
        const before = previous !== undefined ? await stored.allowPrevious(caller, previous) : undefined;
        const conv = conversation !== undefined ? await taggedObjectOwner(objectRoutes(req, undefined), CONVERSATIONS, conversation, new Cancel()) : undefined;
        if (conversation !== undefined && conv?.user !== caller.user.id) {
          throw badRequest(`Conversation with id '${conversation}' not found among this user's conversations (made through the gateway).`);
        }
        const label = (before ?? conv)?.key;
        pinned = upstreams.openai.pool.byLabel(label);
        if (label !== undefined && pinned === undefined) throw new GatewayHttpError(502, 'upstream_error', `what this request continues was made with a provider key this gateway does not hold (${label}); give every instance the same keys`);
      } catch (err) {
        f.status = err instanceof GatewayHttpError ? err.status : 502;
        finish(f, { tokensIn: 0, tokensOut: 0 }, 'refused', false, false);
        throw err;
      }
    }
    // A file or cache the caller made is kept in the project of the key that made it: only that key reaches it.
    pinned ??= upstream.pool.byLabel(objectsKey);
    if (hit) {
      const h = headersWith(extra);
      h['content-type'] = JSON_TYPE;
      h['content-length'] = String(hit.length);
      h['x-request-id'] = reqId;
      h['x-keyward-cache'] = 'hit';
      f.status = 200;
      res.writeHead(200, h);
      res.end(hit);
      finish(f, { tokensIn: 0, tokensOut: 0 }, 'cache_hit', false);
      return;
    }
    if (use) {
      if (use.write) f.cacheKey = cacheKey;
      extra = Object.assign({}, extra, { 'x-keyward-cache': !use.write ? 'bypass' : use.read ? 'miss' : 'refresh' });
    }
    const ac = new Cancel();
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        ac.abort();
      }
    });
    // A built-in provider serving OpenAI's API (Gemini, Anthropic) serves it under a path of its own, with Bearer auth.
    const viaCompat = (u: Upstream) => route.provider === openai && u.provider.openaiCompat !== undefined;
    const pathOn = (u: Upstream) => (viaCompat(u) ? u.provider.openaiCompat!.path : '') + route.upstreamPath;
    let upPath = pathOn(upstream);
    const fwd: Record<string, string> = { 'content-type': shaped.contentType ?? 'application/json', accept: shaped.accept ?? (shaped.stream ? 'text/event-stream' : 'application/json') };
    if (route.provider === anthropic) {
      const v = req.headers['anthropic-version'];
      fwd['anthropic-version'] = typeof v === 'string' ? v : ANTHROPIC_VERSION;
      const beta = req.headers['anthropic-beta'];
      if (typeof beta === 'string') fwd['anthropic-beta'] = beta;
    }
    let next = 0;
    /** Moves the request to the next model of its chain: the same body with another `model`, wherever that model is served. */
    const fallBack = (why: string): void => {
      const to = chain[next++]!;
      log.warn({ reqId, from: f.model, to, why }, 'the upstream failed; falling back to the next model');
      const body = JSON.parse(shaped.body.toString('utf8')) as Record<string, unknown>;
      body.model = to;
      shaped = { ...shaped, model: to, body: Buffer.from(JSON.stringify(body)) };
      extra = Object.assign({}, extra, { 'x-keyward-fallback-from': f.model });
      f.model = to;
      f.alias = undefined;
      // Another model's answer is not the answer to the request as sent.
      f.cacheKey = undefined;
      upstream = upstreamFor(route, to);
      metrics.fallback(f.upstream, upstream.provider.name);
      f.upstream = upstream.provider.name;
      upPath = pathOn(upstream);
    };
    const attempt = async (used: number): Promise<void> => {
      let sent;
      try {
        sent = await upstream.send(upPath, 'POST', fwd, shaped.body, ac, used, viaCompat(upstream), pinned !== undefined && upstream.pool.keys.includes(pinned) ? pinned : undefined);
      } catch (err) {
        if (clientGone) {
          // The client left before the upstream answered: the provider may already have read the prompt, so bill that.
          finish(f, { tokensIn: shaped.promptTokens, tokensOut: 0 }, 'client_disconnect', true);
          return;
        }
        if (err instanceof GatewayHttpError && err.status >= 500 && next < chain.length) {
          fallBack(err.type);
          return attempt(0);
        }
        f.status = err instanceof GatewayHttpError ? err.status : 502;
        finish(f, { tokensIn: 0, tokensOut: 0 }, 'upstream_failed', false, false);
        throw err;
      }
      const status = sent.res.statusCode;
      if (status >= 400) {
        // The provider cannot serve it now (overloaded, down, its keys refused): another model may.
        if ((status === 429 || status >= 500 || status === 401 || status === 403) && next < chain.length && !clientGone) {
          await sent.res.body.dump();
          fallBack(`upstream answered ${status}`);
          return attempt(0);
        }
        return forwardError(f, sent.res, res, extra);
      }
      const { key, attempts } = sent;
      const on = upstream;
      relay(f, sent.res, res, shaped, extra, () => clientGone, { up: on, key }, (err) => {
        const wait = on.retryAfterBodyFailure(key, attempts);
        if (wait === undefined) return false;
        log.warn({ reqId: f.reqId, err, attempt: attempts + 1 }, 'upstream failed mid-answer, before anything reached the client; retrying');
        ac.sleep(wait)
          .then(() => attempt(attempts))
          .catch((e: unknown) => failLate(res, f, e, extra));
        return true;
      });
    };
    await attempt(0);
  }

  /** An error after the request handler has returned (a retry started from a response event). */
  function failLate(res: ServerResponse, f: Flight, err: unknown, extra: Record<string, string> | undefined): void {
    if ((err as { name?: string }).name === 'AbortError' || res.destroyed) {
      finish(f, { tokensIn: f.promptTokens, tokensOut: 0 }, 'client_disconnect', true);
      return;
    }
    const e = err instanceof GatewayHttpError ? err : new GatewayHttpError(502, 'upstream_error', 'the upstream failed');
    if (!(err instanceof GatewayHttpError)) log.error({ reqId: f.reqId, err }, 'retrying the upstream failed');
    metrics.request(f.route.kind, f.upstream, e.status, e.type);
    sendError(res, f.provider, e, f.reqId, extra);
  }

  /** A whole answer's text (the model list, the app route's answer); one too large or cut off is a clear 502. */
  async function answerText(up: UpstreamAnswer, provider: Provider<string>): Promise<string> {
    try {
      return await up.body.text(MAX_JSON_CAPTURE, 'fail');
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError') throw err;
      const code = (err as { code?: string }).code;
      throw new GatewayHttpError(
        502,
        'upstream_error',
        code === 'KW_TOO_LARGE' ? `${provider.name}'s answer is larger than the gateway accepts (${MAX_JSON_CAPTURE} bytes)` : `the upstream connection failed mid-answer (${code ?? 'error'})`,
      );
    }
  }

  /**
   * Who serves an API call: the provider of the API called, except for OpenAI's API, where a model of
   * a provider from the config goes to it, and a Gemini or Claude model goes to its provider's
   * OpenAI-compatible endpoint (Gemini: chat and embeddings; Anthropic: chat) when the gateway has a
   * key for it (without one it goes to OPENAI_BASE_URL, which may be a server that hosts it).
   */
  function upstreamFor(route: Route, model: string): Upstream {
    if (route.provider === openai) {
      for (const c of compatible) if (c.models.has(model)) return c.upstream;
      for (const up of compatUpstreams) {
        const compat = up.provider.openaiCompat!;
        if (model.startsWith(compat.modelPrefix) && (compat.kinds as readonly string[]).includes(route.kind) && up.pool.size > 0) return up;
      }
    }
    return upstreams[route.provider.name];
  }

  /**
   * Why this instance should get no traffic now, for a load balancer's readiness check (/readyz):
   * no provider has a key it may use (all cooling down after failures, or rejected), or the limits
   * store is unreachable while limits fail closed (every request would be refused).
   */
  function notReady(): string | undefined {
    if ((counters as Counters).reachable?.() === false && !limitsOpen) return 'the usage store (Redis) is unreachable';
    for (const up of byName.values()) {
      for (const k of up.pool.state()) if (k.state === 'closed' || k.state === 'half-open') return undefined;
    }
    return 'no provider key is usable: every key is cooling down after failures or was rejected';
  }

  const NO_FALLBACK: string[] = [];
  /** The models a request falls back to, in order: on OpenAI's chat and Anthropic's messages API, those the user may call. */
  function fallbackChain(route: Route, model: string, user: UserRecord): string[] {
    const chain = fallbacks.get(model);
    if (chain === undefined || (route.kind !== 'chat' && route.kind !== 'messages')) return NO_FALLBACK;
    return chain.filter((m) => m !== model && mayCall(user, m));
  }

  /**
   * Which provider's model list a caller of GET /v1/models wants, from the headers its SDK sends;
   * undefined for an OpenAI client of a gateway without an OpenAI key whose OpenAI-shaped models are
   * Gemini's, Anthropic's or the config's (the list is put together from those).
   */
  function modelsProvider(req: IncomingMessage, route: Route): Upstream | undefined {
    if (route.provider === gemini || req.headers['x-goog-api-key'] !== undefined) return upstreams.gemini;
    // The Anthropic SDK sends anthropic-version: list Anthropic's models to it, OpenAI's to everyone else.
    if (req.headers['anthropic-version'] !== undefined) return upstreams.anthropic.pool.size > 0 ? upstreams.anthropic : upstreams.openai;
    if (upstreams.openai.pool.size > 0) return upstreams.openai;
    return compatible.length > 0 || compatUpstreams.some((u) => u.pool.size > 0) ? undefined : upstreams.openai;
  }

  /** A provider's model list; `url` is the client's (Gemini's paging parameters are passed on). */
  async function upstreamModels(upstream: Upstream, url: string, ac: Cancel): Promise<ModelListAnswer> {
    const { path, headers } = modelListRequest(upstream.provider, url);
    const { res: up } = await upstream.send(path, 'GET', { accept: 'application/json', ...headers }, undefined, ac);
    const text = await answerText(up, upstream.provider);
    if (up.statusCode >= 400) {
      throw new GatewayHttpError(up.statusCode === 429 ? 429 : 502, 'upstream_error', `listing models failed upstream (${up.statusCode})`);
    }
    try {
      return JSON.parse(text) as ModelListAnswer;
    } catch {
      throw new GatewayHttpError(502, 'upstream_error', 'the upstream model list is not JSON');
    }
  }

  /**
   * A built-in provider's models an OpenAI client can call through the OpenAI routes (`gemini-*`,
   * `claude-*`), in OpenAI's shape; none when listing them fails (logged): the rest of the list is
   * still worth answering.
   */
  async function compatModelsForOpenAi(up: Upstream, ac: Cancel, reqId: string): Promise<ModelEntry[]> {
    const prefix = up.provider.openaiCompat!.modelPrefix;
    try {
      if (up.provider === gemini) {
        const list = await upstreamModels(up, '/v1beta/models?pageSize=1000', ac);
        const ids = (list.models ?? []).map((m) => (typeof m.name === 'string' ? geminiModelId(m.name) : '')).filter((id) => id.startsWith(prefix));
        return ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'google' }));
      }
      const list = await upstreamModels(up, '/v1/models?limit=1000', ac);
      const models = (list.data ?? []).filter((m) => typeof m.id === 'string' && m.id.startsWith(prefix));
      return models.map((m) => ({ id: m.id, object: 'model', created: Math.floor((Date.parse(String(m.created_at)) || 0) / 1000), owned_by: up.provider.name }));
    } catch (err) {
      log.warn({ reqId, err, provider: up.provider.name }, `listing ${up.provider.name}'s models failed; the model list leaves them out`);
      return [];
    }
  }

  async function handleModels(req: IncomingMessage, res: ServerResponse, route: Route, reqId: string, caller: Caller, cors: Record<string, string> | undefined): Promise<void> {
    const upstream = modelsProvider(req, route);
    const forOpenAi = upstream === undefined || upstream === upstreams.openai;
    const ac = new Cancel();
    res.on('close', () => !res.writableFinished && ac.abort());
    const [json, ...others] = await Promise.all([
      upstream ? upstreamModels(upstream, req.url ?? '', ac) : ({ object: 'list', data: [] } as ModelListAnswer),
      ...(forOpenAi ? compatUpstreams.filter((u) => u.pool.size > 0).map((u) => compatModelsForOpenAi(u, ac, reqId)) : []),
    ]);
    const user = caller.user;
    const allowed = (id: unknown) => typeof id === 'string' && mayCall(user, id);
    if (Array.isArray(json.data)) json.data = json.data.filter((m) => allowed(m.id));
    // Gemini lists `models/<id>`.
    if (upstream?.provider === gemini && Array.isArray(json.models)) json.models = json.models.filter((m) => typeof m.name === 'string' && allowed(geminiModelId(m.name)));
    // An OpenAI client sees Gemini's, Anthropic's and the config's providers' models too (those named exactly: a prefix names no model).
    if (forOpenAi) {
      const data = Array.isArray(json.data) ? json.data : (json.data = []);
      const listed = new Set(data.map((m) => m.id));
      for (const m of others.flat()) {
        if (listed.has(m.id) || !allowed(m.id)) continue;
        listed.add(m.id);
        data.push(m);
      }
      for (const c of compatible) {
        for (const id of c.models.ids) {
          if (listed.has(id) || !allowed(id)) continue;
          listed.add(id);
          data.push({ id, object: 'model', created: 0, owned_by: c.upstream.provider.name });
        }
      }
      for (const [alias, model] of aliases) {
        if (listed.has(alias) || !mayCall(user, model, alias)) continue;
        listed.add(alias);
        data.push({ id: alias, object: 'model', created: 0, owned_by: 'keyward' });
      }
    }
    const h = headersWith(cors);
    h['content-type'] = JSON_TYPE;
    h['x-request-id'] = reqId;
    res.writeHead(200, h);
    res.end(JSON.stringify(json));
    metrics.request('models', upstream?.provider.name ?? 'openai', 200, 'ok');
  }

  async function handleAppChat(req: IncomingMessage, res: ServerResponse, route: Route, reqId: string, start: number, caller: Caller, parsed: unknown, raw: Buffer, cors: Record<string, string> | undefined): Promise<void> {
    const user = caller.user;
    const chat = parseAppChat(parsed);
    const policy = chatPolicy;
    let model = policy.model;
    let alias: string | undefined;
    if (chat.model !== undefined && chat.model !== model) {
      const aliasOf = aliases.get(chat.model);
      if (aliasOf !== undefined) alias = chat.model;
      model = aliasOf ?? chat.model;
      allowModel(user, model, alias);
      // Naming a model here takes a list that names it: without one, the server's choice stands.
      const listed = (m: string) => user.models?.includes(m) === true || globalModels?.has(m) === true || (user.team !== undefined && teams.get(user.team)?.models?.includes(m) === true);
      if (!listed(model) && !(alias !== undefined && listed(alias))) throw new GatewayHttpError(403, 'model_not_allowed', `model '${chat.model.slice(0, 80)}' is not allowed here; omit 'model' to use the server's choice`);
    } else allowModel(user, model);
    anomaly?.request(user, clientIp(req));
    // Checked when the gateway was created.
    const upstream = byName.get(policy.provider)!;
    // A provider from the config speaks OpenAI's API (its provider object is OpenAI's, renamed).
    const provider = upstream.provider;
    const maxTokens = policy.maxTokens ?? 1024;
    const system = [policy.system, ...chat.messages.filter((m) => m.role === 'system').map((m) => m.content)].filter(Boolean).join('\n\n');
    const turns = chat.messages.filter((m) => m.role !== 'system');
    const upBody =
      provider === anthropic
        ? { model, max_tokens: maxTokens, messages: turns, ...(system ? { system } : {}) }
        : provider === gemini
          ? {
              contents: turns.map((t) => ({ role: t.role === 'assistant' ? 'model' : 'user', parts: [{ text: t.content }] })),
              generationConfig: { maxOutputTokens: maxTokens },
              ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
            }
          : { model, max_tokens: maxTokens, messages: system ? [{ role: 'system', content: system }, ...turns] : turns };
    const body = Buffer.from(JSON.stringify(upBody));
    const promptTokens = estimatePromptTokens(raw.length + (system ? system.length : 0));
    const f: Flight = { reqId, start, caller, route, provider: route.provider, upstream: provider.name, model, alias, promptTokens, status: 0, settled: false, tag: tagOf(req) };
    const a = admitFlight(f, req, promptTokens + maxTokens, prices.cost(model, promptTokens, maxTokens));
    const { admitted, headers } = a instanceof Promise ? await a : a;
    f.admitted = admitted;
    const ac = new Cancel();
    res.on('close', () => !res.writableFinished && ac.abort());
    const fwd: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (provider === anthropic) fwd['anthropic-version'] = ANTHROPIC_VERSION;
    let up: UpstreamAnswer;
    let text: string;
    try {
      const upPath = provider === anthropic ? '/v1/messages' : provider === gemini ? `/v1beta/models/${encodeURIComponent(model)}:generateContent` : '/chat/completions';
      up = (await upstream.send(upPath, 'POST', fwd, body, ac)).res;
      text = await answerText(up, provider);
    } catch (err) {
      f.status = err instanceof GatewayHttpError ? err.status : 502;
      finish(f, { tokensIn: 0, tokensOut: 0 }, ac.aborted ? 'client_disconnect' : 'upstream_failed', false, false);
      throw err;
    }
    f.status = up.statusCode;
    if (up.statusCode >= 400) {
      finish(f, { tokensIn: 0, tokensOut: 0 }, 'upstream_error', false, false);
      log.warn({ reqId, status: up.statusCode, body: scrub(text).slice(0, 2000) }, 'upstream error');
      throw new GatewayHttpError(up.statusCode === 429 ? 429 : 502, 'upstream_error', `the AI provider answered ${up.statusCode}: ${scrub(text).slice(0, 300)}`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      finish(f, { tokensIn: promptTokens, tokensOut: Math.max(1, Math.ceil(text.length / 4)) }, 'ok_estimated', true, false);
      throw new GatewayHttpError(502, 'upstream_error', 'the AI provider answered with something that is not JSON');
    }
    const usage = provider.usageFromJson(json) ?? { tokensIn: promptTokens, tokensOut: Math.max(1, Math.ceil(text.length / 4)) };
    const answer =
      provider === anthropic
        ? ((json.content as Array<{ type?: string; text?: string }> | undefined) ?? []).filter((c) => c.type === 'text').map((c) => c.text ?? '').join('')
        : provider === gemini
          ? geminiText(json)
          : String(((json.choices as Array<{ message?: { content?: unknown } }> | undefined)?.[0]?.message?.content as string | undefined) ?? '');
    finish(f, usage, 'ok', true);
    const h = headersWith(headers || cors ? Object.assign({}, headers, cors) : undefined);
    h['content-type'] = JSON_TYPE;
    h['x-request-id'] = reqId;
    res.writeHead(200, h);
    res.end(JSON.stringify({ text: answer, model, usage: { inputTokens: usage.tokensIn, outputTokens: usage.tokensOut, costUsd: prices.usageCost(model, usage) } }));
  }

  function appUser(name: string): Caller {
    const user = dir.getUser(name);
    if (!user) throw new GatewayHttpError(403, 'permission_error', `no gateway user '${name.slice(0, 64)}'`);
    if (user.disabled) throw new GatewayHttpError(403, 'permission_error', `user '${user.name}' is disabled`);
    return { user, tokenId: 'app' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, preParsed: { body: unknown; asUser?: string } | undefined): Promise<void> {
    const start = performance.now();
    const reqId = nextRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = ROUTES.get(path) ?? (path.startsWith('/v1') ? (HANGUP_PATH.test(path) ? ROUTES.get(CALLS_PATH) : path.startsWith(RESPONSES_PREFIX) ? RESPONSE_OBJECT : (objectRoute(path, req.headers['anthropic-version'] !== undefined) ?? geminiRoute(path, q === -1 ? '' : url.slice(q + 1)))) : path === GEMINI_UPLOAD_PATH || path.startsWith(GEMINI_DOWNLOAD_PREFIX) ? GEMINI_FILES_ROUTE : undefined);
    const shape = route?.provider ?? (isGeminiPath(path) ? gemini : openai);
    const corsH = cors ? corsHeaders(req) : undefined;
    try {
      if (req.method === 'OPTIONS') {
        if (!corsH) throw new GatewayHttpError(403, 'cors_not_allowed', 'cross-origin calls are not allowed from this origin (set corsOrigins on the gateway)');
        const allowHeaders = req.headers['access-control-request-headers'];
        res.writeHead(204, headersWith({ ...corsH, 'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS', 'access-control-allow-headers': typeof allowHeaders === 'string' ? allowHeaders : 'authorization, content-type, x-api-key, x-goog-api-key, x-keyward-tag', 'access-control-max-age': '600' }));
        res.end();
        return;
      }
      if (!route) {
        if (req.method === 'GET' && (path === '/' || path === '/healthz')) {
          res.writeHead(200, headersWith({ 'content-type': JSON_TYPE }));
          res.end('{"service":"keyward gateway","ok":true}');
          return;
        }
        if (req.method === 'GET' && path === '/readyz') {
          const why = notReady();
          res.writeHead(why === undefined ? 200 : 503, headersWith({ 'content-type': JSON_TYPE }));
          res.end(JSON.stringify(why === undefined ? { ready: true } : { ready: false, reason: why }));
          return;
        }
        if (path === REALTIME_PATH) throw new GatewayHttpError(400, 'invalid_request_error', `${REALTIME_PATH} relays Realtime sessions over WebSocket: open it as one (the OpenAI SDK's OpenAIRealtimeWS does)`);
        throw new GatewayHttpError(
          404,
          'not_found',
          `no route ${req.method} ${path.slice(0, 100)}; the gateway serves POST /v1/chat/completions, /v1/completions, /v1/responses (and GET, DELETE /v1/responses/{id} of the caller's stored responses), /v1/embeddings, /v1/images/generations, /v1/images/edits, /v1/images/variations, /v1/moderations, /v1/audio/transcriptions, /v1/audio/translations, /v1/audio/speech, /v1/realtime/client_secrets, /v1/realtime/calls (WebRTC), /v1/messages, /v1/messages/count_tokens, /v1/files, /v1/uploads and /v1/batches (and GET /v1/files/{id}, /v1/files/{id}/content, /v1/batches/{id}, POST /v1/batches/{id}/cancel, DELETE /v1/files/{id} of the caller's own), /v1/messages/batches (and GET /v1/messages/batches/{id}, …/results, POST …/cancel, DELETE of the caller's own), /v1beta/models/{model}:generateContent (also :streamGenerateContent?alt=sse, :embedContent, :batchEmbedContents and :countTokens), Gemini's files (uploads at /upload/v1beta/files, and GET, DELETE /v1beta/files/{id} of the caller's own), /v1alpha/auth_tokens, /api/ai/chat and GET /v1/models, /v1beta/models, and Realtime sessions over WebSocket at /v1/realtime?model=…`,
        );
      }
      if (route.methods === undefined ? req.method !== route.method : !route.methods.includes(req.method ?? '')) {
        const allow = route.methods?.join(', ') ?? route.method;
        throw new GatewayHttpError(405, 'method_not_allowed', `${path} takes ${allow}`, { allow });
      }
      // A key in the URL ends up in every access log and browser history on the way.
      if (shape === gemini && q !== -1 && /(?:^|&)key=/.test(url.slice(q + 1))) {
        throw new GatewayHttpError(400, 'invalid_request_error', 'send the gateway token in the x-goog-api-key header, not as ?key= in the URL (URLs end up in logs)');
      }
      const authed = preParsed?.asUser !== undefined ? appUser(preParsed.asUser) : auth.authenticate(req.headers);
      const caller = authed instanceof Promise ? await authed : authed;
      caller.dirVersion = dir.currentVersion;
      allowFrom(caller.user, caller.tokenId, req);
      if (caller.scopes !== undefined) allowScope(caller, route, req);
      if (route.kind === 'realtime-call') return await voice.handleCall(req, res, reqId, start, caller, corsH, path, q === -1 ? '' : url.slice(q + 1));
      if (route === RESPONSE_OBJECT) return await handleResponseObject(req, res, reqId, start, caller, corsH, path, q === -1 ? '' : url.slice(q + 1));
      if (route.kind === 'file' || route.kind === 'batch' || route.kind === 'conversation' || route.kind === 'vector-store' || route.kind === 'cache') {
        if (batches.sharedAcrossInstances && (counters as Counters).reachable?.() === false) throw new GatewayHttpError(503, 'store_unavailable', 'the usage store (Redis) is unreachable, so the gateway cannot tell whose a file, batch or conversation is; try again shortly', { 'retry-after': '1' });
        return await handleObjects(objectRoutes(req, preParsed?.body, res), { req, res, reqId, start, caller, cors: corsH, path, query: q === -1 ? '' : url.slice(q + 1), route });
      }
      if (route.kind === 'models') {
        // No admission round trip here to notice a change made on another machine: ask the shared directory.
        if (dir.catchUp && (await dir.catchUp().catch(() => false))) {
          const again = reauthenticate(caller, req);
          const now = again instanceof Promise ? await again : again;
          allowFrom(now.user, now.tokenId, req);
          return await handleModels(req, res, route, reqId, now, corsH);
        }
        return await handleModels(req, res, route, reqId, caller, corsH);
      }
      let raw: Buffer;
      let parsed: unknown;
      if (route.upload) {
        const given = preParsed?.body;
        // A JSON body parser in front (express.json()) leaves an upload unread; a multipart parser has taken it apart.
        if (Buffer.isBuffer(given)) raw = given;
        else if (!req.readableDidRead) raw = await readBody(req, maxUpload, held, res);
        else throw new GatewayHttpError(400, 'invalid_request_error', `${path} takes the upload as it was sent: mount the gateway before any multipart parser (multer, @fastify/multipart)`);
        if (raw.length > maxUpload) throw tooLarge(maxUpload);
        const upload = await Upload.read(raw, req.headers['content-type'], route.upload);
        const prompt = promptSecrets === 'off' ? undefined : upload.field('prompt');
        if (prompt !== undefined) {
          const found = scanText(prompt, { engine: promptEngine });
          if (found.length > 0) await upload.set('prompt', secretInPrompt(caller, route, reqId, prompt, found, false));
        }
        return await handleApi(req, res, route, reqId, start, caller, upload, upload.body, corsH);
      }
      if (preParsed !== undefined && preParsed.body !== undefined && !Buffer.isBuffer(preParsed.body) && typeof preParsed.body !== 'string') {
        parsed = preParsed.body;
        raw = Buffer.from(JSON.stringify(parsed));
        if (raw.length > maxBody) throw tooLarge(maxBody);
      } else {
        raw = preParsed !== undefined && preParsed.body !== undefined ? Buffer.from(preParsed.body as Buffer | string) : await readBody(req, maxBody, held, res);
        if (raw.length > maxBody) throw tooLarge(maxBody);
        parsed = parseJson(raw);
      }
      if (promptSecrets !== 'off') {
        const text = raw.toString('utf8');
        const found = scanText(text, { engine: promptEngine });
        if (found.length > 0) {
          const clean = secretInPrompt(caller, route, reqId, text, found);
          raw = Buffer.from(clean);
          parsed = JSON.parse(clean);
        }
      }
      if (route.kind === 'app') return await handleAppChat(req, res, route, reqId, start, caller, parsed, raw, corsH);
      const named = storedObjectsNamed(raw, parsed);
      const objectsKey = named.length > 0 ? await checkObjects(caller, named) : undefined;
      return await handleApi(req, res, route, reqId, start, caller, parsed, raw, corsH, objectsKey);
    } catch (err) {
      const routeKind = route?.kind ?? 'unknown';
      if (!(err instanceof GatewayHttpError) && ((err as { name?: string }).name === 'AbortError' || res.destroyed)) {
        // 499, as nginx logs a client that closed the connection before the answer.
        metrics.request(routeKind, shape.name, 499, 'client_disconnect');
        return;
      }
      sendError(res, shape, refusal(reqId, routeKind, shape.name, path, uploadHint(err, path, req)), reqId, corsH);
    }
  }

  /** Google's own upload URLs carry no key: a chunk sent to the gateway's without its token is told why it must. */
  function uploadHint(err: unknown, path: string, req: IncomingMessage): unknown {
    if (!(err instanceof GatewayHttpError) || err.status !== 401 || path !== GEMINI_UPLOAD_PATH || req.headers['x-goog-api-key'] !== undefined) return err;
    return new GatewayHttpError(401, 'authentication_error', 'missing gateway token: each call of an upload, its chunks too, sends it as "x-goog-api-key: kw_…" (Google\'s SDKs do; an upload URL from the gateway is no key of its own)');
  }

  /**
   * A request may name what the provider keeps for the whole project (see shared-objects.ts) when it is
   * the caller's (a file they uploaded, a cache they made, through the gateway) or the operator shares
   * it with every user; anything else is refused. The caller's own were made with one of the gateway's
   * keys, in its project: returns the label of that key, which the request must go with (undefined
   * when it names none of the caller's own).
   */
  async function checkObjects(caller: Caller, ids: string[]): Promise<string | undefined> {
    let key: string | undefined;
    for (const id of ids) {
      // A Gemini file, named by its name or its URI, is known by its name.
      const geminiFile = geminiFileName(id);
      if (sharedObjects.has(id) || (geminiFile !== undefined && sharedObjects.has(geminiFile))) continue;
      const owner = isFileId(id) ? await batches.fileOwner(id) : geminiFile !== undefined ? await batches.fileOwner(geminiFile) : id.startsWith('cachedContents/') ? await caches.get(id) : VECTOR_STORE_ID.test(id) ? await ownersOf(VECTOR_STORES).get(id) : undefined;
      // A vector store the caller made through the gateway counts as recorded: this check comes before the request is counted, so OpenAI is not asked.
      if (owner?.user !== caller.user.id) {
        throw new GatewayHttpError(403, 'permission_error', `this request names '${id.slice(0, 120)}', which the provider keeps for the whole project, not for this user, so it may hold another user's data: a file or context cache is the user's who made it through the gateway; the gateway's operator can share others with every user ("sharedObjects" in the config)`);
      }
      // Objects made with two keys are in one project when the pool's keys are (keys rotated in one project): the first one's key reaches them all then.
      key ??= owner.key;
    }
    return key;
  }

  /** What the client is told of a failed request or session, logged and counted: a GatewayHttpError as it is, anything else as a 500. */
  function refusal(reqId: string, routeKind: string, provider: string, path: string, err: unknown): GatewayHttpError {
    if (!(err instanceof GatewayHttpError)) {
      metrics.request(routeKind, provider, 500, 'internal_error');
      log.error({ reqId, err }, 'unexpected gateway error');
      return new GatewayHttpError(500, 'internal_error', 'the gateway failed unexpectedly; the error is logged with this request id');
    }
    if (err.status >= 500) log.warn({ reqId, status: err.status, type: err.type, path }, err.message);
    else log.info({ reqId, status: err.status, type: err.type, path }, 'refused');
    metrics.request(routeKind, provider, err.status, err.type);
    return err;
  }

  /** Where whose calls and responses are is kept for every instance (Redis); absent on a store that shares nothing. */
  const ownersShared = (counters as Counters).sharedValues?.((err) => log.warn({ err }, 'recording or reading whose a call or response is, where every instance finds it, failed (Redis)'));
  /** OpenAI's stored responses: whose each is, and the background ones followed until they finish. */
  const stored = new StoredResponses({
    openai: upstreams.openai,
    counters,
    log,
    shared: ownersShared,
    background: { ...DEFAULT_BACKGROUND, ...options.background },
    finish: (f, usage, outcome, billed) => finish(f, usage, outcome, billed),
    answerText: (up) => answerText(up, openai),
    user: (id) => dir.getUser(id),
    // Another instance takes over the background responses of one that stops or dies.
    work: (counters as Counters).sharedWork?.('response'),
    // A user disabled or a token revoked while its background response runs: the response is cancelled.
    refusal: spendRefusal,
  });

  /** Why a caller may no longer spend (their user disabled, their token revoked), or undefined. */
  function spendRefusal(caller: Caller): string | undefined {
    if (dir.getUser(caller.user.id)?.disabled !== false) return 'user_disabled';
    if (caller.tokenId === 'jwt' || caller.tokenId === 'app') return undefined;
    const t = dir.lookupToken(caller.tokenId);
    return t === undefined || t.token.revokedAt !== undefined ? 'token_revoked' : undefined;
  }

  /** Passes an answer billed elsewhere (or never) through as it comes: a resumed stream, a file's content, a batch's results. */
  function passThrough(res: ServerResponse, up: UpstreamAnswer, f: Flight, h: Record<string, string>, cancel: Cancel): void {
    const nothing = { tokensIn: 0, tokensOut: 0 };
    res.writeHead(up.statusCode, h);
    const body = up.body;
    body.pipe({
      data: (chunk) => writeOrWait(res, body, chunk),
      end() {
        res.end();
        finish(f, nothing, 'ok', false);
      },
      error() {
        const gone = cancel.aborted;
        res.destroy();
        finish(f, nothing, gone ? 'client_disconnect' : 'upstream_reset', false);
      },
    });
  }

  /** Where whose each file, batch and conversation is, is kept: with Redis for every instance, alone in the directory's own file (SQLite) where it has one, so that a restart forgets none. */
  const keptOwners = ownersShared ?? dir.keptValues?.((err) => log.warn({ err }, "recording or reading whose a file, batch or conversation is in the gateway's file failed"));
  /** Whose each conversation and vector store is, besides the tag in its metadata. */
  const taggedOwners = new Map<string, Owners>();
  const ownersOf = (kind: TaggedKind): Owners => {
    let o = taggedOwners.get(kind.what);
    if (o === undefined) taggedOwners.set(kind.what, (o = new Owners(kind.route.kind, OWNED_DAYS * 24 * 3_600_000, keptOwners)));
    return o;
  };
  /** Whose each Gemini context cache is: known for as long as the cache was asked to be kept. */
  const caches = new Owners('cache', OWNED_DAYS * 24 * 3_600_000, keptOwners);
  /** Files and batches made through the gateway: whose each is, and the batches followed until they end. */
  const batches = new Batches({
    openai: upstreams.openai,
    anthropic: upstreams.anthropic,
    gemini: upstreams.gemini,
    log,
    get prices() {
      return prices;
    },
    shared: keptOwners,
    background: { ...DEFAULT_BACKGROUND, ...options.background },
    work: (kind) => (counters as Counters).sharedWork?.(kind),
    finish: (f, usage, outcome, billed) => finish(f, usage, outcome, billed),
    // A user disabled or a token revoked while their batch runs: the batch is cancelled.
    refusal: spendRefusal,
    user: (id) => dir.getUser(id),
  });

  /** What the routes of files, batches and conversations need of this gateway, for one request (`given`: a body a framework in front already read). */
  function objectRoutes(req: IncomingMessage, given: unknown, res?: ServerResponse): ObjectRoutesGateway {
    return {
      batches,
      tagged: ownersOf,
      caches,
      openai: upstreams.openai,
      anthropic: upstreams.anthropic,
      gemini: upstreams.gemini,
      prices,
      log,
      endUserIds,
      defaultMaxTokens: () => defaultMaxTokens,
      maxFileBytes: () => maxFile,
      admit: (f, r, tokens, usd, spends) => admitFlight(f, r, tokens, usd, spends),
      release: (f) => {
        if (f.plan === undefined || f.admitted === undefined) return;
        const r = releaseLease(counters, f.plan, f.admitted.now);
        f.plan = r.plan;
        if (r.done) r.done.catch((err: unknown) => log.error({ err, reqId: f.reqId }, "giving back a batch's place among the requests in flight failed"));
      },
      finish: (f, usage, outcome, billed, last) => finish(f, usage, outcome, billed, last),
      forwardError,
      answerText,
      headersWith,
      pipe: passThrough,
      allowModel: (user, model) => allowModel(user, model),
      budgeted: (user, tpm = false) => budgetCounts(user) || (tpm && (user.tpm !== undefined || (user.team !== undefined && teams.get(user.team)?.tpm !== undefined))),
      unpriced: unpricedModel,
      checkObjects,
      promptText: (caller, route, reqId, text, json) => {
        if (promptSecrets === 'off') return text;
        const found = scanText(text, { engine: promptEngine });
        return found.length === 0 ? text : secretInPrompt(caller, route, reqId, text, found, json);
      },
      body: async (limit) => {
        if (Buffer.isBuffer(given)) return given;
        if (req.readableDidRead) throw new GatewayHttpError(400, 'invalid_request_error', `${req.url?.slice(0, 100)} takes the upload as it was sent: mount the gateway before any body parser (multer, @fastify/multipart)`);
        return readBody(req, limit, held, res);
      },
      json: async (limit = maxBody) => {
        if (given !== undefined && !Buffer.isBuffer(given) && typeof given !== 'string') {
          const raw = Buffer.from(JSON.stringify(given));
          if (raw.length > limit) throw tooLarge(limit);
          return { raw, parsed: given };
        }
        const raw = given !== undefined ? Buffer.from(given as Buffer | string) : await readBody(req, limit, held, res);
        if (raw.length > limit) throw tooLarge(limit);
        return { raw, parsed: parseJson(raw) };
      },
      tagOf,
    };
  }

  /**
   * A stored response the caller made through the gateway (a background one too): `GET
   * /v1/responses/{id}` (with `?stream=true` to resume a background one's events), `POST …/cancel`,
   * `DELETE`, and `GET …/input_items`, sent on with the key that made it. Counted against the request
   * limits like any call and billed nothing: the response itself was billed, or will be once finished.
   */
  async function handleResponseObject(req: IncomingMessage, res: ServerResponse, reqId: string, start: number, caller: Caller, corsH: Record<string, string> | undefined, path: string, query: string): Promise<void> {
    const m = RESPONSE_OBJECT_PATH.exec(path);
    const id = m?.[1];
    if (m === null || id === undefined || !RESPONSE_ID.test(id)) throw new GatewayHttpError(404, 'not_found', `no route ${req.method} ${path.slice(0, 100)}: a response is reached at /v1/responses/resp_…, /v1/responses/resp_…/cancel or /v1/responses/resp_…/input_items`);
    const part = m[2];
    const method = part === 'cancel' ? 'POST' : part === 'input_items' ? 'GET' : req.method === 'DELETE' ? 'DELETE' : 'GET';
    if (req.method !== method) throw new GatewayHttpError(405, 'method_not_allowed', `${path.slice(0, 100)} takes ${part === undefined ? 'GET or DELETE' : method}`, { allow: part === undefined ? 'GET, DELETE' : method });
    if (stored.sharedAcrossInstances && (counters as Counters).reachable?.() === false) throw new GatewayHttpError(503, 'store_unavailable', 'the usage store (Redis) is unreachable, so the gateway cannot tell whose this response is; try again shortly', { 'retry-after': '1' });
    const cancel = new Cancel();
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort();
    });
    // Counted first: a client cannot have OpenAI asked about id after id, unlimited, for the tags that say whose each is.
    const f: Flight = { reqId, start, caller, route: RESPONSE_OBJECT, provider: openai, upstream: openai.name, model: 'unknown', promptTokens: 0, status: 0, settled: false, tag: tagOf(req) };
    const a = admitFlight(f, req, 0, 0, false);
    const { admitted, headers } = a instanceof Promise ? await a : a;
    f.admitted = admitted;
    const extra = headers || corsH ? Object.assign({}, headers, corsH) : undefined;
    const nothing = { tokensIn: 0, tokensOut: 0 };
    let up: Upstream | undefined;
    let key: PoolKey | undefined;
    try {
      const owner = await stored.ownerOf(id, cancel);
      if (owner === undefined || owner.user !== caller.user.id) throw new GatewayHttpError(404, 'not_found', 'no response of yours with this id: a stored response is reached through the gateway by the user it was made for');
      up = byName.get(owner.provider);
      key = up?.pool.byLabel(owner.key);
      if (up === undefined || key === undefined) throw new GatewayHttpError(502, 'upstream_error', `the response was started with a provider key this gateway does not hold (${owner.key}); give every instance the same keys`);
      f.upstream = up.provider.name;
      if (owner.model !== undefined) f.model = owner.model;
    } catch (err) {
      f.status = err instanceof GatewayHttpError ? err.status : 502;
      finish(f, nothing, 'refused', false, false);
      throw err;
    }
    const q = new URLSearchParams(query).toString();
    let r: UpstreamAnswer;
    try {
      r = await up.sendOn(key, `/responses/${id}${part === undefined ? '' : `/${part}`}${q === '' ? '' : `?${q}`}`, cancel, method);
    } catch (err) {
      f.status = 502;
      finish(f, nothing, res.destroyed ? 'client_disconnect' : 'upstream_failed', false, false);
      throw (err as { name?: string }).name === 'AbortError' ? new GatewayHttpError(499, 'client_disconnect', 'the client left') : new GatewayHttpError(502, 'upstream_error', `${up.provider.name} could not be reached (${(err as { code?: string }).code ?? 'error'})`);
    }
    if (r.statusCode >= 400) return forwardError(f, r, res, extra);
    f.status = r.statusCode;
    const h = headersWith(extra);
    h['content-type'] = String(r.headers['content-type'] ?? JSON_TYPE);
    h['x-request-id'] = reqId;
    if (h['content-type'].startsWith('text/event-stream')) {
      // A resumed stream goes through as it comes; what the response used is billed once, when it has finished.
      h['x-accel-buffering'] = 'no';
      passThrough(res, r, f, h, cancel);
      return;
    }
    let answer: Buffer;
    try {
      answer = Buffer.from(await answerText(r, openai));
    } catch (err) {
      f.status = 502;
      finish(f, nothing, 'upstream_reset', false, false);
      throw err;
    }
    h['content-length'] = String(answer.length);
    res.writeHead(r.statusCode, h);
    res.end(answer);
    // The response as it stands now: billed here if it has finished and this instance follows it.
    if (part !== 'input_items' && method !== 'DELETE') stored.seen(answer);
    if (method === 'DELETE') stored.forget(id);
    finish(f, nothing, 'ok', false);
  }

  /** Set when the gateway starts closing. */
  let closing: Promise<void> | undefined;
  /** The Realtime and Live sessions and the WebRTC calls (realtime-routes.ts); their accounts bill through the same gateway. */
  const voice = realtimeRoutes({
    counters,
    log,
    metrics,
    anomaly,
    admit,
    planNow: (user, now, reqId) => plan(user, undefined, undefined, options.globalBudget, 0, 0, now, reqId, teams),
    prices: () => prices,
    record,
    softAlerts,
    authenticate: (credential) => auth.authenticate(credential),
    dirVersion: () => dir.currentVersion,
    modelRefusal,
    upstreams,
    byName,
    shared: ownersShared,
    resilience,
    realtime: () => realtime,
    aliases: () => aliases,
    closing: () => closing !== undefined,
    requestId: nextRequestId,
    tagOf,
    clientIp,
    corsHeaders,
    headersWith,
    readBody: async (req) => {
      const raw = await readBody(req, maxBody);
      if (raw.length > maxBody) throw tooLarge(maxBody);
      return raw;
    },
    allowFrom,
    allowScope,
    allowModel,
    unpriced: unpricedModel,
    admitFlight,
    forwardError,
    refusal,
    scrub,
    keyRejected,
  });

  const handler = ((req: IncomingMessage, res: ServerResponse) => void handle(req, res, undefined)) as GatewayHandler;
  handler.upgrade = (req, socket, head) => void voice.upgrade(req, socket, head);
  handler.handleParsed = (req, res, body, asUser) => void handle(req, res, { body, asUser });
  handler.logger = log;
  handler.keyState = keyStates;
  handler.metrics = metrics;
  handler.setProviderKeys = (keys) => {
    const out: Record<string, KeyChange> = {};
    for (const [name, up] of byName) {
      const given = keys[name];
      if (given === undefined) continue;
      // A key rotated out may still show up in an answer in flight: it stays on the scrub list.
      for (const k of given) if (!allKeys.includes(k)) allKeys.push(k);
      out[name] = up.pool.replace(given);
    }
    return out;
  };
  handler.setPolicy = applyPolicy;
  // Once: a second call (an app's shutdown hook and a framework's) waits for the first.
  handler.close = () =>
    (closing ??= (async () => {
      clearInterval(budgetWatch);
      voice.shutdown();
      // With Redis, handed over to the other instances; alone, billed now, since this gateway could not
      // bill them later: a background response cancelled, for what it reports, a batch as reserved.
      await Promise.all([stored.stopAll(), batches.stopAll()]);
      writer.close();
      await alerter.drain();
      if (ownDispatcher) await dispatcher.close();
    })());
  return handler;
}


/**
 * Request ids: a random prefix per process (unique across instances) and a counter, which costs
 * nothing per request, unlike a random UUID; ids need to be unique, not secret.
 */
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;
function nextRequestId(): string {
  return `${ID_PREFIX}-${(++idCounter).toString(36)}`;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

/** An upload understood by its route: images to edit or vary, or audio to transcribe or translate. */
function shapeUploadFor(route: Route, upload: Upload): Promise<ShapedRequest> {
  if (route.kind === 'image-edit' || route.kind === 'image-variation') return shapeImageUpload(upload, route.kind);
  return shapeUpload(upload, route.kind === 'translation' ? 'translation' : 'transcription');
}

/** The client's `x-keyward-tag` (what the request is for: a feature, a page, a job), checked; undefined without one. */
function tagOf(req: IncomingMessage): string | undefined {
  const tag = req.headers['x-keyward-tag'];
  if (tag === undefined) return undefined;
  if (typeof tag !== 'string' || !TAG.test(tag)) {
    throw new GatewayHttpError(400, 'invalid_request_error', 'x-keyward-tag must be 1 to 64 letters, digits and . _ : / -, starting with a letter or digit (one tag a request)');
  }
  return tag;
}

const SCOPE_NAMES: Record<string, string> = {
  app: 'the app route (POST /api/ai/chat)',
  openai: "OpenAI's API",
  anthropic: "Anthropic's API",
  gemini: "Gemini's API",
} satisfies Record<TokenScope, string>;

/** The scope a call needs: the API the client speaks (a model list's, by the headers its SDK sends), whoever answers it. */
function scopeOf(route: Route, req: IncomingMessage): TokenScope {
  if (route.kind === 'app') return 'app';
  if (route.kind === 'models' && route.provider === openai) {
    if (req.headers['x-goog-api-key'] !== undefined) return 'gemini';
    if (req.headers['anthropic-version'] !== undefined) return 'anthropic';
  }
  return route.provider.name as TokenScope;
}

/** A model list as the providers answer it: OpenAI's and Anthropic's `data`, Gemini's `models`. */
interface ModelEntry {
  id?: string;
  [k: string]: unknown;
}
interface ModelListAnswer {
  data?: ModelEntry[];
  models?: Array<{ name?: string }>;
  [k: string]: unknown;
}

/** The app route's model when the config names none: the first provider with keys, OpenAI's when none has. */
function defaultChatPolicy(upstreams: Record<ProviderName, Upstream>): AppChatPolicy {
  if (upstreams.openai.pool.size === 0 && upstreams.anthropic.pool.size > 0) return { provider: 'anthropic', model: 'claude-haiku-4-5' };
  if (upstreams.openai.pool.size === 0 && upstreams.gemini.pool.size > 0) return { provider: 'gemini', model: 'gemini-2.5-flash' };
  return { provider: 'openai', model: 'gpt-4o-mini' };
}

/** The conversation a Responses API request continues (`"conv_…"` or `{ "id": "conv_…" }`); a 400 for anything else named there. */
function conversationIdOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const id = typeof v === 'string' ? v : isObject(v) ? v.id : undefined;
  if (typeof id !== 'string' || !CONVERSATION_ID.test(id)) throw badRequest("'conversation' must be a conversation's id (conv_…) or { \"id\": \"conv_…\" }");
  return id;
}

function isLedger(x: unknown): x is Ledger {
  return typeof (x as Ledger).append === 'function' && typeof (x as Ledger).totals === 'function';
}
