import { createServer } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayMetrics, issueToken, MAX_MODELS, metricsEndpoint } from '../../src/gateway/index.js';
import { scanText } from '../../src/secrets/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { listen, type TestServer } from '../helpers/http-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const keys = { openai: [fakeOpenAiKey(), fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('gateway metrics', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let scrape: TestServer;
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let token: string;
  let limited: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, promptTokens: 10, outputTokens: 6 });
    dir.addUser('m', {});
    dir.addUser('slow', { rpm: 1 });
    token = issueToken(dir, 'm').token;
    limited = issueToken(dir, 'slow').token;
    gw = await startGateway(upstream, keys, { directory: dir, ledger });
    scrape = await listen(createServer(metricsEndpoint(gw.gateway.metrics)));
  });
  afterAll(async () => {
    await scrape.close();
    await gw.stop();
    await upstream.close();
  });

  const metricsText = async () => (await fetch(`${scrape.origin}/metrics`)).text();

  it('counts answers, refusals and errors by route, status and outcome, and times only what was forwarded', async () => {
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    const streamed = await post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { stream: true }), bearer(token));
    expect(streamed.status).toBe(200);
    expect((await post(`${gw.origin}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': token })).status).toBe(200);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(limited))).status).toBe(200);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(limited))).status).toBe(429);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer('kw_000000000000_' + 'x'.repeat(43)))).status).toBe(401);
    expect((await post(`${gw.origin}/v1/chat/completions`, '{not json', bearer(token))).status).toBe(400);
    expect((await post(`${gw.origin}/v1/nowhere`, chat(), bearer(token))).status).toBe(404);
    await until('the stream has settled', async () => sample(await metricsText(), 'keyward_gateway_request_duration_seconds_count', { route: 'chat', provider: 'openai' }) === 3);

    const text = await metricsText();
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'chat', provider: 'openai', status: '200', outcome: 'ok' })).toBe(3);
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'messages', provider: 'anthropic', status: '200', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'chat', status: '429', outcome: 'rate_limit_exceeded' })).toBe(1);
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'chat', status: '401' })).toBe(1);
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'chat', status: '400', outcome: 'invalid_request_error' })).toBe(1);
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'unknown', status: '404', outcome: 'not_found' })).toBe(1);
    // Refusals are counted but not timed: three forwarded chat calls, not seven.
    expect(sample(text, 'keyward_gateway_request_duration_seconds_count', { route: 'chat', provider: 'openai' })).toBe(3);
    expect(sample(text, 'keyward_gateway_request_duration_seconds_bucket', { route: 'chat', provider: 'openai', le: '+Inf' })).toBe(3);
    // Tokens and spend as billed: the fake reports 10 in and 6 out a call.
    expect(sample(text, 'keyward_gateway_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', kind: 'input' })).toBe(30);
    expect(sample(text, 'keyward_gateway_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', kind: 'output' })).toBe(18);
    const billed = ledger.rows({}).filter((r) => r.model === 'gpt-4o-mini').reduce((s, r) => s + r.costUsd, 0);
    expect(sample(text, 'keyward_gateway_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBeCloseTo(billed, 12);
    expect(sample(text, 'keyward_gateway_upstream_attempts_total', { provider: 'openai', result: 'answered' })).toBe(3);
    expect(sample(text, 'keyward_gateway_ledger_queued_rows')).toBeGreaterThanOrEqual(0);
  });

  it('counts a failure answered to the client once, under the status it got', async () => {
    const total = (text: string) => text.split('\n').filter((l) => l.startsWith('keyward_gateway_requests_total{route="chat"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    const before = total(await metricsText());
    upstream.fail({ status: 500 }, { status: 500 }, { status: 500 });
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(500);
    const text = await metricsText();
    expect(sample(text, 'keyward_gateway_requests_total', { route: 'chat', status: '500', outcome: 'upstream_error' })).toBe(1);
    expect(total(text)).toBe(before + 1);
    expect(sample(text, 'keyward_gateway_upstream_attempts_total', { provider: 'openai', result: 'server_error' })).toBe(3);
    // No answer at all (the connection reset every time): the gateway's own 502, also counted once.
    upstream.fail({ reset: 'before' }, { reset: 'before' }, { reset: 'before' });
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(502);
    const after = await metricsText();
    expect(sample(after, 'keyward_gateway_requests_total', { route: 'chat', status: '502', outcome: 'upstream_unreachable' })).toBe(1);
    expect(total(after)).toBe(before + 2);
    expect(sample(after, 'keyward_gateway_upstream_attempts_total', { provider: 'openai', result: 'connection_error' })).toBe(3);
  });

  it('counts each upstream attempt, so retries and a rejected key show up', async () => {
    upstream.fail({ status: 401 }, { status: 500 });
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    const text = await metricsText();
    expect(sample(text, 'keyward_gateway_upstream_attempts_total', { provider: 'openai', result: 'server_error' })).toBe(4);
    expect(sample(text, 'keyward_gateway_upstream_attempts_total', { provider: 'openai', result: 'key_rejected' })).toBe(1);
    expect(sample(text, 'keyward_gateway_alerts_total', { kind: 'provider_key_rejected' })).toBe(1);
    // One key is now revoked, the other in use; both named by label only.
    const states = text.split('\n').filter((l) => l.startsWith('keyward_gateway_provider_key_state{provider="openai"') && l.endsWith(' 1'));
    expect(states.map((l) => /state="([^"]+)"/.exec(l)![1]).sort()).toEqual(['closed', 'revoked']);
    for (const k of [...keys.openai, ...keys.anthropic]) expect(text).not.toContain(k.slice(8, 30));
    expect(scanText(text)).toEqual([]);
  });

});

describe('the metrics endpoint', () => {
  let server: TestServer;
  const metrics = new GatewayMetrics({ keyState: () => ({}), ledgerQueued: () => 0 });
  const secret = 'metrics-token-' + 'a1b2c3d4e5f6';

  beforeAll(async () => {
    server = await listen(createServer(metricsEndpoint(metrics, { token: secret })));
  });
  afterAll(() => server.close());

  it('wants the bearer token, serves only GET and HEAD /metrics, and says what is wrong', async () => {
    const none = await fetch(`${server.origin}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).toMatch(/Authorization: Bearer <KEYWARD_METRICS_TOKEN>/);
    expect((await fetch(`${server.origin}/metrics`, { headers: { authorization: `Bearer ${secret}x` } })).status).toBe(401);
    const ok = await fetch(`${server.origin}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await ok.text()).toMatch(/# TYPE keyward_gateway_requests_total counter/);
    expect((await fetch(`${server.origin}/other`)).status).toBe(404);
    expect((await fetch(`${server.origin}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } })).status).toBe(405);
    const head = await fetch(`${server.origin}/metrics`, { method: 'HEAD', headers: { authorization: `Bearer ${secret}` } });
    expect(head.status).toBe(200);
  });
});

describe('model labels', () => {
  it('keeps a series for the first models and counts the rest as "other", so clients cannot grow memory', async () => {
    const metrics = new GatewayMetrics({ keyState: () => ({}), ledgerQueued: () => 0 });
    for (let i = 0; i < MAX_MODELS + 50; i++) metrics.usage('openai', `model-${i}`, 1, 1, 0.5);
    metrics.usage('openai', 'model-0', 1, 1, 0.5);
    const text = (await metrics.scrape()).body;
    const models = new Set([...text.matchAll(/keyward_gateway_cost_usd_total\{[^}]*model="([^"]+)"/g)].map((m) => m[1]));
    expect(models.size).toBe(MAX_MODELS + 1);
    expect(sample(text, 'keyward_gateway_cost_usd_total', { model: 'other' })).toBe(25);
    expect(sample(text, 'keyward_gateway_cost_usd_total', { model: 'model-0' })).toBe(1);
  });
});

describe('the latency histogram', () => {
  it('writes cumulative buckets, sum and count, and merges into an app registry', async () => {
    const metrics = new GatewayMetrics({ keyState: () => ({}), ledgerQueued: () => 0 });
    for (const s of [0.003, 0.02, 0.7, 500]) metrics.took('chat', 'openai', s);
    metrics.took('messages', 'anthropic', 0.05);
    const text = (await metrics.scrape()).body;
    expect(text).toContain('# TYPE keyward_gateway_request_duration_seconds histogram');
    const bucket = (le: string) => sample(text, 'keyward_gateway_request_duration_seconds_bucket', { route: 'chat', le });
    expect([bucket('0.005'), bucket('0.01'), bucket('0.025'), bucket('1'), bucket('300'), bucket('+Inf')]).toEqual([1, 1, 2, 3, 3, 4]);
    expect(sample(text, 'keyward_gateway_request_duration_seconds_sum', { route: 'chat' })).toBeCloseTo(500.723, 9);
    expect(sample(text, 'keyward_gateway_request_duration_seconds_count', { route: 'chat' })).toBe(4);
    expect(sample(text, 'keyward_gateway_request_duration_seconds_count', { route: 'messages', provider: 'anthropic' })).toBe(1);

    const app = new Registry();
    new Counter({ name: 'app_orders_total', help: 'orders', registers: [app] }).inc(3);
    const merged = await Registry.merge([app, metrics.registry]).metrics();
    expect(sample(merged, 'app_orders_total')).toBe(3);
    expect(sample(merged, 'keyward_gateway_request_duration_seconds_count', { route: 'chat' })).toBe(4);
    metrics.registry.resetMetrics();
    expect(sample((await metrics.scrape()).body, 'keyward_gateway_request_duration_seconds_count', { route: 'chat' })).toBeUndefined();
  });
});

describe('the ledger queue gauge', () => {
  it('counts the rows a failing ledger keeps queued', async () => {
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    // A ledger whose file cannot be written: the writer keeps its rows and tries again later.
    class FullDisk extends MemoryLedger {
      override append(): void {
        throw new Error('SQLITE_FULL: database or disk is full');
      }
    }
    const dir = new MemoryDirectory();
    dir.addUser('q', {});
    const token = issueToken(dir, 'q').token;
    const gw = await startGateway(upstream, keys, { directory: dir, ledger: new FullDisk() });
    try {
      for (let i = 0; i < 3; i++) expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
      await until('the ledger write has failed', () => gw.logs.join('').includes('usage ledger write failed'));
      expect(sample((await gw.gateway.metrics.scrape()).body, 'keyward_gateway_ledger_queued_rows')).toBe(3);
    } finally {
      await gw.close();
      // close() writes what is queued: with the disk still full, that fails, as it should.
      await gw.gateway.close().catch(() => undefined);
      await upstream.close();
    }
  });
});
