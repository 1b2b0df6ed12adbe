/**
 * Calls one upstream API with the pool's keys: timeouts, retries with exponential backoff and jitter
 * on 429, 5xx and connection errors (only before anything has reached the client: the caller commits
 * once it has the response headers), failover to the next key on every retry, and each key's breaker.
 */
import type { Dispatcher } from 'undici';
import type { Cancel } from './cancel.js';
import type { UpstreamConfig } from './env.js';
import { GatewayHttpError } from './http-error.js';
import type { KeyPool, PoolKey } from './keys.js';
import type { AttemptResult } from './metrics.js';
import type { Provider } from './providers/types.js';
import { callUpstream, type UpstreamAnswer } from './upstream-call.js';

export interface ResilienceOptions {
  /** Time allowed for the upstream to send response headers (ms). */
  timeoutMs: number;
  /** Longest silence allowed between two body chunks (ms). */
  idleTimeoutMs: number;
  /** Extra attempts after the first. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = { timeoutMs: 60_000, idleTimeoutMs: 120_000, retries: 2, backoffBaseMs: 200, backoffMaxMs: 4_000 };

export interface UpstreamResponse {
  res: UpstreamAnswer;
  key: PoolKey;
  attempts: number;
}

/**
 * What an upstream's status says of an attempt, for HTTP calls and Realtime handshakes alike: the key
 * rejected (out of the pool; another key may serve), worth another try (rate limited, a server
 * error), or the answer, the client's to read.
 */
export function attemptOutcome(status: number): Extract<AttemptResult, 'key_rejected' | 'rate_limited' | 'server_error' | 'answered' | 'client_error'> {
  if (status === 401 || status === 403) return 'key_rejected';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  return status < 400 ? 'answered' : 'client_error';
}

/** The provider rejected a key of the gateway's (401, 403). */
export function keyRejectedError(provider: string): GatewayHttpError {
  return new GatewayHttpError(502, 'upstream_auth_failed', `${provider} rejected the gateway's provider key; an operator must replace it`);
}

/** No key of the pool may be tried now. */
export function keysCoolingError(provider: string): GatewayHttpError {
  return new GatewayHttpError(503, 'upstream_unavailable', `every ${provider} key is cooling down after repeated failures; retry shortly`, { 'retry-after': '5' });
}

/** What the gateway hears about, for its alerts and logs. */
export interface UpstreamHooks {
  /** The provider rejected a key (401/403): it is out of the pool until the keys are reloaded. */
  keyRejected?(key: PoolKey): void;
  /** The base URL answered a successful status with a web page. */
  webPage?(status: number): void;
  /** Every call made, retries included, and what it came to. */
  attempted?(result: AttemptResult): void;
}

function isWebPage(res: UpstreamAnswer): boolean {
  const ct = res.headers['content-type'];
  return typeof ct === 'string' && ct.trimStart().toLowerCase().startsWith('text/html');
}

export class Upstream {
  readonly origin: string;
  private readonly basePath: string;

  constructor(
    readonly provider: Provider<string>,
    config: UpstreamConfig,
    readonly pool: KeyPool,
    private readonly dispatcher: Dispatcher,
    private readonly opts: ResilienceOptions,
    private readonly hooks: UpstreamHooks = {},
  ) {
    const u = new URL(config.baseUrl);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
  }

  /** Refuses a call to a provider the gateway holds no key of (checked before a call is counted, where that matters). */
  requireKeys(): void {
    if (this.pool.size === 0) throw new GatewayHttpError(503, 'upstream_unavailable', `no ${this.provider.envPrefix}_API_KEY is configured on the gateway`);
  }

  /** The base URL calls go to, for the operator's logs. */
  get base(): string {
    return this.origin + this.basePath;
  }

  private backoff(attempt: number, retryAfter: string | string[] | undefined): number {
    const ra = typeof retryAfter === 'string' ? Number(retryAfter) * 1000 : NaN;
    if (Number.isFinite(ra) && ra >= 0 && ra <= this.opts.backoffMaxMs) return ra;
    const exp = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** attempt);
    return exp / 2 + Math.random() * (exp / 2);
  }

  /**
   * After the answer of attempt number `attempts` (counted from 1, as `send` returns it) broke off
   * mid-body before anything reached the client: marks the key and says how long to wait before
   * `send(…, attempts)` tries again, or undefined when the request has used all its retries.
   */
  retryAfterBodyFailure(key: PoolKey, attempts: number): number | undefined {
    this.pool.failure(key);
    return attempts <= this.opts.retries ? this.backoff(attempts - 1, undefined) : undefined;
  }

  /**
   * One call with the given key, without retries or another key: what belongs to what that key
   * made (a WebRTC call's hang-up, a background response's retrieval must come from its own project).
   */
  sendOn(key: PoolKey, path: string, signal: Cancel, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'POST', extra?: { body?: Buffer; type?: string; headers?: Record<string, string> }): Promise<UpstreamAnswer> {
    const headers = Object.assign(this.provider.authHeaders(key.secret), extra?.headers);
    if (method !== 'POST') headers.accept ??= path.includes('stream=true') ? 'text/event-stream' : 'application/json';
    if (extra?.type !== undefined) headers['content-type'] = extra.type;
    return callUpstream(this.dispatcher, { origin: this.origin, path: this.basePath + path, method, headers, body: extra?.body, headersTimeout: this.opts.timeoutMs, bodyTimeout: this.opts.idleTimeoutMs }, signal);
  }

  /**
   * `used`: attempts this request already made (answers broken off mid-body); they count against the
   * same retries. `bearer`: the call goes to the provider's OpenAI-compatible endpoint, which takes
   * the key as OpenAI's SDK sends it.
   */
  async send(path: string, method: 'GET' | 'POST', headers: Record<string, string>, body: Buffer | undefined, signal: Cancel, used = 0, bearer = false, only?: PoolKey): Promise<UpstreamResponse> {
    this.requireKeys();
    const tried = new Set<PoolKey>();
    let lastError: GatewayHttpError | undefined;
    for (let attempt = used; attempt <= this.opts.retries; attempt++) {
      // `only`: what the request continues belongs to that key's project (a stored response, a conversation).
      let key = only ?? this.pool.pick(tried);
      if (!key) {
        // Every key was tried for this request: start over on the least recently failed ones.
        tried.clear();
        key = this.pool.pick();
      }
      if (!key) {
        throw lastError ?? keysCoolingError(this.provider.name);
      }
      tried.add(key);
      let res: UpstreamAnswer;
      try {
        res = await callUpstream(
          this.dispatcher,
          {
            origin: this.origin,
            path: this.basePath + path,
            method,
            headers: { ...headers, ...(bearer ? { authorization: `Bearer ${key.secret}` } : this.provider.authHeaders(key.secret)) },
            body,
            headersTimeout: this.opts.timeoutMs,
            bodyTimeout: this.opts.idleTimeoutMs,
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        this.pool.failure(key);
        const code = (err as { code?: string }).code ?? '';
        this.hooks.attempted?.(code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : 'connection_error');
        lastError =
          code === 'UND_ERR_HEADERS_TIMEOUT'
            ? new GatewayHttpError(504, 'upstream_timeout', `${this.provider.name} did not answer within ${Math.round(this.opts.timeoutMs / 1000)}s`)
            : new GatewayHttpError(502, 'upstream_unreachable', `cannot reach ${this.provider.name} (${code || 'connection error'})`);
        if (attempt < this.opts.retries) await signal.sleep(this.backoff(attempt, undefined));
        continue;
      }
      const s = res.statusCode;
      const outcome = attemptOutcome(s);
      if (outcome === 'key_rejected') {
        this.hooks.attempted?.(outcome);
        this.pool.failure(key, s);
        this.hooks.keyRejected?.(key);
        if (only === undefined && this.pool.keys.some((k) => !k.revoked && !tried.has(k))) {
          await res.body.dump();
          lastError = keyRejectedError(this.provider.name);
          continue;
        }
        return { res, key, attempts: attempt + 1 };
      }
      if (outcome === 'rate_limited' || outcome === 'server_error') {
        this.hooks.attempted?.(outcome);
        this.pool.failure(key);
        if (attempt < this.opts.retries) {
          const wait = this.backoff(attempt, res.headers['retry-after']);
          await res.body.dump();
          await signal.sleep(wait);
          continue;
        }
        return { res, key, attempts: attempt + 1 };
      }
      if (s < 300 && isWebPage(res)) {
        // A web page where the API belongs: the base URL points at a website, a login page or a proxy.
        // Not passed on (an SDK cannot read it) nor retried: the setting is wrong, not the key.
        res.body.destroy();
        this.hooks.attempted?.('web_page');
        this.hooks.webPage?.(s);
        throw new GatewayHttpError(502, 'upstream_error', `${this.provider.name}'s address on the gateway answered with a web page, not the API; the gateway's operator should check ${this.provider.envPrefix}_BASE_URL`);
      }
      this.pool.success(key);
      this.hooks.attempted?.(outcome);
      return { res, key, attempts: attempt + 1 };
    }
    throw lastError ?? new GatewayHttpError(502, 'upstream_error', `${this.provider.name} failed`);
  }
}
