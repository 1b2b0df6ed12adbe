/**
 * The gateway's Prometheus metrics (prom-client), on a registry of its own so that an app embedding
 * the gateway keeps its own metrics apart. The request path only bumps a label child it has cached
 * (a Map lookup and an add); key states and the ledger queue are read when Prometheus scrapes.
 *
 * No metric has a user or token label: a series per user grows with the user base, and per-user
 * spend is what the ledger (`keyward usage`) answers. Model names come from clients, so only the
 * first MAX_MODELS billed models get a series of their own; the rest are counted as "other".
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Distinct model label values kept before new ones are counted as "other". */
export const MAX_MODELS = 100;

/** What an upstream attempt came to, as counted in keyward_gateway_upstream_attempts_total. */
export type AttemptResult = 'answered' | 'client_error' | 'rate_limited' | 'server_error' | 'key_rejected' | 'web_page' | 'timeout' | 'connection_error';

type KeyState = 'closed' | 'open' | 'half-open' | 'revoked';
const KEY_STATES: KeyState[] = ['closed', 'open', 'half-open', 'revoked'];

export interface MetricsSources {
  /** Breaker state of every provider key, by label (never the key). */
  keyState(): Record<string, Array<{ key: string; state: KeyState }>>;
  /** Ledger rows written by no transaction yet. */
  ledgerQueued(): number;
}

// Request durations run from a cached refusal (sub-millisecond) to a long streamed answer.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

type Child = { inc(n?: number): void };
type Observer = { observe(v: number): void };

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'provider' | 'status' | 'outcome'>;
  private readonly duration: Histogram<'route' | 'provider'>;
  private readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  private readonly cost: Counter<'provider' | 'model'>;
  private readonly attempts: Counter<'provider' | 'result'>;
  private readonly storeFailures: Counter<'operation'>;
  private readonly alerts: Counter<'kind'>;
  private readonly counted = new Map<string, Child>();
  private readonly timed = new Map<string, Observer>();
  private readonly models = new Set<string>();
  private defaultsOn = false;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'keyward_gateway_requests_total',
      help: 'Requests answered, by route, provider API, status and outcome (ok, ok_estimated, client_disconnect, or the error type sent).',
      labelNames: ['route', 'provider', 'status', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'keyward_gateway_request_duration_seconds',
      help: 'Time from a forwarded request arriving to its answer ending (a streamed answer: its last chunk); refusals are not timed.',
      labelNames: ['route', 'provider'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: 'keyward_gateway_tokens_total',
      help: 'Tokens billed, by provider, model and kind (input or output).',
      labelNames: ['provider', 'model', 'kind'],
      registers,
    });
    this.cost = new Counter({
      name: 'keyward_gateway_cost_usd_total',
      help: 'Spend billed, in US dollars, by provider and model.',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.attempts = new Counter({
      name: 'keyward_gateway_upstream_attempts_total',
      help: 'Calls to the providers, retries included, by what they came to.',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.storeFailures = new Counter({
      name: 'keyward_gateway_store_failures_total',
      help: 'Failed calls to the limits and budgets store (admit: the request was refused or let through as configured; settle: queued and replayed).',
      labelNames: ['operation'],
      registers,
    });
    this.alerts = new Counter({
      name: 'keyward_gateway_alerts_total',
      help: 'Alerts raised (soft budget, anomaly, provider key rejected), by kind.',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'keyward_gateway_provider_key_state',
      help: "1 for each provider key's current breaker state (closed: in use; open: cooling down; half-open: on trial; revoked: rejected by the provider), 0 for the others. Keys are named by their label, never their value.",
      labelNames: ['provider', 'key', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [provider, keys] of Object.entries(sources.keyState())) {
          for (const k of keys) for (const s of KEY_STATES) this.set({ provider, key: k.key, state: s }, k.state === s ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'keyward_gateway_ledger_queued_rows',
      help: 'Usage rows waiting for the next ledger write; growing means the ledger cannot be written.',
      registers,
      collect() {
        this.set(sources.ledgerQueued());
      },
    });
  }

  /** Adds Node's process metrics (CPU, memory, event loop lag, handles). Once per process: it starts monitors. */
  withProcessMetrics(): this {
    if (!this.defaultsOn) collectDefaultMetrics({ register: this.registry });
    this.defaultsOn = true;
    return this;
  }

  /** One answered request. */
  request(route: string, provider: string, status: number, outcome: string): void {
    const key = `req\0${route}\0${provider}\0${status}\0${outcome}`;
    let c = this.counted.get(key);
    if (c === undefined) {
      c = this.requests.labels(route, provider, String(status), outcome);
      this.counted.set(key, c);
    }
    c.inc();
  }

  /** How long a forwarded request took (refusals are not timed: they would drown the calls' latency). */
  took(route: string, provider: string, seconds: number): void {
    const key = `${route}\0${provider}`;
    let h = this.timed.get(key);
    if (h === undefined) {
      h = this.duration.labels(route, provider);
      this.timed.set(key, h);
    }
    h.observe(seconds);
  }

  usage(provider: string, model: string, tokensIn: number, tokensOut: number, costUsd: number): void {
    if (!this.models.has(model)) {
      if (this.models.size >= MAX_MODELS) model = 'other';
      else this.models.add(model);
    }
    if (tokensIn > 0) this.child(this.tokens, 'tok', provider, model, 'input').inc(tokensIn);
    if (tokensOut > 0) this.child(this.tokens, 'tok', provider, model, 'output').inc(tokensOut);
    if (costUsd > 0) this.child(this.cost, 'usd', provider, model).inc(costUsd);
  }

  attempt(provider: string, result: AttemptResult): void {
    this.child(this.attempts, 'try', provider, result).inc();
  }

  storeFailure(operation: 'admit' | 'settle'): void {
    this.storeFailures.labels(operation).inc();
  }

  alert(kind: string): void {
    this.alerts.labels(kind).inc();
  }

  /** The exposition text and its content type, for a scrape. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private child(metric: Counter<string>, kind: string, ...values: string[]): Child {
    const key = `${kind}\0${values.join('\0')}`;
    let c = this.counted.get(key);
    if (c === undefined) {
      c = metric.labels(...values);
      this.counted.set(key, c);
    }
    return c;
  }
}
