import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryLedger } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { attachFakeBackground, type FakeBackground } from './helpers/fake-background.js';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { attachFakeCaches } from './helpers/fake-caches.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
/** gpt-4o-mini's list prices, per token. */
const IN_USD = 0.15 / 1e6;
const OUT_USD = 0.6 / 1e6;
/** claude-haiku-4-5's. */
const HAIKU_IN = 1 / 1e6;
const HAIKU_OUT = 5 / 1e6;

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('background responses and batches outlive the instance that started them, on a shared redis-server', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let fake: FakeBackground;
  let batches: FakeBatches;
  let dir: string;
  const stores: SqliteStore[] = [];
  const gateways: TestGateway[] = [];

  /** An instance with its own Redis connection, SQLite handle on the shared directory, and ledger. */
  const instance = async ({ promptSecrets, ...options }: { onShutdown?: 'handover' | 'cancel'; promptSecrets?: 'redact' } = {}) => {
    const store = new SqliteStore(join(dir, 'keyward.db'));
    stores.push(store);
    const counters = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
    const ledger = new MemoryLedger();
    const gw = await startGateway(upstream, keys, { directory: store, counters, ledger, background: { pollMs: 50, ...options }, ...(promptSecrets !== undefined ? { promptSecrets } : {}) });
    gateways.push(gw);
    return { gw, counters, ledger, store };
  };
  const start = (origin: string, token: string) =>
    fetch(`${origin}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'A long research task.', background: true, max_output_tokens: 100_000 }) });
  const billedIn = (ledger: MemoryLedger, userId: string) => ledger.rows({ userId }).filter((r) => r.route === 'responses');

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini });
    fake = attachFakeBackground(upstream.server, keys.openai);
    batches = attachFakeBatches(upstream.server, keys);
    dir = mkdtempSync(join(tmpdir(), 'kw-handover-'));
  });
  afterAll(async () => {
    for (const g of gateways) await g.stop().catch(() => {});
    for (const s of stores) s.close();
    batches.close();
    fake.close();
    await upstream.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the responses it follows over at a clean shutdown, not cancelled: another instance follows them and bills each once', async () => {
    const a = await instance();
    const b = await instance();
    const user = a.store.addUser('researcher', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'researcher').token;
    const spent = async () => (await b.counters.peek(`b:u:${user.id}:${period('day').key}`)) / 1e9;
    const started = await start(a.gw.origin, token);
    expect(started.status).toBe(200);
    const { id } = (await started.json()) as { id: string };
    const held = await spent();
    expect(held).toBeGreaterThanOrEqual(100_000 * OUT_USD);

    await a.gw.stop();
    // Still running at OpenAI: a deploy does not cancel a long run.
    expect(fake.responses.find((r) => r.id === id)!.status).not.toBe('cancelled');
    expect(a.gw.logs.join('')).toContain('background responses handed over to the other instances');
    await until('the other instance took it over', () => b.gw.logs.join('').includes('background response taken over from an instance that stopped following it'));
    // The reservation is still held while it runs.
    expect(await spent()).toBe(held);

    fake.responses.find((r) => r.id === id)!.finish({ input_tokens: 1_000, output_tokens: 20_000 });
    await until('the other instance billed it', () => billedIn(b.ledger, user.id).length === 1);
    const row = billedIn(b.ledger, user.id)[0]!;
    expect([row.requestId.length > 0, row.tokensIn, row.tokensOut, row.outcome, row.userId, row.tokenId]).toEqual([true, 1_000, 20_000, 'ok', user.id, expect.any(String)]);
    expect(row.costUsd).toBeCloseTo(1_000 * IN_USD + 20_000 * OUT_USD, 12);
    await until('the reservation is settled to the real cost', async () => Math.abs((await spent()) - row.costUsd) < 1e-9);
    expect(billedIn(a.ledger, user.id)).toEqual([]);
    // Its owner reaches it through the instance that took it over.
    const got = await fetch(`${b.gw.origin}/v1/responses/${id}`, { headers: bearer(token) });
    expect(((await got.json()) as { status: string }).status).toBe('completed');
    await new Promise((r) => setTimeout(r, 300));
    expect(billedIn(b.ledger, user.id)).toHaveLength(1);
    await b.gw.stop();
  });

  it('lets another instance take over the responses of one that died (cut off from Redis) once its lease lapses, and bills each once', async () => {
    const a = await instance();
    const b = await instance();
    const user = a.store.addUser('survivor', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'survivor').token;
    const { id } = (await (await start(a.gw.origin, token)).json()) as { id: string };
    // The instance dies as far as the others know: its Redis connection is gone, its leases lapse.
    await a.counters.close();
    await until('the other instance took it over', () => b.gw.logs.join('').includes('background response taken over from an instance that stopped following it'), 10_000);
    fake.responses.find((r) => r.id === id)!.finish({ input_tokens: 500, output_tokens: 4_000 });
    await until('the response is billed', () => billedIn(b.ledger, user.id).length === 1);
    expect(billedIn(b.ledger, user.id)[0]).toMatchObject({ tokensIn: 500, tokensOut: 4_000, outcome: 'ok' });
    // The cut-off instance saw it finish too, and could not bill it: only whoever removes its record in Redis does.
    await until('the cut-off instance tried', () => a.gw.logs.join('').includes('removing a finished background response from Redis failed'));
    expect(billedIn(a.ledger, user.id)).toEqual([]);
    expect(fake.responses.find((r) => r.id === id)!.status).toBe('completed');
    await a.gw.stop();
    await b.gw.stop();
  });

  it("cancels and bills at shutdown instead when told to (onShutdown: 'cancel'), as an instance alone does", async () => {
    const a = await instance({ onShutdown: 'cancel' });
    const user = a.store.addUser('lone', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'lone').token;
    const { id } = (await (await start(a.gw.origin, token)).json()) as { id: string };
    await a.gw.stop();
    expect(fake.responses.find((r) => r.id === id)!.status).toBe('cancelled');
    expect(billedIn(a.ledger, user.id)).toMatchObject([{ outcome: 'shutdown' }]);
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

    batches.batches.find((x) => x.id === openaiBatch.id)!.end([{ input_tokens: 100, output_tokens: 1_500 }]);
    batches.batches.find((x) => x.id === claudeBatch.id)!.end([{ input_tokens: 50, output_tokens: 600 }]);
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

  it("continues an upload on whichever instance its next part reaches: a Gemini batch file read across two, an OpenAI upload completed on the other", async () => {
    const a = await instance();
    const b = await instance();
    a.store.addUser('uploader', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'uploader').token;
    const line = (key: string, cap: number) => JSON.stringify({ key, request: { contents: [{ parts: [{ text: 'Summarise.' }] }], generationConfig: { maxOutputTokens: cap } } });
    const file = Buffer.from(`${line('a', 1_000)}\n${line('b', 3_000)}\n`);
    const cut = 40;
    const started = await fetch(`${a.gw.origin}/upload/v1beta/files`, {
      method: 'POST',
      headers: { 'x-goog-api-key': token, 'content-type': 'application/json', 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': String(file.length), 'x-goog-upload-header-content-type': 'jsonl' },
      body: '{}',
    });
    const path = new URL(started.headers.get('x-goog-upload-url')!).pathname + new URL(started.headers.get('x-goog-upload-url')!).search;
    const send = (origin: string, bytes: Buffer, offset: number, command: string) =>
      fetch(`${origin}${path}`, { method: 'POST', headers: { 'x-goog-api-key': token, 'x-goog-upload-command': command, 'x-goog-upload-offset': String(offset) }, body: bytes });
    // The first part to the other instance, the line it cuts carried over to the instance that started the upload.
    expect((await send(b.gw.origin, file.subarray(0, cut), 0, 'upload')).status).toBe(200);
    const last = await send(a.gw.origin, file.subarray(cut), cut, 'upload, finalize');
    expect(last.headers.get('x-goog-upload-status')).toBe('final');
    const name = ((await last.json()) as { file: { name: string } }).file.name;
    // The batch from it, on the first instance again: both requests read, none twice.
    const made = await fetch(`${b.gw.origin}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, { method: 'POST', headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ batch: { inputConfig: { fileName: name } } }) });
    expect(made.status).toBe(200);
    const held = (await b.counters.peek(`b:u:${a.store.getUser('uploader')!.id}:${period('day').key}`)) / 1e9;
    expect(held).toBeGreaterThanOrEqual((4_000 * 2.5) / 1e6 / 2);
    expect(held).toBeLessThan((5_000 * 2.5) / 1e6 / 2);

    const oa = (origin: string) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
    const upload = await oa(a.gw.origin).uploads.create({ bytes: 4, filename: 'n.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const part = await oa(b.gw.origin).uploads.parts.create(upload.id, { data: await toFile(Buffer.from('note'), 'part') });
    const done = await oa(a.gw.origin).uploads.complete(upload.id, { part_ids: [part.id] });
    expect((await oa(b.gw.origin).files.retrieve(done.file!.id)).filename).toBe('n.txt');
  });

  it("reads the ends of an OpenAI upload's parts that two instances took, whichever completes it: a secret cut between them is refused", async () => {
    const a = await instance({ promptSecrets: 'redact' });
    const b = await instance({ promptSecrets: 'redact' });
    a.store.addUser('splitter', { budgetUsd: 5, period: 'day' });
    const token = issueToken(a.store, 'splitter').token;
    const oa = (origin: string) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
    const secret = fakeOpenAiKey();
    const first = Buffer.from(`OPENAI_API_KEY=${secret.slice(0, 41)}`);
    const second = Buffer.from(`${secret.slice(41)}\n`);
    const upload = await oa(a.gw.origin).uploads.create({ bytes: first.length + second.length, filename: 'env.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const p1 = await oa(a.gw.origin).uploads.parts.create(upload.id, { data: await toFile(first, 'part') });
    const p2 = await oa(b.gw.origin).uploads.parts.create(upload.id, { data: await toFile(second, 'part') });
    // Each instance took one part: the ends of both are known only from the record in Redis.
    const refused = (await oa(a.gw.origin).uploads.complete(upload.id, { part_ids: [p1.id, p2.id] }).then(() => undefined, (e: unknown) => e)) as { status?: number; error?: { type?: string } } | undefined;
    expect([refused?.status, refused?.error?.type]).toEqual([400, 'secret_in_prompt']);
    expect(batches.requests.filter((q) => q.url === `/v1/uploads/${upload.id}/complete`)).toHaveLength(0);
    expect((await oa(b.gw.origin).uploads.complete(upload.id, { part_ids: [p2.id, p1.id] })).status).toBe('completed');
  });

  it('reaches a context cache made on one instance from another: named, kept longer and billed there, given back on the first when deleted, its maker alone', async () => {
    const caches = attachFakeCaches(upstream.server, keys.gemini);
    try {
      const a = await instance();
      const b = await instance();
      a.store.addUser('cacher', { budgetUsd: 5, period: 'day' });
      a.store.addUser('neighbour', {});
      const token = issueToken(a.store, 'cacher').token;
      const ai = (origin: string, t = token) => new GoogleGenAI({ apiKey: t, httpOptions: { baseUrl: origin } });
      const cache = await ai(a.gw.origin).caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [{ text: 'the handbook '.repeat(300) }] }], ttl: '3600s' } });
      const answer = await ai(b.gw.origin).models.generateContent({ model: 'gemini-2.5-flash', contents: 'what does it say?', config: { cachedContent: cache.name! } });
      expect(answer.text).toBe('from the cache');
      const other = issueToken(a.store, 'neighbour').token;
      expect(((await ai(b.gw.origin, other).caches.get({ name: cache.name! }).catch((e: { status?: number }) => e)) as { status?: number }).status).toBe(404);
      // Kept an hour longer on the other instance: billed for the hour added, from what the first recorded.
      await ai(b.gw.origin).caches.update({ name: cache.name!, config: { ttl: '7200s' } });
      const tokens = caches.caches.find((c) => c.name === cache.name)!.tokens;
      const kept = () => b.ledger.rows({ userId: a.store.getUser('cacher')!.id }).filter((r) => r.route === 'cache');
      await until('the longer keep is in the ledger', () => kept().length === 1);
      expect(Math.abs(kept()[0]!.costUsd - tokens / 1e6) / (tokens / 1e6)).toBeLessThan(1e-3);
      // Deleted on the first instance: the two hours it will not use given back there, from what the second recorded.
      await ai(a.gw.origin).caches.delete({ name: cache.name! });
      const credits = () => a.ledger.rows({ userId: a.store.getUser('cacher')!.id }).filter((r) => r.route === 'cache' && r.outcome === 'credit');
      await until('the credit is in the ledger', () => credits().length === 1);
      expect(Math.abs(-credits()[0]!.costUsd - (2 * tokens) / 1e6) / ((2 * tokens) / 1e6)).toBeLessThan(1e-3);
    } finally {
      caches.close();
    }
  });
});
