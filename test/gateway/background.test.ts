import { beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryCounters } from '../../src/store/memory.js';
import { attachFakeBackground, type FakeBackground } from './helpers/fake-background.js';
import { bearer, until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

/** gpt-4o-mini's list prices, per token. */
const IN_USD = 0.15 / 1e6;
const OUT_USD = 0.6 / 1e6;

describe('OpenAI background responses: followed until they finish, billed for what they used, reached only by their owner', () => {
  const counters = new MemoryCounters();
  const s = gatewaySuite({ user: 'bg', gateway: { counters, background: { pollMs: 40 } } });
  const { dir, ledger } = s;
  let fake: FakeBackground;
  const tokenOf = s.tokenFor;
  const spentBy = s.spentToday;
  const rowsOf = s.rowsOfUser;
  const start = (token: string, body: Record<string, unknown> = {}, base = s.gw.origin) =>
    fetch(`${base}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'Summarise the report.', background: true, max_output_tokens: 100_000, ...body }) });
  const object = (token: string, id: string, part = '', init: RequestInit = {}) => fetch(`${s.gw.origin}/v1/responses/${id}${part}`, { ...init, headers: { ...bearer(token), ...(init.headers as Record<string, string> | undefined) } });

  beforeAll(() => {
    fake = attachFakeBackground(s.upstream.server, s.keys.openai);
  });

  it('keeps the reservation held while the response runs and bills what it reports once finished, whether or not the client polls', async () => {
    const token = tokenOf('poller', { budgetUsd: 5, period: 'day' });
    const r = await start(token);
    expect(r.status).toBe(200);
    const queued = (await r.json()) as { id: string; status: string; usage: unknown };
    expect(queued).toMatchObject({ status: 'queued', usage: null });
    // Nothing billed yet, the worst case held: the answer said nothing of what the model will use.
    expect(rowsOf('poller')).toEqual([]);
    const held = spentBy('poller');
    expect(held).toBeGreaterThanOrEqual(Math.floor(100_000 * OUT_USD * 1e9));
    // The client polls through the gateway, with its own token; the gateway asks with the key that started it.
    const still = await object(token, queued.id);
    expect(still.status).toBe(200);
    expect(((await still.json()) as { status: string }).status).toBe('queued');
    expect(spentBy('poller')).toBe(held);
    fake.responses.at(-1)!.finish({ input_tokens: 1_000, output_tokens: 20_000 });
    const done = (await (await object(token, queued.id)).json()) as { status: string };
    expect(done.status).toBe('completed');
    await until('the response is billed', () => rowsOf('poller').some((x) => x.route === 'responses'));
    const billed = rowsOf('poller').find((x) => x.route === 'responses')!;
    expect([billed.tokensIn, billed.tokensOut, billed.status, billed.outcome]).toEqual([1_000, 20_000, 200, 'ok']);
    expect(billed.costUsd).toBeCloseTo(1_000 * IN_USD + 20_000 * OUT_USD, 12);
    expect(spentBy('poller')).toBe(Math.ceil(billed.costUsd * 1e9));
    // Retrievals are counted as requests and billed nothing.
    await until('both retrievals are in the ledger', () => rowsOf('poller').filter((x) => x.route === 'response').length === 2);
    expect(rowsOf('poller').filter((x) => x.route === 'response').map((x) => x.costUsd)).toEqual([0, 0]);
    for (const q of fake.requests.filter((x) => x.url.startsWith(`/v1/responses/${queued.id}`))) expect(q.authorization).toBe(`Bearer ${s.keys.openai[0]}`);

    // A client that never asks again: the gateway asks OpenAI itself, and bills.
    const quiet = (await (await start(token)).json()) as { id: string };
    fake.responses.at(-1)!.finish({ input_tokens: 500, output_tokens: 4_000 });
    await until('the gateway found it finished', () => rowsOf('poller').filter((x) => x.route === 'responses').length === 2);
    expect(rowsOf('poller').filter((x) => x.route === 'responses')[1]!.tokensOut).toBe(4_000);
    expect(fake.requests.some((x) => x.method === 'GET' && x.url === `/v1/responses/${quiet.id}`)).toBe(true);
    const logs = s.gw.logs.join('');
    expect(logs).not.toContain(s.keys.openai[0]);
    expect(logs).not.toContain(token);
  });

  it('never lets background responses pass a hard budget: what runs stays held, so the next is refused', async () => {
    // Each may write 100 000 tokens ($0.06): one fits in $0.10, two do not.
    const token = tokenOf('thrifty', { budgetUsd: 0.1, period: 'day' });
    expect((await start(token)).status).toBe(200);
    const second = await start(token);
    expect(second.status).toBe(402);
    expect(((await second.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
    fake.responses.at(-1)!.finish({ input_tokens: 100, output_tokens: 1_000 });
    await until('the first is billed and its hold settled', () => rowsOf('thrifty').length === 1);
    // Settled to what it used, the budget has room again.
    expect((await start(token)).status).toBe(200);
  });

  it('lets only its owner retrieve, cancel or delete it, and bills a cancelled response for what it reports', async () => {
    const token = tokenOf('owner', { budgetUsd: 5, period: 'day' });
    const stranger = tokenOf('stranger');
    const { id } = (await (await start(token)).json()) as { id: string };
    for (const [part, method] of [['', 'GET'], ['/cancel', 'POST'], ['', 'DELETE'], ['/input_items', 'GET']] as const) {
      const r = await object(stranger, id, part, { method });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { message: string } }).error.message).toContain('no response of yours');
    }
    expect(fake.responses.at(-1)!.status).toBe('queued');
    expect((await object(token, 'resp_not_started_here')).status).toBe(404);
    expect((await object(token, id, '/cancel')).status).toBe(405);
    // A method no response route takes is refused before anything else, with the methods they take.
    const put = await fetch(`${s.gw.origin}/v1/responses/${id}`, { method: 'PUT' });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST, DELETE']);
    const items = await object(token, id, '/input_items');
    expect(((await items.json()) as { object: string }).object).toBe('list');
    const cancelled = await object(token, id, '/cancel', { method: 'POST' });
    expect(((await cancelled.json()) as { status: string }).status).toBe('cancelled');
    await until('the cancelled response is billed', () => rowsOf('owner').some((x) => x.route === 'responses'));
    expect(rowsOf('owner').find((x) => x.route === 'responses')).toMatchObject({ tokensIn: 40, tokensOut: 7, outcome: 'cancelled' });
    expect((await object(token, id, '', { method: 'DELETE' })).status).toBe(200);
    // Deleted: the gateway forgets whose it was.
    expect((await object(token, id)).status).toBe(404);
  });

  it('follows a background stream its client left, and bills the whole response, not the events it saw', async () => {
    const token = tokenOf('leaver', { budgetUsd: 5, period: 'day' });
    const r = await start(token, { stream: true }, s.gw.origin);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const id = /"id":"(resp_[^"]+)"/.exec(first)![1]!;
    await reader.cancel();
    const resp = fake.responses.find((x) => x.id === id)!;
    await until('the stream was left', () => resp.streamLeft);
    expect(rowsOf('leaver')).toEqual([]);
    // The client resumes it through the gateway.
    const resumed = await object(token, id, '?stream=true');
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    resp.finish({ input_tokens: 300, output_tokens: 9_000 });
    expect(await resumed.text()).toContain('response.completed');
    await until('the response is billed', () => rowsOf('leaver').some((x) => x.route === 'responses'));
    expect(rowsOf('leaver').find((x) => x.route === 'responses')).toMatchObject({ tokensIn: 300, tokensOut: 9_000, outcome: 'ok' });
  });

  it("cancels a running response once its token is revoked or its user disabled, and bills what it reports", async () => {
    dir.addUser('revokee', { budgetUsd: 5, period: 'day' });
    const issued = issueToken(dir, 'revokee');
    const { id } = (await (await start(issued.token)).json()) as { id: string };
    dir.revokeToken(issued.record.id);
    await until('the response is cancelled', () => fake.responses.find((x) => x.id === id)!.status === 'cancelled');
    await until('it is billed', () => rowsOf('revokee').some((x) => x.route === 'responses'));
    expect(rowsOf('revokee').find((x) => x.route === 'responses')).toMatchObject({ tokensIn: 40, tokensOut: 7, outcome: 'token_revoked' });
    const token = tokenOf('disablee', { budgetUsd: 5, period: 'day' });
    const second = (await (await start(token)).json()) as { id: string };
    dir.setDisabled('disablee', true);
    await until('the response is cancelled', () => fake.responses.find((x) => x.id === second.id)!.status === 'cancelled');
    await until('it is billed', () => rowsOf('disablee').some((x) => x.outcome === 'user_disabled'));
  });

  it('refuses a background request for a model another provider serves, and a background flag that is not a boolean', async () => {
    const token = tokenOf('mixed');
    const g = await s.another({ providers: { groq: { baseUrl: 'http://127.0.0.1:1/v1', models: ['llama-3.3-70b-versatile'] } }, prices: { 'llama-3.3-70b-versatile': { input: 0.59, output: 0.79 } } });
    const llama = await start(token, { model: 'llama-3.3-70b-versatile' }, g.origin);
    expect(llama.status).toBe(400);
    expect(((await llama.json()) as { error: { message: string } }).error.message).toBe("background responses are OpenAI's: 'llama-3.3-70b-versatile' is served by groq, which runs none; call it without background");
    const odd = await start(token, { background: 'yes' });
    expect(odd.status).toBe(400);
    expect(((await odd.json()) as { error: { message: string } }).error.message).toBe("'background' must be true or false");
  });

  it('cancels and bills the responses it follows when it shuts down, since it could no longer bill them', async () => {
    const token = tokenOf('late', { budgetUsd: 5, period: 'day' });
    const g = await s.another({ ledger, counters, background: { pollMs: 60_000 } });
    const { id } = (await (await start(token, {}, g.origin)).json()) as { id: string };
    await g.stop();
    expect(fake.responses.find((x) => x.id === id)!.status).toBe('cancelled');
    expect(rowsOf('late').find((x) => x.route === 'responses')).toMatchObject({ tokensIn: 40, tokensOut: 7, outcome: 'shutdown' });
    expect(spentBy('late')).toBe(Math.ceil((40 * IN_USD + 7 * OUT_USD) * 1e9));
  });

  it('takes how background responses are followed from the config, and says what is wrong with a bad setting', () => {
    expect(validateGatewayConfig({ background: { pollMs: 5_000, maxMs: 3_600_000, onShutdown: 'cancel' } }).background).toEqual({ pollMs: 5_000, maxMs: 3_600_000, onShutdown: 'cancel' });
    expect(() => validateGatewayConfig({ background: { onShutdown: 'never' } })).toThrow(/'onShutdown' is one of handover, cancel/);
    expect(() => validateGatewayConfig({ background: { pollMs: 10 } })).toThrow(/'pollMs' is a whole number of milliseconds, 1000 or more/);
  });
});
