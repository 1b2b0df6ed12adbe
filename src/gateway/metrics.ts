/**
 * The gateway's Prometheus metrics, on a registry of its own (prom-client) so that an app embedding
 * the gateway keeps its own metrics apart. The request path only adds to plain numbers in a series
 * it has cached; prom-client reads them when Prometheus scrapes. (prom-client's own `inc` and
 * `observe` hash and check the labels on every call: 0.4–1 µs each, 4.3 µs a request here.)
 *
 * No metric has a user or token label: a series per user grows with the user base, and per-user
 * spend is what the ledger (`keyward usage`) answers. Model names come from clients, so only the
 * first MAX_MODELS billed models get a series of their own; the rest are counted as "other".
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';

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
  /** Realtime and Live sessions open now, by provider. */
  sessions?(): Record<string, number>;
  /** Work followed here until it ends, its reservation held (background responses, batches), by kind. */
  followed?(): Record<string, number>;
  /** Bytes of request bodies held in memory now (uploads and files; see held-bytes.ts). */
  heldBodyBytes?(): number;
}

// Request durations run from a cached refusal (sub-millisecond) to a long streamed answer.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

type Labels = Record<string, string>;

const labelsOf = (names: string[], values: string[]): Labels => Object.fromEntries(names.map((n, i) => [n, values[i]!]));

/** A counter's series, kept as plain numbers and handed to prom-client at scrape time. */
class CounterFamily {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(registry: Registry, name: string, help: string, private readonly labelNames: string[]) {
    const series = this.series;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(s.labels, s.value);
      },
    });
  }

  /** Adds `n` to the series `key` names; `values` (in labelNames order) are read only for a new one. */
  add(key: string, values: () => string[], n: number): void {
    const s = this.series.get(key);
    if (s !== undefined) {
      s.value += n;
      return;
    }
    this.series.set(key, { labels: labelsOf(this.labelNames, values()), value: n });
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram's series, kept as plain numbers. prom-client has no way to load a histogram's counts,
 * so this is registered as a metric of its own: its registry takes any object with `get()` and
 * `reset()` and writes the buckets, sum and count lines itself.
 */
class HistogramFamily {
  private readonly series = new Map<string, HistogramSeries>();

  constructor(registry: Registry, name: string, help: string, private readonly labelNames: string[], private readonly bounds: number[]) {
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: this.values(name) }),
      reset: () => this.series.clear(),
    };
    // Not a prom-client class, but what its registry reads from one (see above).
    registry.registerMetric(metric as unknown as Metric);
  }

  observe(key: string, values: () => string[], v: number): void {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labelsOf(this.labelNames, values()), counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  private values(name: string): Array<{ metricName: string; labels: Labels; value: number }> {
    const out: Array<{ metricName: string; labels: Labels; value: number }> = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((b, i) => {
        acc += s.counts[i]!;
        out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: String(b) }, value: acc });
      });
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly tokens: CounterFamily;
  private readonly cost: CounterFamily;
  private readonly attempts: CounterFamily;
  private readonly storeFailures: CounterFamily;
  private readonly alerts: CounterFamily;
  private readonly fallbacks: CounterFamily;
  private readonly promptSecrets: CounterFamily;
  private readonly models = new Set<string>();
  private defaultsOn = false;

  constructor(sources: MetricsSources) {
    const r = this.registry;
    this.requests = new CounterFamily(r, 'keyward_gateway_requests_total', 'Requests answered, by route, provider API, status and outcome (ok, ok_estimated, client_disconnect, or the error type sent).', ['route', 'provider', 'status', 'outcome']);
    this.duration = new HistogramFamily(r, 'keyward_gateway_request_duration_seconds', 'Time from a forwarded request arriving to its answer ending (a streamed answer: its last chunk); refusals are not timed.', ['route', 'provider'], DURATION_BUCKETS);
    this.tokens = new CounterFamily(r, 'keyward_gateway_tokens_total', 'Tokens billed, by provider, model and kind (input or output).', ['provider', 'model', 'kind']);
    this.cost = new CounterFamily(r, 'keyward_gateway_cost_usd_total', 'Spend billed, in US dollars, by provider and model.', ['provider', 'model']);
    this.attempts = new CounterFamily(r, 'keyward_gateway_upstream_attempts_total', 'Calls to the providers, retries included, by what they came to.', ['provider', 'result']);
    this.storeFailures = new CounterFamily(r, 'keyward_gateway_store_failures_total', 'Failed calls to the limits and budgets store (admit: the request was refused or let through as configured; settle: queued and replayed).', ['operation']);
    this.alerts = new CounterFamily(r, 'keyward_gateway_alerts_total', 'Alerts raised (soft budget, anomaly, provider key rejected, …), by kind.', ['kind']);
    this.fallbacks = new CounterFamily(r, 'keyward_gateway_fallbacks_total', 'Requests moved to the next model of their fallback list, by the provider that failed and the one tried next.', ['from', 'to']);
    this.promptSecrets = new CounterFamily(r, 'keyward_gateway_prompt_secrets_total', 'Requests that carried a secret (promptSecrets), by what the gateway did: refused or redacted.', ['action']);
    new Gauge({
      name: 'keyward_gateway_provider_key_state',
      help: "1 for each provider key's current breaker state (closed: in use; open: cooling down; half-open: on trial; revoked: rejected by the provider), 0 for the others. Keys are named by their label, never their value.",
      labelNames: ['provider', 'key', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const [provider, keys] of Object.entries(sources.keyState())) {
          for (const k of keys) for (const s of KEY_STATES) this.set({ provider, key: k.key, state: s }, k.state === s ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'keyward_gateway_realtime_sessions',
      help: 'Realtime (OpenAI) and Live (Gemini) voice sessions relayed, and WebRTC calls watched, right now, by provider.',
      labelNames: ['provider'],
      registers: [r],
      collect() {
        this.reset();
        for (const [provider, n] of Object.entries(sources.sessions?.() ?? {})) this.set({ provider }, n);
      },
    });
    new Gauge({
      name: 'keyward_gateway_held_body_bytes',
      help: 'Bytes of request bodies (uploads, files) held in memory now; past maxBufferedBytes, uploads are refused with a 503 until some are done.',
      registers: [r],
      collect() {
        this.set(sources.heldBodyBytes?.() ?? 0);
      },
    });
    new Gauge({
      name: 'keyward_gateway_followed',
      help: 'Background responses and batches this instance follows until they end, each holding its reservation against the budgets, by kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(sources.followed?.() ?? {})) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'keyward_gateway_ledger_queued_rows',
      help: 'Usage rows waiting for the next ledger write; growing means the ledger cannot be written.',
      registers: [r],
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
    this.requests.add(`${route}|${provider}|${status}|${outcome}`, () => [route, provider, String(status), outcome], 1);
  }

  /** How long a forwarded request took (refusals are not timed: they would drown the calls' latency). */
  took(route: string, provider: string, seconds: number): void {
    this.duration.observe(`${route}|${provider}`, () => [route, provider], seconds);
  }

  usage(provider: string, model: string, tokensIn: number, tokensOut: number, costUsd: number): void {
    if (!this.models.has(model)) {
      if (this.models.size >= MAX_MODELS) model = 'other';
      else this.models.add(model);
    }
    // A model name may hold any character; the key only has to tell series apart, so it leads with the fixed parts.
    if (tokensIn > 0) this.tokens.add(`${provider}|input|${model}`, () => [provider, model, 'input'], tokensIn);
    if (tokensOut > 0) this.tokens.add(`${provider}|output|${model}`, () => [provider, model, 'output'], tokensOut);
    if (costUsd > 0) this.cost.add(`${provider}|${model}`, () => [provider, model], costUsd);
  }

  attempt(provider: string, result: AttemptResult): void {
    this.attempts.add(`${provider}|${result}`, () => [provider, result], 1);
  }

  storeFailure(operation: 'admit' | 'settle'): void {
    this.storeFailures.add(operation, () => [operation], 1);
  }

  /** A request moved to another model; providers, not models, label it (the lists are the config's, the series stay few). */
  fallback(from: string, to: string): void {
    this.fallbacks.add(`${from}|${to}`, () => [from, to], 1);
  }

  promptSecret(action: 'refused' | 'redacted'): void {
    this.promptSecrets.add(action, () => [action], 1);
  }

  alert(kind: string): void {
    this.alerts.add(kind, () => [kind], 1);
  }

  /** The exposition text and its content type, for a scrape. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
