import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, type GatewayOptions } from '../../src/gateway/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('requests in flight per user (--parallel)', () => {
  let upstream: FakeUpstream;
  const opened: TestGateway[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, outputTokens: 20, chunkDelayMs: 5 });
  });
  afterEach(async () => {
    upstream.faults.length = 0;
    for (const g of opened.splice(0)) await g.stop();
  });
  afterAll(() => upstream.close());

  async function gatewayFor(parallel: number, options: Partial<GatewayOptions> = {}) {
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, { directory: dir, ledger, ...options });
    opened.push(gw);
    dir.addUser('pat', { parallel });
    return { gw, dir, ledger, token: issueToken(dir, 'pat').token };
  }
  const streamsSeen = () => upstream.seen.filter((s) => s.body?.stream === true).length;
  const stream = (gw: TestGateway, token: string) => post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { stream: true }), bearer(token));
  const quick = (gw: TestGateway, token: string) => post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o-mini', { max_tokens: 1 }), bearer(token));

  it('refuses a request past the limit while the others stream, with a 429 that says why, and admits again once one ends', async () => {
    const { gw, token } = await gatewayFor(2);
    const before = streamsSeen();
    // Two seconds of stream each: still running whatever the machine's load when the third request comes.
    upstream.fail({ chunkDelayMs: 100 }, { chunkDelayMs: 100 });
    const running = [stream(gw, token), stream(gw, token)];
    await until('both streams have started upstream', () => streamsSeen() >= before + 2);
    const refused = await quick(gw, token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json.error).toMatchObject({ type: 'rate_limit_exceeded', message: 'too many requests in flight: this user may have 2 at once; retry when one of them has ended' });
    for (const r of await Promise.all(running)) expect(r.status).toBe(200);
    expect((await quick(gw, token)).status).toBe(200);
  });

  it('frees the place on every way a request can end: an upstream error, a reset mid-stream, a timeout, a client that leaves', async () => {
    const { gw, token } = await gatewayFor(1, { resilience: { timeoutMs: 150, idleTimeoutMs: 150, retries: 0, backoffBaseMs: 1, backoffMaxMs: 2 } });
    upstream.fail({ status: 500 });
    expect((await quick(gw, token)).status).toBe(500);
    expect((await quick(gw, token)).status).toBe(200);

    upstream.fail({ reset: 'midstream' });
    await stream(gw, token);
    expect((await quick(gw, token)).status).toBe(200);

    upstream.fail({ hang: true });
    expect((await quick(gw, token)).status).toBe(504);
    expect((await quick(gw, token)).status).toBe(200);

    const ac = new AbortController();
    const r = await fetch(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: JSON.stringify(chat('gpt-4o-mini', { stream: true })), signal: ac.signal });
    await r.body!.getReader().read();
    ac.abort();
    await until('the place is free again', async () => (await quick(gw, token)).status === 200);
  });

  it("is the user's alone: another user is not held back", async () => {
    const { gw, dir, token } = await gatewayFor(1);
    dir.addUser('other', { parallel: 1 });
    const other = issueToken(dir, 'other').token;
    const before = streamsSeen();
    upstream.fail({ chunkDelayMs: 100 });
    const running = stream(gw, token);
    await until('the stream has started upstream', () => streamsSeen() > before);
    expect((await quick(gw, token)).status).toBe(429);
    expect((await quick(gw, other)).status).toBe(200);
    expect((await running).status).toBe(200);
  });
});
