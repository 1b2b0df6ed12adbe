import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Prices } from '../../src/gateway/providers/prices.js';
import { MemoryCounters } from '../../src/store/memory.js';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { attachFakeCaches, fakeCacheTokens, type FakeCaches } from './helpers/fake-caches.js';
import { fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';
import { until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

const prices = new Prices();
const HOUR = 3_600_000;

describe("Gemini's context caches through the gateway: each its maker's alone, billed as made and for the hours it is kept", () => {
  const s = gatewaySuite({ user: 'gemini-caches', gateway: { counters: new MemoryCounters() } });
  let files: FakeBatches;
  let fake: FakeCaches;
  const ai = (token: string, origin = s.gw.origin) => new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: origin } });
  const status = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: unknown) => e)) as { status?: number } | undefined)?.status;
  const doc = (words: string) => [{ role: 'user', parts: [{ text: `${words} `.repeat(300) }] }];
  /** Within a thousandth of what was expected: an hour's fraction passes between the gateway's clock and the test's. */
  const near = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThan(1e-3);

  beforeAll(() => {
    files = attachFakeBatches(s.upstream.server, s.keys);
    fake = attachFakeCaches(s.upstream.server, s.keys.gemini, (name) => files.geminiFiles.find((f) => f.name === name)?.authorization);
  });

  it("makes a cache with the gateway's key, bills its tokens and its hours, and lets its maker alone read, name, list, keep longer and delete it", async () => {
    const token = s.tokenFor('maker', { budgetUsd: 100, period: 'day' });
    const cache = await ai(token).caches.create({ model: 'gemini-2.5-flash', config: { contents: doc('the handbook'), systemInstruction: 'answer from the handbook', ttl: '7200s' } });
    expect(cache.name).toMatch(/^cachedContents\/fake-cache-\d+$/);
    const made = fake.caches.find((c) => c.name === cache.name)!;
    expect(made.authorization).toBe(s.keys.gemini[0]);
    const tokens = fakeCacheTokens(made.body);
    expect(tokens).toBeGreaterThan(500);

    // Counted first (a request of its own, billed nothing), then made: its tokens at the input rate, and two hours of them at the storage rate.
    const count = await s.nextRow('maker');
    expect(count).toMatchObject({ route: 'count', status: 200, costUsd: 0 });
    const row = await s.nextRow('maker');
    expect(row).toMatchObject({ route: 'cache', model: 'gemini-2.5-flash', status: 200, tokensIn: tokens });
    near(row.costUsd, (tokens * 0.3 + tokens * 2 * 1) / 1e6);
    near(s.spentToday('maker') / 1e9, row.costUsd);

    expect((await ai(token).caches.get({ name: cache.name! })).name).toBe(cache.name);
    expect(await s.nextRow('maker')).toMatchObject({ route: 'cache', status: 200, costUsd: 0 });
    const other = s.tokenFor('snooper');
    const asked = fake.requests.length;
    expect(await status(ai(other).caches.get({ name: cache.name! }))).toBe(404);
    // Named by anyone else, it is refused before Google is asked.
    expect(await status(ai(other).models.generateContent({ model: 'gemini-2.5-flash', contents: 'what does it say?', config: { cachedContent: cache.name! } }))).toBe(403);
    // Through Google's OpenAI-compatible API too (`extra_body.google.cached_content`, a field of the JSON body there, which the SDK's types do not list), before anything is sent.
    const seen = s.upstream.seen.length;
    const viaOpenAi = s.oa(other).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'what does it say?' }], extra_body: { google: { cached_content: cache.name } } } as never);
    expect(await status(viaOpenAi)).toBe(403);
    expect(s.upstream.seen.length).toBe(seen);
    expect(fake.requests.length).toBe(asked);

    // Named by its maker: its tokens billed at the cached rate.
    const answer = await ai(token).models.generateContent({ model: 'gemini-2.5-flash', contents: 'what does it say?', config: { cachedContent: cache.name! } });
    expect(answer.text).toBe('from the cache');
    expect(answer.usageMetadata?.cachedContentTokenCount).toBe(tokens);
    const used = await s.nextRow('maker');
    expect(used).toMatchObject({ route: 'generate', tokensIn: answer.usageMetadata!.promptTokenCount });
    near(used.costUsd, ((answer.usageMetadata!.promptTokenCount! - tokens) * 0.3 + tokens * 0.075 + 5 * 2.5) / 1e6);

    const listed = async (t: string) => {
      const names: string[] = [];
      for await (const c of await ai(t).caches.list({ config: { pageSize: 10 } })) names.push(c.name!);
      return names;
    };
    expect(await listed(token)).toEqual([cache.name]);
    expect(await s.nextRow('maker')).toMatchObject({ route: 'cache', status: 200, costUsd: 0 });
    expect(await listed(other)).toEqual([]);

    // Kept an hour longer than asked: that hour billed, at the storage rate.
    const later = await ai(token).caches.update({ name: cache.name!, config: { ttl: '10800s' } });
    expect(Date.parse(later.expireTime!)).toBeGreaterThan(Date.now() + 2.9 * HOUR);
    const kept = await s.nextRow('maker');
    expect(kept).toMatchObject({ route: 'cache', status: 200 });
    near(kept.costUsd, (tokens * 1 * 1) / 1e6);
    // Kept shorter: the storage it will not use is given back, as much as was billed for it today (all of it here).
    const shortenedAt = Date.now();
    const billedUntil = Date.parse(later.expireTime!);
    await ai(token).caches.update({ name: cache.name!, config: { ttl: '60s' } });
    const shorter = await s.nextRow('maker');
    expect(shorter).toMatchObject({ route: 'cache', status: 200, outcome: 'credit' });
    near(-shorter.costUsd, (tokens * ((billedUntil - shortenedAt - 60_000) / HOUR)) / 1e6);

    expect(await status(ai(other).caches.delete({ name: cache.name! }))).toBe(404);
    // A request that names no cache is the fake upstream's as before, with the caches' fake in front of it.
    expect((await ai(other).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello' })).text).toMatch(/^(tok)+$/);
    expect((await ai(other).models.countTokens({ model: 'gemini-2.5-flash', contents: 'hello' })).totalTokens).toBe(12);
    await ai(token).caches.delete({ name: cache.name! });
    expect(fake.caches.some((c) => c.name === cache.name)).toBe(false);
    // Deleted within its last minute: that minute given back too. What the maker spent in all is its making and the request that named it.
    const deleted = await s.nextRow('maker');
    expect(deleted).toMatchObject({ route: 'cache', status: 200, outcome: 'credit' });
    expect(-deleted.costUsd).toBeGreaterThan((tokens * (50 / 3600)) / 1e6);
    expect(-deleted.costUsd).toBeLessThanOrEqual((tokens * (60 / 3600)) / 1e6);
    near(s.spentToday('maker') / 1e9, (tokens * 0.3) / 1e6 + used.costUsd);
    const gone = fake.requests.length;
    expect(await status(ai(token).caches.get({ name: cache.name! }))).toBe(404);
    expect(fake.requests.length).toBe(gone);
  });

  it('holds the hours asked against the budget: a cache kept longer than the budget pays for is refused before it is made', async () => {
    const token = s.tokenFor('thrifty', { budgetUsd: 0.01, period: 'day' });
    const before = fake.caches.length;
    // About 700 tokens for 400 days at $1 a million tokens an hour: about $6.7.
    expect(await status(ai(token).caches.create({ model: 'gemini-2.5-flash', config: { contents: doc('the handbook'), ttl: `${400 * 24 * 3600}s` } }))).toBe(402);
    expect(fake.caches.length).toBe(before);
    // An hour of it fits.
    const cache = await ai(token).caches.create({ model: 'gemini-2.5-flash', config: { contents: doc('the handbook'), ttl: '3600s' } });
    expect(cache.name).toBeDefined();
    // Kept for 400 days more: refused, and Google not asked.
    const asked = fake.requests.length;
    expect(await status(ai(token).caches.update({ name: cache.name!, config: { ttl: `${400 * 24 * 3600}s` } }))).toBe(402);
    expect(fake.requests.length).toBe(asked);
  });

  it('lets a user past their budget read and delete a cache (and be given its storage back), but not keep it longer', async () => {
    const token = s.tokenFor('lowered', { budgetUsd: 100, period: 'day' });
    const cache = await ai(token).caches.create({ model: 'gemini-2.5-flash', config: { contents: doc('the handbook'), ttl: '7200s' } });
    await s.nextRow('lowered');
    await s.nextRow('lowered');
    const spent = s.spentToday('lowered');
    // The operator lowers the budget below what was spent: the user is now past it.
    s.dir.setUser('lowered', { budgetUsd: spent / 1e9 / 2 });
    const refused = await ai(token).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello' }).then(() => undefined, (e: unknown) => e as { status?: number; message?: string });
    expect(refused?.status).toBe(402);
    expect((await ai(token).caches.get({ name: cache.name! })).name).toBe(cache.name);
    const asked = fake.requests.length;
    expect(await status(ai(token).caches.update({ name: cache.name!, config: { ttl: '86400s' } }))).toBe(402);
    expect(fake.requests.length).toBe(asked);
    await ai(token).caches.delete({ name: cache.name! });
    await until('the deletion is in the ledger', () => s.rowsOfUser('lowered').some((row) => row.outcome === 'credit'));
    const deleted = s.rowsOfUser('lowered').find((row) => row.outcome === 'credit')!;
    expect(deleted).toMatchObject({ route: 'cache', status: 200 });
    expect(deleted.costUsd).toBeLessThan(0);
    expect(s.spentToday('lowered')).toBeLessThan(spent);
  });

  it('gives back no storage billed on an earlier day: that day may lie in a budget period that has ended', async () => {
    const token = s.tokenFor('overnight', { budgetUsd: 100, period: 'day' });
    const cache = await ai(token).caches.create({ model: 'gemini-2.5-flash', config: { contents: doc('the handbook'), ttl: `${2 * 24 * 3600}s` } });
    await s.nextRow('overnight');
    const made = await s.nextRow('overnight');
    expect(made.costUsd).toBeGreaterThan(0);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 24 * HOUR });
    try {
      await ai(token).caches.delete({ name: cache.name! });
      expect(await s.nextRow('overnight')).toMatchObject({ route: 'cache', status: 200, outcome: 'ok', costUsd: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("holds a cache's text to the prompt secrets policy, and refuses what Google would not take before asking it", async () => {
    const gw = await s.another({ promptSecrets: 'block' });
    const token = s.tokenFor('careless');
    const secret = fakeOpenAiKey();
    const asked = fake.requests.length;
    const leaked = ai(token, gw.origin).caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [{ text: `deploy notes: OPENAI_API_KEY=${secret}` }] }] } });
    const err = (await leaked.then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string };
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/secret_in_prompt|secret/);
    expect(err.message).not.toContain(secret);
    expect(fake.requests.length).toBe(asked);
    // Under 'redact', the cache holds the redacted text.
    const redacting = await s.another({ promptSecrets: 'redact' });
    const kept = await ai(token, redacting.origin).caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [{ text: `deploy notes: OPENAI_API_KEY=${secret}` }] }] } });
    const held = JSON.stringify(fake.caches.find((c) => c.name === kept.name)!.body);
    expect(held).toContain('deploy notes');
    expect(held).not.toContain(secret);
    const before = fake.requests.length;
    const post = (body: unknown, path = '/v1beta/cachedContents', method = 'POST') => fetch(`${s.gw.origin}${path}`, { method, headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = [
      await post({ contents: doc('x') }),
      await post({ model: 'models/gemini-2.5-flash', contents: doc('x'), ttl: 'forever' }),
      await post({ model: 'models/gemini-2.5-flash', contents: doc('x'), expireTime: '2001-01-01T00:00:00Z' }),
      await post({ model: 'models/gemini-2.5-flash', contents: doc('x'), ttl: '60s', expireTime: '2099-01-01T00:00:00Z' }),
      await post({ ttl: '60s' }, '/v1beta/cachedContents/fake-cache-1?updateMask=displayName', 'PATCH'),
      await post({ displayName: 'x' }, '/v1beta/cachedContents/fake-cache-1', 'PATCH'),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    for (const r of bad) expect((await r.json()) as { error: { message: string } }).toMatchObject({ error: { message: expect.stringMatching(/model|ttl|expireTime|updateMask/) } });
    expect(fake.requests.length).toBe(before);
  });

  it("with two keys, makes a cache with the key of the files it holds, names it with the cache's key, and refuses another user's file", async () => {
    const second = fakeGeminiKey();
    s.keys.gemini.push(second);
    const gw = await s.another({ upstreams: { openai: { baseUrl: s.upstream.openaiBase, keys: s.keys.openai }, anthropic: { baseUrl: s.upstream.anthropicBase, keys: s.keys.anthropic }, gemini: { baseUrl: s.upstream.geminiBase, keys: s.keys.gemini } } });
    const token = s.tokenFor('librarian');
    const client = ai(token, gw.origin);
    // The pool takes the keys in turn: the uploads land in both projects.
    const uploaded = [];
    for (let i = 0; i < 4; i++) uploaded.push(await client.files.upload({ file: new Blob([`chapter ${i}`]), config: { mimeType: 'text/plain' } }));
    const projects = uploaded.map((f) => files.geminiFiles.find((x) => x.name === f.name)!.authorization);
    expect(new Set(projects).size).toBe(2);
    // Each project's file twice in a row: whichever key the pool takes next, one of the two is the other project's.
    const a = projects.indexOf(s.keys.gemini[0]!);
    const b = projects.indexOf(second);
    for (const i of [a, a, b, b]) {
      const file = uploaded[i]!;
      const cache = await client.caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [createPartFromUri(file.uri!, 'text/plain')] }] } });
      expect(fake.caches.find((c) => c.name === cache.name)!.authorization).toBe(projects[i]);
      // And each request naming it goes with its key, whichever the pool would take next.
      for (let k = 0; k < 2; k++) expect((await client.models.generateContent({ model: 'gemini-2.5-flash', contents: 'summarise', config: { cachedContent: cache.name! } })).text).toBe('from the cache');
      // A batch whose requests name it runs in its project too.
      const batch = await client.batches.create({ model: 'gemini-2.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'summarise' }] }], config: { cachedContent: cache.name!, maxOutputTokens: 100 } }] });
      expect(files.batches.find((x) => batch.name === `batches/${x.id}`)!.authorization).toBe(projects[i]);
    }
    const mine = await client.files.upload({ file: new Blob(['private']), config: { mimeType: 'text/plain' } });
    const asked = fake.requests.length;
    expect(await status(ai(s.tokenFor('borrower'), gw.origin).caches.create({ model: 'gemini-2.5-flash', config: { contents: [{ role: 'user', parts: [createPartFromUri(mine.uri!, 'text/plain')] }] } }))).toBe(403);
    expect(fake.requests.length).toBe(asked);
  });

  it("prices a cache's hours per model, the dearest rate for a model the table does not list", () => {
    expect(prices.cacheCost('gemini-2.5-pro', 1_000_000, 2, false)).toBeCloseTo(9, 10);
    expect(prices.cacheCost('gemini-2.5-flash', 1_000_000, 2, true)).toBeCloseTo(0.3 + 2, 10);
    expect(prices.cacheCost('gemini-2.5-flash-001', 1_000_000, 1, false)).toBeCloseTo(1, 10);
    expect(prices.cacheCost('gemini-next-unknown', 1_000_000, 1, false)).toBeCloseTo(4.5, 10);
    // Past Gemini 2.5 Pro's long-context threshold, its making costs the long input rate.
    expect(prices.cacheCost('gemini-2.5-pro', 300_000, 0, true)).toBeCloseTo(0.3 * 2.5, 10);
    expect(prices.cacheCost('gemini-2.5-flash', 1_000, -1, false)).toBe(0);
  });
});
