import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { GoogleGenAI, Modality, type LiveServerMessage } from '@google/genai';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryCounters, MemoryLedger } from '../../src/store/memory.js';
import { testCertificates } from '../helpers/certs.js';
import { listen, type TestServer } from '../helpers/http-server.js';
import { attachFakeRealtime, CUT_SHORT_USAGE, SPOKEN_USAGE, type FakeRealtime } from './helpers/fake-realtime.js';
import { opened, refused, type OpenOptions } from './helpers/realtime-client.js';
import { until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';
import { fakeOpenAiKey } from './helpers/keys.js';

/** gpt-realtime's list prices for SPOKEN_USAGE: 100 text + 100 cached text + 300 audio in, 100 text + 700 audio out. */
const RESPONSE_USD = (100 * 4 + 100 * 0.4 + 300 * 32 + 100 * 16 + 700 * 64) / 1e6;

describe('OpenAI Realtime sessions relayed over WebSocket', () => {
  const counters = new MemoryCounters();
  const s = gatewaySuite({ user: 'vera', gateway: { realtime: { usdPerSecret: 0.06 }, counters, corsOrigins: ['https://app.example'] } });
  const { dir, ledger } = s;
  let fake: FakeRealtime;
  let wsBase: string;
  const tokenOf = s.tokenFor;
  const spentBy = s.spentToday;
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  /** Opens a session and asks for two responses: the error the gateway then ends it with (code 1008). */
  const endedAfterTwo = async (token: string) => {
    const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(token));
    await c.next('session.created');
    for (let i = 0; i < 2; i++) {
      c.send({ type: 'response.create' });
      await c.next('response.done');
    }
    const err = await c.next('error');
    expect((await c.closed).code).toBe(1008);
    return err.error;
  };

  beforeAll(() => {
    fake = attachFakeRealtime(s.upstream.server, s.keys.openai);
    wsBase = `ws://127.0.0.1:${s.gw.port}/v1/realtime`;
  });

  it("works with the OpenAI SDK's Realtime WebSocket: the real key upstream, each response billed by its usage, the hold released", async () => {
    const certs = await testCertificates();
    const tls: TestServer = await listen(createHttpsServer({ cert: certs.valid.cert, key: certs.valid.key }, s.gw.gateway) as never);
    tls.server.on('upgrade', s.gw.gateway.upgrade);
    try {
      const token = tokenOf('sdk-voice', { budgetUsd: 5, period: 'day' });
      const client = new OpenAI({ apiKey: token, baseURL: `https://127.0.0.1:${tls.port}/v1`, maxRetries: 0 });
      const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca: certs.rootCa } }, client);
      const seen: string[] = [];
      rt.on('event', (e) => seen.push(JSON.stringify(e)));
      const errors: unknown[] = [];
      rt.on('error', (e) => errors.push(e));
      const event = <T>(type: string) => new Promise<T>((r) => rt.once(type as 'session.created', r as never));
      await event('session.created');
      for (let i = 0; i < 2; i++) {
        const done = event<{ response: { usage: { output_tokens: number } } }>('response.done');
        rt.send({ type: 'response.create' });
        expect((await done).response.usage.output_tokens).toBe(800);
      }
      const upstream = fake.sessions.at(-1)!;
      expect(upstream.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
      expect(upstream.url).toBe('/v1/realtime?model=gpt-realtime');
      expect(upstream.events.filter((e) => e.type === 'response.create')).toHaveLength(2);
      // While the session runs, the budget holds what was billed and one hold ahead of it.
      await until('both responses are billed', () => ledger.rows({}).filter((r) => r.route === 'realtime-session' && r.userId === dir.getUser('sdk-voice')!.id).length === 2);
      expect(spentBy('sdk-voice')).toBeGreaterThanOrEqual(Math.ceil((2 * RESPONSE_USD + 0.06) * 1e9));
      rt.close();
      await until('the session is settled', () => spentBy('sdk-voice') === Math.ceil(2 * RESPONSE_USD * 1e9));
      const rows = ledger.rows({}).filter((r) => r.userId === dir.getUser('sdk-voice')!.id);
      expect(rows.map((r) => [r.route, r.model, r.tokensIn, r.tokensOut, r.status])).toEqual([
        ['realtime-session', 'gpt-realtime', 500, 800, 200],
        ['realtime-session', 'gpt-realtime', 500, 800, 200],
      ]);
      for (const r of rows) expect(r.costUsd).toBeCloseTo(RESPONSE_USD, 9);
      expect(errors).toEqual([]);
      for (const text of [...seen, ...s.gw.logs]) expect(text).not.toContain(s.keys.openai[0]);
      expect(s.gw.logs.join('')).not.toContain(token);
      await until('the upstream session is closed', () => upstream.closed);
    } finally {
      await tls.close();
    }
  });

  it('ends a session when a budget refuses more, so that it never passes the budget, and refuses the next one before it opens', async () => {
    const token = tokenOf('thrifty', { budgetUsd: 0.15, period: 'day' });
    // Two responses ($0.113) leave less than a hold ($0.06) within $0.15: the gateway ends the session.
    expect(await endedAfterTwo(token)).toMatchObject({ type: 'budget_exceeded', code: 'budget_exceeded' });
    await until('the session is settled', () => spentBy('thrifty') === Math.ceil(2 * RESPONSE_USD * 1e9));
    // What the ledger billed, not a sum worked out here: within the budget.
    const thrifty = dir.getUser('thrifty')!.id;
    await until('both responses are in the ledger', () => ledger.rows({}).filter((r) => r.userId === thrifty).length === 2);
    expect(ledger.rows({}).filter((r) => r.userId === thrifty).reduce((n, r) => n + r.costUsd, 0)).toBeLessThanOrEqual(0.15);
    await until('the upstream session is closed', () => fake.sessions.at(-1)!.closed);
    const again = await refused(`${wsBase}?model=gpt-realtime`, bearer(token));
    expect(again.status).toBe(402);
    expect(JSON.parse(again.body).error).toMatchObject({ type: 'budget_exceeded' });
  });

  it('takes the gateway token from the subprotocol a browser sends, and never answers with that protocol', async () => {
    const token = tokenOf('browser');
    const before = fake.sessions.length;
    const c = await opened(`${wsBase}?model=gpt-realtime`, { protocols: ['realtime', `openai-insecure-api-key.${token}`], origin: 'https://app.example' });
    expect(c.ws.protocol).toBe('realtime');
    await c.next('session.created');
    expect(fake.sessions.length).toBe(before + 1);
    expect(fake.sessions.at(-1)!.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
    const open = async () => /^keyward_gateway_realtime_sessions\{provider="openai"\} (\d+)$/m.exec((await s.gw.gateway.metrics.scrape()).body)?.[1];
    expect(await open()).toBe('1');
    c.ws.close();
    await c.closed;
    await until('the session is no longer counted', async () => (await open()) === '0');
    // Another page's origin is refused: browsers do not hold WebSockets to CORS.
    const other = await refused(`${wsBase}?model=gpt-realtime`, { protocols: ['realtime', `openai-insecure-api-key.${token}`], origin: 'https://evil.example' });
    expect(other.status).toBe(403);
  });

  it('refuses a switch to another model mid-session, and passes the rest of session.update on', async () => {
    const token = tokenOf('switcher', { models: ['gpt-realtime-mini'] });
    const c = await opened(`${wsBase}?model=gpt-realtime-mini`, bearer(token));
    await c.next('session.created');
    c.send({ type: 'session.update', event_id: 'ev1', session: { type: 'realtime', model: 'gpt-realtime' } });
    const err = await c.next('error');
    expect(err.error).toMatchObject({ code: 'model_not_allowed', event_id: 'ev1' });
    c.send({ type: 'session.update', session: { type: 'realtime', model: 'gpt-realtime-mini', instructions: 'be brief' } });
    await c.next('session.updated');
    const upstream = fake.sessions.at(-1)!;
    expect(upstream.events.map((e) => (e.session as { model?: string }).model)).toEqual(['gpt-realtime-mini']);
    c.ws.close();
    await c.closed;
  });

  it("bills the input's transcription at its own model, which must be one the user may call", async () => {
    const token = tokenOf('transcriber', { models: ['gpt-realtime', 'gpt-4o-mini-transcribe'] });
    const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(token));
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } });
    expect((await c.next('error')).error).toMatchObject({ code: 'model_not_allowed', message: "model 'gpt-4o-transcribe' is not allowed for this user" });
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe' } } } } });
    await c.next('session.updated');
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(4800).toString('base64') });
    c.send({ type: 'input_audio_buffer.commit' });
    await c.next('conversation.item.input_audio_transcription.completed');
    const id = dir.getUser('transcriber')!.id;
    await until('the transcription is billed', () => ledger.rows({}).some((r) => r.userId === id));
    const [row] = ledger.rows({}).filter((r) => r.userId === id);
    expect(row).toMatchObject({ route: 'realtime-session', model: 'gpt-4o-mini-transcribe', tokensIn: 100, tokensOut: 20 });
    expect(row!.costUsd).toBeCloseTo((100 * 3 + 20 * 5) / 1e6, 12);
    c.ws.close();
    await c.closed;
  });

  it('bills what a response had produced when the client leaves in the middle of it', async () => {
    const token = tokenOf('leaver', { budgetUsd: 1, period: 'day' });
    const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(token));
    await c.next('session.created');
    fake.holdResponses = true;
    try {
      c.send({ type: 'response.create' });
      await c.next('response.output_audio.delta');
      c.ws.terminate();
      const upstream = fake.sessions.at(-1)!;
      // The gateway cancels the response, reads its usage, then closes the provider's side.
      await until('the response is cancelled upstream', () => upstream.events.some((e) => e.type === 'response.cancel'));
      await until('the upstream session is closed', () => upstream.closed);
      const id = dir.getUser('leaver')!.id;
      await until('the partial response is billed', () => ledger.rows({}).some((r) => r.userId === id));
      expect(ledger.rows({}).filter((r) => r.userId === id)).toMatchObject([{ route: 'realtime-session', tokensIn: 500, tokensOut: 800 }]);
      await until('the session is settled', () => spentBy('leaver') === Math.ceil(RESPONSE_USD * 1e9));
    } finally {
      fake.holdResponses = false;
    }
  });

  it("raises the soft budget's alert once, at the response that passes it", async () => {
    const soft = async () => Number(/^keyward_gateway_alerts_total\{kind="soft_budget"\} (\d+)$/m.exec((await s.gw.gateway.metrics.scrape()).body)?.[1] ?? 0);
    const before = await soft();
    const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(tokenOf('softy', { softBudgetUsd: 0.1, budgetUsd: 5, period: 'day' })));
    await c.next('session.created');
    c.send({ type: 'response.create' });
    await c.next('response.done');
    // $0.056 spent, the session holding more: below $0.10, no alert.
    await new Promise((r) => setTimeout(r, 50));
    expect(await soft()).toBe(before);
    for (let i = 0; i < 2; i++) {
      c.send({ type: 'response.create' });
      await c.next('response.done');
    }
    await until('the soft budget alert is raised', async () => (await soft()) === before + 1);
    c.ws.close();
    await c.closed;
    expect(await soft()).toBe(before + 1);
  });

  it('ends a session at its next response once its token is revoked', async () => {
    dir.addUser('revoked-voice', {});
    const issued = issueToken(dir, 'revoked-voice');
    const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(issued.token));
    await c.next('session.created');
    dir.revokeToken(issued.record.id);
    c.send({ type: 'response.create' });
    await c.next('response.done');
    expect((await c.next('error')).error).toMatchObject({ type: 'session_revoked' });
    expect((await c.closed).code).toBe(1008);
    // The response already given is billed.
    await until('the response is billed', () => ledger.rows({}).some((r) => r.userId === dir.getUser('revoked-voice')!.id));
  });

  it("counts each response's tokens against the tokens-per-minute limit as it ends, and ends the session that passes it", async () => {
    const token = tokenOf('chatty', { tpm: 2000 });
    // 1300 tokens, then 2600 within the minute, past 2000.
    expect(await endedAfterTwo(token)).toMatchObject({ type: 'rate_limit_exceeded', message: 'rate limit reached: 2000 tokens per minute, so the gateway ended the session' });
    await until('both responses are billed', () => ledger.rows({}).filter((r) => r.userId === dir.getUser('chatty')!.id).length === 2);
    // Counted though past the limit: the next call in that minute is refused.
    const next = await s.oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).catch((e: { status: number }) => e);
    expect((next as { status: number }).status).toBe(429);
  });

  it("holds what the dearest response yet cost, so that a long conversation's responses, dearer than the hold, do not pass the budget", async () => {
    const token = tokenOf('long-talk', { budgetUsd: 0.3, period: 'day' });
    const id = dir.getUser('long-talk')!.id;
    // Twice SPOKEN_USAGE: $0.113 a response, against a hold of $0.06 (each response is billed the whole conversation so far).
    const twice = (o: unknown): unknown => (typeof o === 'number' ? 2 * o : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, twice(v)])) : o);
    fake.usage = twice(SPOKEN_USAGE) as Record<string, unknown>;
    try {
      // After the first, $0.113 more is kept ahead; after the second ($0.226 spent) $0.30 cannot keep it: the session ends.
      expect(await endedAfterTwo(token)).toMatchObject({ type: 'budget_exceeded' });
      const billed = () => ledger.rows({}).filter((r) => r.userId === id);
      await until('both are billed and the session settled', () => billed().length === 2 && spentBy('long-talk') === Math.ceil(billed().reduce((n, r) => n + r.costUsd, 0) * 1e9));
      expect(billed().reduce((n, r) => n + r.costUsd, 0)).toBeCloseTo(4 * RESPONSE_USD, 9);
    } finally {
      fake.usage = SPOKEN_USAGE;
    }
  });

  it('holds the budgets for each response running at once, and ends the session when they cannot hold one more', async () => {
    const token = tokenOf('overlapping', { budgetUsd: 0.15, period: 'day' });
    const id = dir.getUser('overlapping')!.id;
    fake.holdResponses = true;
    fake.usage = CUT_SHORT_USAGE;
    try {
      const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(token));
      await c.next('session.created');
      // Out-of-band responses run beside each other. Two hold $0.12 of $0.15; a third cannot be held.
      for (let i = 0; i < 3; i++) {
        c.send({ type: 'response.create', response: { conversation: 'none' } });
        await c.next('response.created');
      }
      expect((await c.next('error')).error).toMatchObject({ type: 'budget_exceeded' });
      expect((await c.closed).code).toBe(1008);
      // Cancelled, the three report what they produced, which is billed, and the holds are given back.
      const billed = () => ledger.rows({}).filter((r) => r.userId === id);
      await until('the three are billed and the session settled', () => billed().length === 3 && spentBy('overlapping') === Math.ceil(billed().reduce((n, r) => n + r.costUsd, 0) * 1e9));
    } finally {
      fake.holdResponses = false;
      fake.usage = SPOKEN_USAGE;
    }
  });

  it('holds and bills in the new budget period once one ends while the session runs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const today = new Date('2026-12-01T23:59:00Z').getTime();
      const tomorrow = new Date('2026-12-02T00:00:30Z').getTime();
      vi.setSystemTime(today);
      const token = tokenOf('midnight', { budgetUsd: 5, period: 'day' });
      const id = dir.getUser('midnight')!.id;
      const spentOn = (at: number) => (counters.peek(`b:u:${id}:${period('day', at).key}`) as number | undefined) ?? 0;
      const c = await opened(`${wsBase}?model=gpt-realtime`, bearer(token));
      await c.next('session.created');
      c.send({ type: 'response.create' });
      await c.next('response.done');
      await until('the first response is billed', () => ledger.rows({}).filter((r) => r.userId === id).length === 1);
      vi.setSystemTime(tomorrow);
      c.send({ type: 'response.create' });
      await c.next('response.done');
      await until('the second response is billed', () => ledger.rows({}).filter((r) => r.userId === id).length === 2);
      // While it runs: yesterday holds what was billed there, today a hold and what was billed since.
      expect(spentOn(today)).toBe(Math.ceil(RESPONSE_USD * 1e9));
      expect(spentOn(tomorrow)).toBeGreaterThanOrEqual(Math.ceil((RESPONSE_USD + 0.06) * 1e9));
      c.ws.close();
      await until('the session is settled', () => spentOn(tomorrow) === Math.ceil(RESPONSE_USD * 1e9));
      expect(spentOn(today)).toBe(Math.ceil(RESPONSE_USD * 1e9));

      // A new day whose budget has too little left for a hold: the response is counted there all the same, and the session ends.
      vi.setSystemTime(today);
      const late = tokenOf('late-night', { budgetUsd: 0.1, period: 'day' });
      const lateId = dir.getUser('late-night')!.id;
      const d = await opened(`${wsBase}?model=gpt-realtime`, bearer(late));
      await d.next('session.created');
      await counters.adjust([{ key: `b:u:${lateId}:${period('day', tomorrow).key}`, kind: 'fixed', windowMs: 2 * 86_400_000, at: tomorrow, delta: 50_000_000 }]);
      vi.setSystemTime(tomorrow);
      d.send({ type: 'response.create' });
      await d.next('response.done');
      expect((await d.next('error')).error).toMatchObject({ type: 'budget_exceeded' });
      expect((await d.closed).code).toBe(1008);
      const lateOn = (at: number) => (counters.peek(`b:u:${lateId}:${period('day', at).key}`) as number | undefined) ?? 0;
      await until('the session is settled and its response in the ledger', () => lateOn(today) === 0 && ledger.rows({}).some((r) => r.userId === lateId));
      expect(lateOn(tomorrow)).toBe(50_000_000 + Math.ceil(RESPONSE_USD * 1e9));
    } finally {
      vi.useRealTimers();
    }
  });

  it('opens the session with the next key when the provider rejects one, and takes the rejected key out of the pool', async () => {
    // The first key of this gateway's pool is one the provider does not know.
    const rejected = fakeOpenAiKey();
    const g = await s.another({ counters, realtime: { usdPerSecret: 0.06 }, upstreams: { openai: { baseUrl: s.upstream.openaiBase, keys: [rejected, s.keys.openai[0]!] }, anthropic: { baseUrl: s.upstream.anthropicBase, keys: [] } } });
    const token = tokenOf('failover-voice', {});
    for (let i = 0; i < 3; i++) {
      const c = await opened(`ws://127.0.0.1:${g.port}/v1/realtime?model=gpt-realtime-mini`, bearer(token));
      await c.next('session.created');
      expect(fake.sessions.at(-1)!.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
      c.ws.close();
      await c.closed;
    }
    const logs = g.logs.join('');
    // Tried once, then out of the pool: one alert, and the key itself in no log line.
    expect(logs.match(/rejected provider key/g)).toHaveLength(1);
    expect(logs).not.toContain(rejected);
  });

  it('refuses with a clear HTTP error, opening nothing upstream and billing nothing', async () => {
    const token = tokenOf('refusals', { models: ['gpt-realtime-mini'], budgetUsd: 1, period: 'day' });
    const before = fake.sessions.length;
    const rowsBefore = ledger.rows({}).length;
    const cases: Array<[string, OpenOptions, number, string]> = [
      [`${wsBase}?model=gpt-realtime-mini`, {}, 401, 'authentication_error'],
      [`${wsBase}?model=gpt-realtime-mini`, bearer(s.keys.openai[0]!), 401, 'authentication_error'],
      [wsBase, bearer(token), 400, 'invalid_request_error'],
      [`${wsBase}?call_id=rtc_1`, bearer(token), 400, 'invalid_request_error'],
      [`${wsBase}?model=gpt-realtime`, bearer(token), 403, 'model_not_allowed'],
      [`ws://127.0.0.1:${s.gw.port}/v1/chat/completions`, bearer(token), 404, 'not_found'],
    ];
    for (const [url, o, status, type] of cases) {
      const r = await refused(url, o);
      expect([url, r.status]).toEqual([url, status]);
      expect(JSON.parse(r.body).error.type).toBe(type);
      // A provider key sent as the token is never echoed.
      expect(r.body).not.toContain(s.keys.openai[0]);
    }
    // Asked for as plain HTTP, the route says how to open it.
    const plain = await fetch(`http://127.0.0.1:${s.gw.port}/v1/realtime?model=gpt-realtime-mini`, { headers: { authorization: `Bearer ${token}` } });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toMatch(/over WebSocket/);
    // A handshake ws cannot complete: refused before anything is opened, or, when only ws finds the
    // fault (a malformed subprotocol list), the provider's session is closed and the hold given back.
    const handshake = (extra: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port: s.gw.port, path: '/v1/realtime?model=gpt-realtime-mini', headers: { connection: 'Upgrade', upgrade: 'websocket', authorization: `Bearer ${token}`, ...extra } });
        r.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        r.on('upgrade', () => reject(new Error('upgraded')));
        r.on('error', reject);
        r.end();
      });
    expect(await handshake({ 'sec-websocket-version': '13' })).toBe(400);
    expect(fake.sessions.length).toBe(before);
    expect(await handshake({ 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-protocol': 'realtime,,' })).toBe(400);
    await until('the upstream session opened for it is closed', () => fake.sessions.length === before + 1 && fake.sessions.at(-1)!.closed);
    await until('its hold is given back', () => spentBy('refusals') === 0);
    const opens = fake.sessions.length;
    // The provider refuses every key: a 502, and the hold is given back.
    fake.refuse.push(500, 500, 500);
    const r = await refused(`${wsBase}?model=gpt-realtime-mini`, bearer(token));
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).error.type).toBe('upstream_error');
    fake.refuse.length = 0;
    expect(fake.sessions.length).toBe(opens);
    expect(spentBy('refusals')).toBe(0);
    expect(ledger.rows({}).length).toBe(rowsBefore);
  });

  it('is off unless the config has realtime, and ends the sessions of a gateway that shuts down', async () => {
    const off = await s.another({ ledger: new MemoryLedger() });
    const r = await refused(`ws://127.0.0.1:${off.port}/v1/realtime?model=gpt-realtime`, bearer(s.token));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.type).toBe('realtime_disabled');
    const on = await s.another({ ledger: new MemoryLedger(), realtime: { usdPerSecret: 0.06 } });
    const c = await opened(`ws://127.0.0.1:${on.port}/v1/realtime?model=gpt-realtime`, bearer(s.token));
    await c.next('session.created');
    await on.gateway.close();
    expect((await c.closed).code).toBe(1001);
  });
});

describe('Gemini Live sessions relayed over WebSocket', () => {
  const counters = new MemoryCounters();
  const s = gatewaySuite({ user: 'lia', gateway: { realtime: { usdPerSecret: 0.01 }, counters } });
  const { dir, ledger } = s;
  let fake: FakeRealtime;
  const tokenOf = s.tokenFor;
  const spentBy = s.spentToday;
  /** gemini-live-2.5-flash-preview's prices for LIVE_USAGE: 100 text + 300 audio in, 600 audio out. */
  const TURN_USD = (100 * 0.5 + 300 * 3 + 600 * 12) / 1e6;

  beforeAll(() => {
    fake = attachFakeRealtime(s.upstream.server, s.keys.openai, s.keys.gemini);
  });

  /**
   * A Live session through the gateway with `@google/genai`, as an app opens one. `connect()` waits for
   * `setupComplete`, which a refused session never gets (its close frame says why, to `onclose`).
   */
  function live(token: string, model = 'gemini-live-2.5-flash-preview') {
    const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: s.gw.origin } });
    const messages: LiveServerMessage[] = [];
    let closed: { code: number; reason: string } | undefined;
    const connecting = ai.live.connect({
      model,
      config: { responseModalities: [Modality.AUDIO] },
      callbacks: { onmessage: (m) => void messages.push(m), onclose: (e) => void (closed = { code: e.code, reason: e.reason }) },
    });
    return { connecting, messages, closed: () => closed };
  }

  it('works with @google/genai: the real key upstream, each turn billed by its usage, the hold released', async () => {
    const token = tokenOf('live-voice', { budgetUsd: 5, period: 'day' });
    const c = live(token);
    const session = await c.connecting;
    for (let i = 0; i < 2; i++) {
      session.sendClientContent({ turns: 'Hello', turnComplete: true });
      await until('the turn is billed', () => c.messages.filter((m) => m.usageMetadata).length === i + 1);
    }
    const upstream = fake.sessions.at(-1)!;
    expect(upstream.authorization).toBe(s.keys.gemini[0]);
    expect(upstream.events[0]).toMatchObject({ setup: { model: 'models/gemini-live-2.5-flash-preview' } });
    expect(c.messages.some((m) => m.setupComplete)).toBe(true);
    session.close();
    const id = dir.getUser('live-voice')!.id;
    await until('both turns are in the ledger', () => ledger.rows({}).filter((r) => r.userId === id).length === 2);
    const rows = ledger.rows({}).filter((r) => r.userId === id);
    expect(rows.map((r) => [r.route, r.provider, r.model, r.tokensIn, r.tokensOut])).toEqual([
      ['realtime-session', 'gemini', 'gemini-live-2.5-flash-preview', 400, 600],
      ['realtime-session', 'gemini', 'gemini-live-2.5-flash-preview', 400, 600],
    ]);
    for (const r of rows) expect(r.costUsd).toBeCloseTo(TURN_USD, 9);
    await until('the session is settled', () => spentBy('live-voice') === Math.ceil(2 * TURN_USD * 1e9));
    for (const text of s.gw.logs) {
      expect(text).not.toContain(s.keys.gemini[0]);
      expect(text).not.toContain(token);
    }
  });

  it('ends the session with a close frame saying why: a budget spent, a model not allowed, a missing setup', async () => {
    // $0.02 is two holds of $0.01: after the second turn ($0.016) less than a hold is left, and no more can be taken.
    const token = tokenOf('live-thrifty', { budgetUsd: 0.02, period: 'day', models: ['gemini-live-2.5-flash-preview'] });
    const c = live(token);
    const session = await c.connecting;
    session.sendClientContent({ turns: 'Hello', turnComplete: true });
    await until('the first turn is answered', () => c.messages.some((m) => m.usageMetadata));
    expect(c.closed()).toBeUndefined();
    session.sendClientContent({ turns: 'Again', turnComplete: true });
    await until('the session is ended', () => c.closed() !== undefined);
    expect(c.closed()).toMatchObject({ code: 1008, reason: expect.stringMatching(/budget/) });
    // Both turns in the ledger (it is written every few milliseconds) before their sum is judged.
    const thrifty = dir.getUser('live-thrifty')!.id;
    await until('both turns are in the ledger', () => ledger.rows({}).filter((r) => r.userId === thrifty).length === 2);
    expect(ledger.rows({}).filter((r) => r.userId === thrifty).reduce((n, r) => n + r.costUsd, 0)).toBeLessThanOrEqual(0.02);
    const other = live(tokenOf('live-limited', { models: ['gemini-2.0-flash-live-001'] }));
    await until('the session is refused', () => other.closed() !== undefined);
    expect(other.closed()).toMatchObject({ code: 1008, reason: expect.stringMatching(/model 'gemini-live-2.5-flash-preview' is not allowed/) });
    // A client that never sends its setup is closed, and nothing is opened upstream.
    const before = fake.sessions.length;
    const raw = await opened(`ws://127.0.0.1:${s.gw.port}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`, { headers: { 'x-goog-api-key': s.token } });
    raw.send({ clientContent: { turns: [], turnComplete: true } });
    expect(await raw.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/setup/) });
    expect(fake.sessions.length).toBe(before);
  });

  it('refuses before the handshake without a gateway token, or with a provider key', async () => {
    const url = `ws://127.0.0.1:${s.gw.port}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`;
    expect((await refused(url)).status).toBe(401);
    const r = await refused(`${url}?key=${encodeURIComponent(s.keys.gemini[0]!)}`);
    expect(r.status).toBe(401);
    expect(r.body).not.toContain(s.keys.gemini[0]);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 401 });
  });
});
