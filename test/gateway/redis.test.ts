import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryLedger } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { attachFakeBackground } from './helpers/fake-background.js';
import { attachFakeRealtime, OFFER } from './helpers/fake-realtime.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { opened } from './helpers/realtime-client.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
const prices = { 'test-model': { input: 1000, output: 1000 } };

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('two gateway instances sharing one real redis-server', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let dir: string;
  const stores: SqliteStore[] = [];
  const counters: RedisCounters[] = [];
  const ledgers = [new MemoryLedger(), new MemoryLedger()];
  const gws: TestGateway[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, promptTokens: 10, outputTokens: 40, chunkDelayMs: 5 });
    dir = mkdtempSync(join(tmpdir(), 'kw-gw-redis-'));
    for (let i = 0; i < 2; i++) {
      // Each instance opens the shared SQLite directory and its own Redis connection, as two processes would.
      const store = new SqliteStore(join(dir, 'keyward.db'));
      const c = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
      stores.push(store);
      counters.push(c);
      gws.push(await startGateway(upstream, keys, { directory: store, counters: c, ledger: ledgers[i], prices, limitsOnStoreFailure: 'open', teams: { crew: { budgetUsd: 0.5, period: 'day' } } }));
    }
  });
  afterAll(async () => {
    for (const g of gws) {
      await g.stop();
    }
    for (const c of counters) await c.close();
    for (const s of stores) s.close();
    await upstream.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a limit of N admits exactly N across both instances under concurrent load', async () => {
    stores[0]!.addUser('exact', { rpm: 25 });
    const token = issueToken(stores[0]!, 'exact').token;
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => post(`${gws[i % 2]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(token))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(55);
    // Both instances admitted some: the limit really was shared.
    expect(results.filter((r, i) => i % 2 === 0 && r.status === 200).length).toBeGreaterThan(0);
    expect(results.filter((r, i) => i % 2 === 1 && r.status === 200).length).toBeGreaterThan(0);
  });

  it('a limit on requests in flight holds across both instances under concurrent streaming load, and frees its places as streams end', async () => {
    stores[0]!.addUser('streamer', { parallel: 3 });
    const token = issueToken(stores[0]!, 'streamer').token;
    // The three admitted streams send 10 chunks 100 ms apart: all still running when the last request arrives.
    upstream.fail({ chunkDelayMs: 100 }, { chunkDelayMs: 100 }, { chunkDelayMs: 100 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`${gws[i % 2]!.origin}/v1/chat/completions`, chat('test-model', { stream: true, max_tokens: 10 }), bearer(token))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    expect(results.find((r) => r.status === 429)!.text).toMatch(/this user may have 3 at once/);
    // The settlements that free the places ride to Redis within milliseconds.
    await until('the places are free again', async () => (await post(`${gws[1]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(token))).status === 200);
    const again = await Promise.all(Array.from({ length: 3 }, (_, i) => post(`${gws[i % 2]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(token))));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('a hard budget is never overshot by concurrent streaming requests on both instances', async () => {
    const budget = 0.5;
    stores[1]!.addUser('spender', { budgetUsd: budget, period: 'day' });
    const token = issueToken(stores[1]!, 'spender').token;
    const body = JSON.stringify(chat('test-model', { stream: true, max_tokens: 40 }));
    const one = async (i: number) => {
      const r = await fetch(`${gws[i % 2]!.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body });
      await r.text();
      return r.status;
    };
    // Three waves of 16 concurrent streams: more than the budget can pay for.
    const statuses: number[] = [];
    for (let wave = 0; wave < 3; wave++) statuses.push(...(await Promise.all(Array.from({ length: 16 }, (_, i) => one(i)))));
    const uid = stores[1]!.getUser('spender')!.id;
    await until('every admitted stream is in a ledger', () => ledgers.flatMap((l) => l.rows({ userId: uid })).filter((r) => r.status === 200).length >= statuses.filter((s) => s === 200).length);
    const billed = ledgers.flatMap((l) => l.rows({ userId: uid })).reduce((s, r) => s + r.costUsd, 0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(3);
    expect(statuses.filter((s) => s === 402).length).toBeGreaterThan(0);
    expect(billed).toBeLessThanOrEqual(budget + 1e-9);
    // Each stream really cost 50 tokens = $0.05 and was billed so.
    expect(billed).toBeCloseTo(statuses.filter((s) => s === 200).length * 0.05, 6);
  });

  it('relayed Realtime sessions on both instances never pass a hard budget together', async () => {
    const fake = attachFakeRealtime(upstream.server, keys.openai);
    const rt = [0, 1].map((i) => startGateway(upstream, keys, { directory: stores[i]!, counters: counters[i]!, ledger: ledgers[i], realtime: { usdPerSecret: 0.06 } }));
    const both = await Promise.all(rt);
    try {
      const budget = 0.4;
      stores[0]!.addUser('talker', { budgetUsd: budget, period: 'day' });
      const token = issueToken(stores[0]!, 'talker').token;
      // One session on each instance, asking for responses until the gateway ends it.
      const talk = async (i: number) => {
        const c = await opened(`ws://127.0.0.1:${both[i]!.port}/v1/realtime?model=gpt-realtime`, { headers: bearer(token) });
        await c.next('session.created');
        const ended = c.closed.then((x) => x.code);
        let open = true;
        void ended.then(() => (open = false));
        for (let n = 0; open && n < 20; n++) {
          c.send({ type: 'response.create' });
          await Promise.race([c.next('response.done'), ended]);
        }
        return { code: await ended, error: c.events.find((e) => e.type === 'error')?.error };
      };
      const ends = await Promise.all([talk(0), talk(1)]);
      for (const e of ends) {
        expect(e.code).toBe(1008);
        expect(e.error).toMatchObject({ type: 'budget_exceeded' });
      }
      const uid = stores[0]!.getUser('talker')!.id;
      const rows = () => ledgers.flatMap((l) => l.rows({ userId: uid }));
      const billed = () => rows().reduce((n, r) => n + r.costUsd, 0);
      const counted = async () => Number(await counters[0]!.peek(`b:u:${uid}:${period('day').key}`));
      // A response in progress when a session ends is billed after the end: wait until the ledger and the shared counter agree.
      await until('the holds are settled to what the ledgers billed', async () => Math.abs((await counted()) - Math.ceil(billed() * 1e9)) <= 2).catch(async (err: unknown) => {
        throw new Error(`${String(err)}: counted ${await counted()}, billed ${Math.ceil(billed() * 1e9)} (${rows().length} rows)`);
      });
      expect(billed()).toBeLessThanOrEqual(budget);
      // Both instances billed responses, and together they came within three holds of the budget.
      expect(ledgers.map((l) => l.rows({ userId: uid }).length > 0)).toEqual([true, true]);
      expect(billed()).toBeGreaterThan(budget - 3 * 0.06);
    } finally {
      for (const g of both) await g.stop();
      await fake.close();
    }
  });

  it('a WebRTC call opened on one instance can be hung up through the other, which settles it on the first', async () => {
    const fake = attachFakeRealtime(upstream.server, keys.openai);
    const both = await Promise.all([0, 1].map((i) => startGateway(upstream, keys, { directory: stores[i]!, counters: counters[i]!, ledger: ledgers[i], realtime: { usdPerSecret: 0.06 } })));
    // An instance given other provider keys cannot hang up what the first key opened.
    const otherKeys = await startGateway(upstream, { openai: [fakeOpenAiKey()], anthropic: keys.anthropic }, { directory: stores[1]!, counters: counters[1]!, realtime: { usdPerSecret: 0.06 } });
    try {
      stores[0]!.addUser('dialer', { budgetUsd: 5, period: 'day' });
      stores[0]!.addUser('eavesdropper', {});
      const token = issueToken(stores[0]!, 'dialer').token;
      const stranger = issueToken(stores[0]!, 'eavesdropper').token;
      const uid = stores[0]!.getUser('dialer')!.id;
      const counted = async () => Number(await counters[0]!.peek(`b:u:${uid}:${period('day').key}`));
      const opened = await fetch(`${both[0]!.origin}/v1/realtime/calls?model=gpt-realtime`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/sdp' }, body: OFFER });
      expect(opened.status).toBe(201);
      const path = opened.headers.get('location')!;
      await until('the first instance watches the call', () => (fake.calls.at(-1)?.sidebands.length ?? 0) > 0);
      const c = fake.calls.at(-1)!;
      c.respond();
      await until('the response is billed on the first instance', () => ledgers[0]!.rows({ userId: uid }).length === 1);
      const hangUp = (g: TestGateway, t: string) => fetch(`${g.origin}${path}/hangup`, { method: 'POST', headers: bearer(t) });
      expect((await hangUp(both[1]!, stranger)).status).toBe(404);
      const unheld = await hangUp(otherKeys, token);
      expect(unheld.status).toBe(502);
      expect(((await unheld.json()) as { error: { message: string } }).error.message).toContain('a provider key this one does not hold');
      expect(c.hungUp).toBe(false);
      expect((await hangUp(both[1]!, token)).status).toBe(200);
      expect(c.hungUp).toBe(true);
      // The provider closed the sideband: the first instance settles, its hold given back.
      const billed = Math.ceil(ledgers[0]!.rows({ userId: uid })[0]!.costUsd * 1e9);
      await until('the call is settled on the first instance', async () => (await counted()) === billed);
      expect(ledgers[1]!.rows({ userId: uid })).toEqual([]);
      // The record goes with the call: there is nothing left to hang up.
      await until('the call is forgotten', async () => (await hangUp(both[1]!, token)).status === 404);
      for (const g of [...both, otherKeys]) for (const text of g.logs) expect(text).not.toContain(keys.openai[0]);
      expect(both[1]!.logs.join('')).toContain('Realtime call hung up for the instance that watches it');
    } finally {
      for (const g of [...both, otherKeys]) await g.stop();
      await fake.close();
    }
  });

  it('a background response started on one instance is retrieved through the other by its owner alone, and billed once by the first', async () => {
    const fake = attachFakeBackground(upstream.server, keys.openai);
    const both = await Promise.all([0, 1].map((i) => startGateway(upstream, keys, { directory: stores[i]!, counters: counters[i]!, ledger: ledgers[i], background: { pollMs: 40 } })));
    try {
      stores[0]!.addUser('batcher', { budgetUsd: 5, period: 'day' });
      stores[0]!.addUser('onlooker', {});
      const token = issueToken(stores[0]!, 'batcher').token;
      const stranger = issueToken(stores[0]!, 'onlooker').token;
      const uid = stores[0]!.getUser('batcher')!.id;
      const started = await fetch(`${both[0]!.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', background: true, max_output_tokens: 1000 }) });
      const { id } = (await started.json()) as { id: string };
      const get = (t: string) => fetch(`${both[1]!.origin}/v1/responses/${id}`, { headers: bearer(t) });
      expect((await get(stranger)).status).toBe(404);
      const seen = await get(token);
      expect(seen.status).toBe(200);
      expect(((await seen.json()) as { status: string }).status).toBe('queued');
      fake.responses.at(-1)!.finish({ input_tokens: 10, output_tokens: 700 });
      expect(((await (await get(token)).json()) as { status: string }).status).toBe('completed');
      const billed = () => ledgers.flatMap((l) => l.rows({ userId: uid })).filter((r) => r.route === 'responses');
      await until('the first instance billed it', () => billed().length === 1);
      expect(ledgers[0]!.rows({ userId: uid }).filter((r) => r.route === 'responses').map((r) => r.tokensOut)).toEqual([700]);
      await new Promise((r) => setTimeout(r, 200));
      expect(billed().length).toBe(1);
    } finally {
      for (const g of both) await g.stop();
      fake.close();
    }
  });

  it("a team's hard budget is never overshot by its members' concurrent streams on both instances", async () => {
    const tokens = ['deck', 'helm'].map((name) => {
      stores[0]!.addUser(name, { team: 'crew' });
      return issueToken(stores[0]!, name).token;
    });
    const body = JSON.stringify(chat('test-model', { stream: true, max_tokens: 40 }));
    const one = async (i: number) => {
      const r = await fetch(`${gws[i % 2]!.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(tokens[Math.floor(i / 2) % 2]!) }, body });
      const text = await r.text();
      return { status: r.status, text };
    };
    const answers: Array<{ status: number; text: string }> = [];
    for (let wave = 0; wave < 3; wave++) answers.push(...(await Promise.all(Array.from({ length: 16 }, (_, i) => one(i)))));
    const ok = answers.filter((a) => a.status === 200).length;
    const crewRows = () => ledgers.flatMap((l) => l.rows({})).filter((r) => r.team === 'crew');
    await until('every admitted stream is in a ledger', () => crewRows().length >= ok);
    const billed = crewRows().reduce((s, r) => s + r.costUsd, 0);
    expect(ok).toBeGreaterThan(3);
    expect(billed).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(billed).toBeCloseTo(ok * 0.05, 6);
    expect(answers.find((a) => a.status === 402)?.text).toMatch(/budget reached: team 'crew'/);
    // Both members were served: the budget is the team's, not each one's.
    expect(new Set(crewRows().map((r) => r.userId)).size).toBe(2);
  });

  it('a revoked token and a disabled user are refused at once by the other instance', async () => {
    stores[0]!.addUser('leaver', {});
    const t1 = issueToken(stores[0]!, 'leaver');
    const t2 = issueToken(stores[0]!, 'leaver');
    expect((await post(`${gws[1]!.origin}/v1/chat/completions`, chat(), bearer(t1.token))).status).toBe(200);
    stores[0]!.revokeToken(t1.record.id);
    const revoked = await post(`${gws[1]!.origin}/v1/chat/completions`, chat(), bearer(t1.token));
    expect(revoked.status).toBe(401);
    expect(String((revoked.json.error as { message: string }).message)).toMatch(/revoked/);
    expect((await post(`${gws[1]!.origin}/v1/chat/completions`, chat(), bearer(t2.token))).status).toBe(200);
    stores[0]!.setDisabled('leaver', true);
    const disabled = await post(`${gws[1]!.origin}/v1/chat/completions`, chat(), bearer(t2.token));
    expect(disabled.status).toBe(403);
    expect(String((disabled.json.error as { message: string }).message)).toMatch(/disabled/);
  });

  it('with Redis stopped mid-run, budgets fail closed and limits follow the configured mode (open here), with clear errors and no key material', async () => {
    stores[0]!.addUser('budgeted', { budgetUsd: 10 });
    stores[0]!.addUser('limited', { rpm: 100 });
    const b = issueToken(stores[0]!, 'budgeted').token;
    const l = issueToken(stores[0]!, 'limited').token;
    expect((await post(`${gws[0]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(b))).status).toBe(200);
    await redis.stop();
    const refused = await post(`${gws[0]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(b));
    expect(refused.status).toBe(503);
    expect(String((refused.json.error as { message: string }).message)).toMatch(/budgets cannot be checked/);
    expect(refused.headers.get('retry-after')).toBe('2');
    const open = await post(`${gws[1]!.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 5 }), bearer(l));
    expect(open.status).toBe(200);
    // Limits fail open here, so the instance still serves: it stays ready.
    expect((await fetch(`${gws[1]!.origin}/readyz`)).status).toBe(200);
    // What an operator's dashboard sees: the refusal by its type, and the failed store calls.
    const m0 = (await gws[0]!.gateway.metrics.scrape()).body;
    expect(m0).toMatch(/^keyward_gateway_requests_total\{route="chat",provider="openai",status="503",outcome="store_unavailable"\} 1$/m);
    expect(m0).toMatch(/^keyward_gateway_store_failures_total\{operation="admit"\} 1$/m);
    expect((await gws[1]!.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_store_failures_total\{operation="admit"\} 1$/m);
    const all = refused.text + open.text + gws.flatMap((g) => g.logs).join('');
    for (const k of [...keys.openai, ...keys.anthropic]) expect(all.includes(k.slice(0, 20))).toBe(false);
    expect(all).not.toContain(b);
  });
});

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('limits fail closed by default when Redis is gone', () => {
  it('refuses with 503 rather than letting traffic through unlimited', async () => {
    const redis = await startRedis();
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const dir = mkdtempSync(join(tmpdir(), 'kw-gw-redis-'));
    const store = new SqliteStore(join(dir, 'k.db'));
    const c = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
    const gw = await startGateway(upstream, keys, { directory: store, counters: c });
    try {
      store.addUser('x', { rpm: 10 });
      const t = issueToken(store, 'x').token;
      expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(t))).status).toBe(200);
      expect((await fetch(`${gw.origin}/readyz`)).status).toBe(200);
      await redis.stop();
      const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(t));
      expect(r.status).toBe(503);
      expect(String((r.json.error as { message: string }).message)).toMatch(/rate limits cannot be checked/);
      // Every request would be refused: not ready, saying why.
      const ready = await fetch(`${gw.origin}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([503, { ready: false, reason: 'the usage store (Redis) is unreachable' }]);
    } finally {
      await gw.stop();
      await c.close();
      store.close();
      await upstream.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
