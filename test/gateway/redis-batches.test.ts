import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryLedger } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
/** gpt-4o-mini's and claude-haiku-4-5's list prices per token; a batch pays half. */
const IN_USD = 0.15 / 1e6;
const OUT_USD = 0.6 / 1e6;
const HAIKU_IN = 1 / 1e6;
const HAIKU_OUT = 5 / 1e6;

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('batches outlive the instance that created them, on a shared redis-server', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let fake: FakeBatches;
  let dir: string;
  const stores: SqliteStore[] = [];
  const gateways: TestGateway[] = [];

  const instance = async () => {
    const store = new SqliteStore(join(dir, 'keyward.db'));
    stores.push(store);
    const counters = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, { directory: store, counters, ledger, background: { pollMs: 50 } });
    gateways.push(gw);
    return { gw, counters, ledger, store };
  };

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    fake = attachFakeBatches(upstream.server, keys);
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-batches-'));
  });
  afterAll(async () => {
    for (const g of gateways) await g.stop().catch(() => {});
    for (const s of stores) s.close();
    fake.close();
    await upstream.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands its batches over at a clean shutdown; another instance follows them, bills each once at batch rates, and serves their owner', async () => {
    const a = await instance();
    const b = await instance();
    const user = a.store.addUser('overnight', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'overnight').token;
    const spent = async () => (await b.counters.peek(`b:u:${user.id}:${period('day').key}`)) / 1e9;
    const oa = (origin: string) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
    const an = (origin: string) => new Anthropic({ baseURL: origin, apiKey: token, maxRetries: 0 });

    const file = await oa(a.gw.origin).files.create({ file: await toFile(Buffer.from(JSON.stringify({ custom_id: '1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2_000 } }) + '\n'), 'r.jsonl'), purpose: 'batch' });
    // The file is known on every instance: the batch is created through the other one.
    const openaiBatch = await oa(b.gw.origin).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const claudeBatch = await an(a.gw.origin).messages.batches.create({ requests: [{ custom_id: 'x', params: { model: 'claude-haiku-4-5', max_tokens: 1_000, messages: [{ role: 'user', content: 'hi' }] } }] });
    const held = await spent();
    expect(held).toBeGreaterThanOrEqual((2_000 * OUT_USD + 1_000 * HAIKU_OUT) / 2);

    await a.gw.stop();
    expect(a.gw.logs.join('')).toContain('batches handed over to the other instances');
    await until('the other instance took it over', () => b.gw.logs.join('').includes('batch taken over from an instance that stopped following it'));
    // Not billed at the shutdown: held still, and running at Anthropic.
    expect(a.ledger.rows({ userId: user.id }).filter((r) => r.route === 'batches')).toEqual([]);
    expect(await spent()).toBe(held);

    fake.batches.find((x) => x.id === openaiBatch.id)!.end([{ input_tokens: 100, output_tokens: 1_500 }]);
    fake.batches.find((x) => x.id === claudeBatch.id)!.end([{ input_tokens: 50, output_tokens: 600 }]);
    await until('both batches are billed', () => b.ledger.rows({ userId: user.id }).filter((r) => r.route === 'batches').length === 2, 10_000);
    const rows = b.ledger.rows({ userId: user.id }).filter((r) => r.route === 'batches');
    const cost = (model: string) => rows.find((r) => r.model === model)!.costUsd;
    expect(cost('gpt-4o-mini')).toBeCloseTo((100 * IN_USD + 1_500 * OUT_USD) / 2, 12);
    expect(cost('claude-haiku-4-5')).toBeCloseTo((50 * HAIKU_IN + 600 * HAIKU_OUT) / 2, 12);
    await until('the hold is settled to the real cost', async () => Math.abs((await spent()) - (cost('gpt-4o-mini') + cost('claude-haiku-4-5'))) < 1e-8);
    // Its owner reaches the batch the stopped instance made, through the one left.
    expect((await an(b.gw.origin).messages.batches.retrieve(claudeBatch.id)).processing_status).toBe('ended');
    await new Promise((r) => setTimeout(r, 200));
    expect(b.ledger.rows({ userId: user.id }).filter((r) => r.route === 'batches')).toHaveLength(2);
    await b.gw.stop();
  });
});
