import { beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryCounters } from '../../src/store/memory.js';
import { attachFakeRealtime, CUT_SHORT_USAGE, OFFER, SPOKEN_USAGE, type FakeCall, type FakeRealtime } from './helpers/fake-realtime.js';
import { until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

/** gpt-realtime's list prices for SPOKEN_USAGE: 100 text + 100 cached text + 300 audio in, 100 text + 700 audio out. */
const RESPONSE_USD = (100 * 4 + 100 * 0.4 + 300 * 32 + 100 * 16 + 700 * 64) / 1e6;

describe('OpenAI Realtime calls over WebRTC, opened through the gateway and watched over their sideband', () => {
  const counters = new MemoryCounters();
  const s = gatewaySuite({ user: 'wren', gateway: { realtime: { usdPerSecret: 0.06 }, counters, corsOrigins: ['https://app.example'] } });
  const { dir } = s;
  let fake: FakeRealtime;
  const tokenOf = s.tokenFor;
  const spentBy = s.spentToday;
  const rowsOf = s.rowsOfUser;
  const call = (token: string, init: { query?: string; body?: string | FormData; type?: string; origin?: string; base?: string } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (init.type !== 'form') headers['content-type'] = init.type ?? 'application/sdp';
    if (init.origin) headers.origin = init.origin;
    return fetch(`${init.base ?? s.gw.origin}/v1/realtime/calls${init.query ?? '?model=gpt-realtime'}`, { method: 'POST', headers, body: init.body ?? OFFER });
  };
  const hangUp = (token: string, id: string) => fetch(`${s.gw.origin}/v1/realtime/calls/${id}/hangup`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  /** The call the gateway opened for the last request, once its sideband is attached. */
  const lastCall = async (): Promise<FakeCall> => {
    await until('the gateway watches the call', () => (fake.calls.at(-1)?.sidebands.length ?? 0) > 0);
    return fake.calls.at(-1)!;
  };

  beforeAll(() => {
    fake = attachFakeRealtime(s.upstream.server, s.keys.openai);
  });

  it('opens the call with the provider key, answers the SDP, bills each response the sideband reports and settles when the caller hangs up through the gateway', async () => {
    const token = tokenOf('caller', { budgetUsd: 5, period: 'day' });
    const r = await call(token, { origin: 'https://app.example' });
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/sdp');
    expect(await r.text()).toMatch(/^v=0\r\n/);
    const c = await lastCall();
    expect(r.headers.get('location')).toBe(`/v1/realtime/calls/${c.id}`);
    // A page reads the call's id from Location.
    expect(r.headers.get('access-control-expose-headers')).toContain('location');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(c.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
    expect(c.sdp).toBe(OFFER);
    expect(c.session).toEqual({ type: 'realtime', model: 'gpt-realtime' });
    expect(c.sidebands.map((x) => x.authorization)).toEqual([`Bearer ${s.keys.openai[0]}`]);
    c.respond();
    c.respond();
    await until('both responses are billed', () => rowsOf('caller').length === 2);
    expect(rowsOf('caller').map((x) => [x.route, x.model, x.tokensIn, x.tokensOut, x.status])).toEqual([
      ['realtime-call', 'gpt-realtime', 500, 800, 200],
      ['realtime-call', 'gpt-realtime', 500, 800, 200],
    ]);
    for (const x of rowsOf('caller')) expect(x.costUsd).toBeCloseTo(RESPONSE_USD, 9);
    // While the call runs, the budget holds what was billed and a hold ahead of it.
    expect(spentBy('caller')).toBeGreaterThanOrEqual(Math.ceil((2 * RESPONSE_USD + 0.06) * 1e9));
    // The gauge counts the calls watched with the sessions relayed.
    expect(Number(/^keyward_gateway_realtime_sessions\{provider="openai"\} (\d+)$/m.exec((await s.gw.gateway.metrics.scrape()).body)?.[1])).toBeGreaterThanOrEqual(1);
    const h = await hangUp(token, c.id);
    expect(h.status).toBe(200);
    await until('the call is hung up', () => c.hungUp);
    await until('the call is settled', () => spentBy('caller') === Math.ceil(2 * RESPONSE_USD * 1e9));
    const logs = s.gw.logs.join('');
    expect(logs).not.toContain(s.keys.openai[0]);
    expect(logs).not.toContain(token);
    expect(logs).toContain('Realtime call opened');
  });

  it('hangs the call up when a budget refuses more, so that it never passes the budget, and refuses the next call before it opens', async () => {
    const token = tokenOf('frugal', { budgetUsd: 0.15, period: 'day' });
    expect((await call(token)).status).toBe(201);
    const c = await lastCall();
    c.respond();
    c.respond();
    // Two responses ($0.113) leave less than a hold ($0.06) within $0.15: the gateway hangs up.
    await until('the gateway hung the call up', () => c.hungUp);
    await until('the call is settled', () => spentBy('frugal') === Math.ceil(2 * RESPONSE_USD * 1e9));
    expect(rowsOf('frugal').reduce((n, x) => n + x.costUsd, 0)).toBeLessThanOrEqual(0.15);
    const again = await call(token);
    expect(again.status).toBe(402);
    expect(((await again.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
  });

  it('holds the budgets for each response running at once, and hangs up when they cannot hold one more', async () => {
    const token = tokenOf('overlap', { budgetUsd: 0.15, period: 'day' });
    fake.usage = CUT_SHORT_USAGE;
    try {
      expect((await call(token)).status).toBe(201);
      const c = await lastCall();
      c.begin();
      c.begin();
      await until('a second hold is taken', () => spentBy('overlap') === 120_000_000);
      c.begin();
      await until('the gateway hung the call up', () => c.hungUp);
      await until('the three are billed and the call settled', () => rowsOf('overlap').length === 3 && spentBy('overlap') === Math.ceil(rowsOf('overlap').reduce((n, x) => n + x.costUsd, 0) * 1e9));
    } finally {
      fake.usage = SPOKEN_USAGE;
    }
  });

  it('hangs up a call at its next response once its token is revoked', async () => {
    dir.addUser('revoked-caller', { budgetUsd: 5, period: 'day' });
    const issued = issueToken(dir, 'revoked-caller');
    expect((await call(issued.token)).status).toBe(201);
    const c = await lastCall();
    dir.revokeToken(issued.record.id);
    c.respond();
    await until('the gateway hung the call up', () => c.hungUp);
    // The response that found it out is billed all the same.
    await until('the call is settled', () => rowsOf('revoked-caller').length === 1 && spentBy('revoked-caller') === Math.ceil(RESPONSE_USD * 1e9));
    expect(s.gw.logs.join('')).toContain("the session's credential is no longer valid");
  });

  it('cancels a response that starts while the call winds down, so that nothing new runs until the hang-up, and bills each', async () => {
    dir.addUser('talkative', { budgetUsd: 5, period: 'day' });
    const issued = issueToken(dir, 'talkative');
    expect((await call(issued.token)).status).toBe(201);
    const c = await lastCall();
    c.slowCancels = true;
    const first = c.begin();
    dir.revokeToken(issued.record.id);
    // The response that finds the token revoked ends the call: the one in progress is cancelled.
    c.respond();
    await until('the response in progress is cancelled', () => c.cancelled.length === 1);
    expect(c.cancelled).toEqual([first]);
    // The caller's audio goes to OpenAI directly, and its voice detection starts another response.
    const late = c.begin();
    await until('the late response is cancelled too', () => c.cancelled.length === 2);
    expect(c.cancelled).toEqual([first, late]);
    expect(c.hungUp).toBe(false);
    c.answerCancels();
    await until('the gateway hung the call up', () => c.hungUp);
    await until('all three are billed', () => rowsOf('talkative').length === 3);
  });

  it("takes OpenAI's form (sdp and session), refuses a transcription model the user may not call, and hangs up a call whose session turns to one", async () => {
    const token = tokenOf('former', { models: ['gpt-realtime', 'gpt-4o-mini-transcribe'] });
    const form = (session: Record<string, unknown>) => {
      const f = new FormData();
      f.set('sdp', OFFER);
      f.set('session', JSON.stringify(session));
      return f;
    };
    const calls = fake.calls.length;
    const no = await call(token, { query: '', type: 'form', body: form({ type: 'realtime', model: 'gpt-realtime', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } }) });
    expect(no.status).toBe(403);
    expect(((await no.json()) as { error: { message: string } }).error.message).toBe("model 'gpt-4o-transcribe' is not allowed for this user");
    expect(fake.calls.length).toBe(calls);
    const ok = await call(token, { query: '', type: 'form', body: form({ type: 'realtime', model: 'gpt-realtime', instructions: 'Be brief.', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe' } } } }) });
    expect(ok.status).toBe(201);
    const c = await lastCall();
    expect(c.session).toMatchObject({ model: 'gpt-realtime', instructions: 'Be brief.' });
    // The browser's data channel changes the session, out of the gateway's sight: the sideband tells.
    c.updated({ type: 'realtime', model: 'gpt-realtime', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } });
    await until('the gateway hung the call up', () => c.hungUp);
    expect(s.gw.logs.join('')).toContain('the session was changed to what the user may not use');
  });

  it('refuses what it cannot open or watch, with a clear error, and never leaves a call it cannot bill running', async () => {
    const token = tokenOf('careful', { budgetUsd: 5, period: 'day' });
    const errorOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as { error: { message: string } }).error });
    expect(await errorOf(await call(token, { query: '' }))).toMatchObject({ status: 400, message: expect.stringContaining('name the model') });
    expect(await errorOf(await call(token, { body: '{"sdp":"v=0"}', type: 'application/json' }))).toMatchObject({ status: 415, message: expect.stringContaining('application/sdp') });
    expect(await errorOf(await call(token, { body: 'hello' }))).toMatchObject({ status: 400, message: expect.stringContaining('not SDP') });
    expect((await call('kw_000000000000_' + 'A'.repeat(43))).status).toBe(401);
    // Another user cannot hang up someone's call.
    expect((await call(token)).status).toBe(201);
    const c = await lastCall();
    expect((await hangUp(tokenOf('stranger'), c.id)).status).toBe(404);
    expect(c.hungUp).toBe(false);
    // The caller ends it from the browser: OpenAI closes the sideband, and the hold is given back.
    c.endByCaller();
    await until('the call is settled', () => spentBy('careful') === 0);
    // OpenAI refuses the offer: its error passes on, nothing is left open, the hold is given back.
    fake.refuseCall.push(400);
    const bad = await call(token);
    expect(await errorOf(bad)).toMatchObject({ status: 400, message: 'the call was refused (400)' });
    expect(spentBy('careful')).toBe(0);
    // OpenAI opens the call but refuses the sideband: the call is hung up, the client told, the hold given back.
    fake.refuseSideband.push(500);
    const lost = await call(token);
    expect(lost.status).toBe(502);
    expect(((await lost.json()) as { error: { message: string } }).error.message).toContain('hung it up');
    expect(fake.calls.at(-1)!.hungUp).toBe(true);
    expect(spentBy('careful')).toBe(0);
    for (const text of s.gw.logs) expect(text).not.toContain(s.keys.openai[0]);
  });

  it('hangs up the calls it watches when the gateway shuts down, since it could no longer bill them', async () => {
    const token = tokenOf('late');
    const g = await s.another({ realtime: { usdPerSecret: 0.06 } });
    expect((await call(token, { base: g.origin })).status).toBe(201);
    const c = await lastCall();
    c.begin();
    await g.stop();
    await until('the call is hung up', () => c.hungUp);
  });
});
