import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, type Alert } from '../../src/gateway/index.js';
import { scanText } from '../../src/secrets/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until, type Reply } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey(), fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
const seenByClient: string[] = [];
const record = (r: Reply) => {
  seenByClient.push(r.text, JSON.stringify([...r.headers]));
  return r;
};

describe('upstream and client faults', () => {
  let upstream: FakeUpstream;
  const gws: TestGateway[] = [];
  const alerts: Alert[] = [];
  const dir = new MemoryDirectory();
  const ledger = new MemoryLedger();
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 12, chunkDelayMs: 2 });
    dir.addUser('f', {});
    token = issueToken(dir, 'f').token;
  });
  afterAll(async () => {
    for (const g of gws) {
      await g.stop();
    }
    await upstream.close();
  });

  async function gateway(options: Parameters<typeof startGateway>[2] = {}, poolKeys = keys) {
    const gw = await startGateway(upstream, poolKeys, { directory: dir, ledger, alerts: { onAlert: (a) => alerts.push(a) }, ...options });
    gws.push(gw);
    return gw;
  }
  const call = (gw: TestGateway, body: unknown = chat()) => post(`${gw.origin}/v1/chat/completions`, body, bearer(token)).then(record);

  it('retries an upstream 500 on the next key and answers 200', async () => {
    const gw = await gateway();
    const before = upstream.seen.length;
    upstream.fail({ status: 500 });
    const r = await call(gw);
    expect(r.status).toBe(200);
    const tries = upstream.seen.slice(before);
    expect(tries).toHaveLength(2);
    expect(tries[0]!.keyIndex).not.toBe(tries[1]!.keyIndex);
  });

  it('rotates keys while a stream is in flight: it finishes on its key, and the next request takes the new one', async () => {
    const gw = await gateway({}, { openai: [keys.openai[0]!], anthropic: keys.anthropic });
    const before = upstream.seen.length;
    const streaming = post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { stream: true, max_tokens: 60 }), bearer(token));
    await until('the stream has reached the upstream', () => upstream.seen.length > before);
    const change = gw.gateway.setProviderKeys({ openai: [keys.openai[1]!] });
    expect(change.openai).toMatchObject({ kept: 0, added: [expect.stringMatching(/^openai:…/)], removed: [expect.stringMatching(/^openai:…/)] });
    expect(change.anthropic).toBeUndefined();
    const r = await streaming;
    expect(r.status).toBe(200);
    expect(r.text).toContain('data: [DONE]');
    expect(upstream.seen[before]!.keyIndex).toBe(0);
    expect((await call(gw)).status).toBe(200);
    expect(upstream.seen.at(-1)!.keyIndex).toBe(1);
    expect(gw.gateway.keyState().openai.map((k) => k.key)).toEqual(change.openai!.added);
  });

  it('retries a 429, honouring a short Retry-After', async () => {
    const gw = await gateway();
    upstream.fail({ status: 429, retryAfter: '0' });
    expect((await call(gw)).status).toBe(200);
  });

  it('passes a persistent upstream error on with the status, scrubbed of any key material the upstream echoed', async () => {
    const gw = await gateway({ resilience: { retries: 1, backoffBaseMs: 1, backoffMaxMs: 2, timeoutMs: 2000, idleTimeoutMs: 2000 } });
    const leaky = JSON.stringify({ error: { message: `upstream exploded while using key ${keys.openai[0]} and ${keys.openai[1]}`, type: 'server_error' } });
    upstream.fail({ status: 503, body: leaky }, { status: 503, body: leaky });
    const r = await call(gw);
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/upstream exploded/);
    for (const k of keys.openai) expect(r.text).not.toContain(k.slice(10, 40));
  });

  it('retries a connection reset before the answer', async () => {
    const gw = await gateway();
    upstream.fail({ reset: 'before' });
    expect((await call(gw)).status).toBe(200);
  });

  it('answers 504 with a clear message when the upstream hangs', async () => {
    const gw = await gateway({ resilience: { timeoutMs: 200, idleTimeoutMs: 200, retries: 1, backoffBaseMs: 1, backoffMaxMs: 2 } });
    upstream.fail({ hang: true }, { hang: true });
    const r = await call(gw);
    expect(r.status).toBe(504);
    expect(String((r.json.error as { message: string }).message)).toMatch(/did not answer within/);
  });

  it('opens the circuit breaker after repeated failures and answers at once without calling the upstream; /readyz says so', async () => {
    const gw = await gateway({ resilience: { retries: 0, timeoutMs: 2000, idleTimeoutMs: 2000, backoffBaseMs: 1, backoffMaxMs: 2 }, breaker: { threshold: 2, cooldownMs: 60_000 } }, { openai: [keys.openai[0]!], anthropic: [] });
    const ready = async () => {
      const r = await fetch(`${gw.origin}/readyz`);
      return [r.status, await r.json()];
    };
    expect(await ready()).toEqual([200, { ready: true }]);
    upstream.fail({ status: 500 }, { status: 500 });
    expect((await call(gw)).status).toBe(500);
    expect((await call(gw)).status).toBe(500);
    const before = upstream.seen.length;
    const r = await call(gw);
    expect(r.status).toBe(503);
    expect(String((r.json.error as { message: string }).message)).toMatch(/cooling down/);
    expect(upstream.seen.length).toBe(before);
    expect(gw.gateway.keyState().openai[0]).toMatchObject({ state: 'open' });
    expect(gw.gateway.keyState().openai[0]!.key).not.toContain(keys.openai[0]!.slice(0, 12));
    // Its only key is cooling down: a load balancer should send this instance nothing for now.
    expect(await ready()).toEqual([503, { ready: false, reason: 'no provider key is usable: every key is cooling down after failures or was rejected' }]);
  });

  it('fails over from a key the provider rejects, takes it out of the pool and raises an alert', async () => {
    const rejected = fakeOpenAiKey();
    const gw = await gateway({}, { openai: [rejected, keys.openai[0]!], anthropic: keys.anthropic });
    const r = await call(gw);
    expect(r.status).toBe(200);
    expect(gw.gateway.keyState().openai[0]).toMatchObject({ state: 'revoked' });
    expect(alerts.some((a) => a.kind === 'provider_key_rejected' && !a.message.includes(rejected.slice(0, 12)))).toBe(true);
  });

  it('retries a JSON answer cut off mid-body (nothing had reached the client) on the next key, and bills the answer once', async () => {
    const gw = await gateway();
    const before = upstream.seen.length;
    upstream.fail({ reset: 'midbody' });
    const r = await call(gw);
    expect(r.status).toBe(200);
    expect((r.json.choices as Array<{ message: { content: string } }>)[0]!.message.content).toBe('tok'.repeat(12));
    const tries = upstream.seen.slice(before);
    expect(tries).toHaveLength(2);
    expect(tries[0]!.keyIndex).not.toBe(tries[1]!.keyIndex);
    await until('the answer is in the ledger', () => ledger.rows({}).some((x) => x.requestId === r.headers.get('x-request-id')));
    const rows = ledger.rows({}).filter((x) => x.requestId === r.headers.get('x-request-id'));
    expect(rows, JSON.stringify(rows)).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 200, outcome: 'ok', tokensOut: 12 });
  });

  it('answers a clear 502 when every attempt is cut off mid-body', async () => {
    const gw = await gateway({ resilience: { retries: 1, backoffBaseMs: 1, backoffMaxMs: 2 } });
    const before = upstream.seen.length;
    upstream.fail({ reset: 'midbody' }, { reset: 'midbody' });
    const r = await call(gw);
    expect(r.status).toBe(502);
    expect(String((r.json.error as { message: string }).message)).toMatch(/failed mid-answer/);
    expect(upstream.seen.length - before).toBe(2);
  });

  it('counts retries before and after an answer broken off mid-body against one budget', async () => {
    const gw = await gateway({ resilience: { retries: 1, backoffBaseMs: 1, backoffMaxMs: 2 } });
    const before = upstream.seen.length;
    // A 500, then an answer cut mid-body: that is the two attempts `retries: 1` allows, and no more.
    upstream.fail({ status: 500 }, { reset: 'midbody' }, { status: 500 }, { reset: 'midbody' });
    const r = await call(gw);
    expect(r.status).toBe(502);
    expect(upstream.seen.length - before).toBe(2);
    upstream.faults.length = 0;
  });

  it('ends a stream whose upstream resets mid-way with an error event the SDK reports, and bills what was produced', async () => {
    const gw = await gateway();
    upstream.fail({ reset: 'midstream' });
    const client = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
    let text = '';
    await expect(
      (async () => {
        const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true });
        for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/mid-stream/);
    expect(text.length).toBeGreaterThan(0);
    await until('the broken stream is in the ledger', () => ledger.rows({}).some((x) => x.outcome === 'upstream_reset'));
    const row = ledger.rows({}).find((x) => x.outcome === 'upstream_reset');
    expect(row).toBeDefined();
    expect(row!.tokensOut).toBeGreaterThan(0);
  });

  it('passes on an upstream error whose body never ends, cut short, and stops reading it', async () => {
    const gw = await gateway();
    upstream.fail({ endless: 400 });
    const r = await call(gw);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/answered 400: z{100}/);
    expect(r.text.length).toBeLessThan(2000);
  });

  it('answers a clear 502 when a model list or an app answer never ends, instead of holding it all in memory', async () => {
    const gw = await gateway();
    upstream.fail({ endless: 200 });
    const models = await fetch(`${gw.origin}/v1/models`, { headers: bearer(token) });
    expect(models.status).toBe(502);
    expect(await models.text()).toMatch(/answer is larger than the gateway accepts \(16777216 bytes\)/);
    upstream.fail({ endless: 200 });
    const app = await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, bearer(token)).then(record);
    expect(app.status).toBe(502);
    expect(app.text).toMatch(/larger than the gateway accepts/);
  });

  it('answers a clear 502 naming the setting to check when the upstream answers with a web page, and bills nothing', async () => {
    const gw = await gateway();
    upstream.fail({ page: 200 });
    const r = await call(gw);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text).error.message).toMatch(/answered with a web page, not the API; the gateway's operator should check OPENAI_BASE_URL/);
    upstream.fail({ page: 200 });
    const app = await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, bearer(token)).then(record);
    expect(app.status).toBe(502);
    expect(app.text).toMatch(/OPENAI_BASE_URL/);
    upstream.fail({ page: 200 });
    const models = await fetch(`${gw.origin}/v1/models`, { headers: bearer(token) });
    expect(models.status).toBe(502);
    expect(await models.text()).toMatch(/OPENAI_BASE_URL/);
    const ids = [r.headers.get('x-request-id'), app.headers.get('x-request-id')];
    const rows = () => ledger.rows({}).filter((row) => ids.includes(row.requestId));
    await until('the two calls are in the ledger', () => rows().length === 2);
    expect(rows().map((row) => [row.status, row.costUsd, row.tokensIn, row.tokensOut])).toEqual([
      [502, 0, 0, 0],
      [502, 0, 0, 0],
    ]);
    expect(gw.logs.join('')).toContain(upstream.openaiBase);
    // A page with an error status is the upstream's error, passed on as such.
    upstream.fail({ page: 404 });
    const missing = await call(gw);
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(/answered 404: <!doctype html>/);
  });

  it('refuses a malformed body with a clear 400, without echoing what was sent', async () => {
    const gw = await gateway();
    const secret = fakeOpenAiKey();
    const r = await call(gw, `{"model": "gpt-4o-mini", "messages": [ "${secret}" `);
    expect(r.status).toBe(400);
    expect(String((r.json.error as { message: string }).message)).toMatch(/not valid JSON/);
    expect(r.text).not.toContain(secret.slice(10, 40));
    const r2 = await call(gw, { model: 'gpt-4o-mini' });
    expect(r2.status).toBe(400);
    expect(String((r2.json.error as { message: string }).message)).toMatch(/'messages' is required/);
    const r3 = await call(gw, chat('gpt-4o-mini', { max_tokens: -3 }));
    expect(String((r3.json.error as { message: string }).message)).toMatch(/max_tokens/);
  });

  it('refuses an oversized body with 413 before reading it all', async () => {
    const gw = await gateway({ maxBodyBytes: 10_000 });
    const r = await call(gw, chat('gpt-4o-mini', { pad: 'x'.repeat(50_000) }));
    expect(r.status).toBe(413);
    expect(String((r.json.error as { message: string }).message)).toMatch(/limit of 10000 bytes/);
  });

  it('leaves no key material in any response or log line', () => {
    const logs = gws.flatMap((g) => g.logs).join('');
    const everything = seenByClient.join('\n') + logs;
    for (const k of [...keys.openai, ...keys.anthropic]) expect(everything).not.toContain(k.slice(10, 40));
    expect(everything).not.toContain(token);
    // Nothing the secrets engine recognises either (the redacted forms are not secrets).
    expect(scanText(everything).map((m) => m.ruleId)).toEqual([]);
    expect(logs.length).toBeGreaterThan(0);
  });
});
