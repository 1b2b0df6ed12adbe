import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { fakeOpenAiKey } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

describe("lists of what a provider keeps for the whole project: each user's own, page after page, however many of others' come between", () => {
  const s = gatewaySuite({ user: 'lister' });
  let fake: FakeBatches;
  const oa = (token: string, origin = s.gw.origin) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
  const ai = (token: string) => new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: s.gw.origin } });
  const upload = async (token: string, name: string, origin?: string) => (await oa(token, origin).files.create({ file: await toFile(Buffer.from(name), `${name}.txt`), purpose: 'user_data' })).id;
  const all = async <T>(pages: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const x of pages) out.push(x);
    return out;
  };

  beforeAll(() => {
    fake = attachFakeBatches(s.upstream.server, s.keys);
  });

  it("OpenAI's: a user whose files sit behind pages of others' gets them all, through the SDK's paging, and none of others'", async () => {
    const mine = s.tokenFor('few');
    const theirs = s.tokenFor('many');
    const own: string[] = [];
    for (let i = 0; i < 25; i++) await upload(theirs, `theirs-${i}`);
    for (let i = 0; i < 3; i++) own.push(await upload(mine, `mine-${i}`));
    for (let i = 0; i < 5; i++) await upload(theirs, `theirs-late-${i}`);
    // More than a page of the provider's of files another app put in the project, which nobody reaches through the gateway.
    for (let i = 0; i < 150; i++) fake.files.push({ id: `file-elsewhere${i}`, purpose: 'user_data', filename: 'x.txt', bytes: Buffer.from('x'), authorization: `Bearer ${s.keys.openai[0]!}` });
    own.push(await upload(mine, 'mine-last'));
    // Two at a time: the first pages the provider gives hold only others' files.
    const listed = await all(oa(mine).files.list({ limit: 2 }));
    expect(listed.map((f) => f.id)).toEqual(own);
    const first = await oa(mine).files.list({ limit: 2 });
    expect([first.data.length, first.has_more]).toEqual([2, true]);
    const other = await oa(theirs).files.list({ limit: 5 });
    expect(other.data).toHaveLength(5);
    expect(other.data.some((f) => own.includes(f.id))).toBe(false);
    expect((await all(oa(theirs).files.list({ limit: 7 }))).length).toBe(30);
    // The fake was asked for pages of 100, not of the client's size.
    const pages = fake.requests.filter((q) => q.method === 'GET' && q.url.startsWith('/v1/files?'));
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.every((q) => /limit=100\b/.test(q.url))).toBe(true);
  });

  it('with two keys, goes on in the project of the last item it gave, and lists each of the caller\'s files once', async () => {
    const second = fakeOpenAiKey();
    s.keys.openai.push(second);
    const gw = await s.another({ upstreams: { openai: { baseUrl: s.upstream.openaiBase, keys: [s.keys.openai[0]!, second] }, anthropic: { baseUrl: s.upstream.anthropicBase, keys: s.keys.anthropic }, gemini: { baseUrl: s.upstream.geminiBase, keys: s.keys.gemini } } });
    const mine = s.tokenFor('two-projects');
    const theirs = s.tokenFor('two-projects-other');
    const own: string[] = [];
    for (let i = 0; i < 3; i++) {
      own.push(await upload(mine, `mine-${i}`, gw.origin), await upload(mine, `mine-${i}b`, gw.origin));
      await upload(theirs, `theirs-${i}`, gw.origin);
    }
    // The pool takes the keys in turn: each project holds some of the caller's files.
    const byKey = new Set(fake.files.filter((f) => own.includes(f.id)).map((f) => f.authorization));
    expect(byKey.size).toBe(2);
    const listed = (await all(oa(mine, gw.origin).files.list({ limit: 2 }))).map((f) => f.id);
    expect(listed.sort()).toEqual([...own].sort());
  });

  it("Anthropic's Files API: paged by the token its SDK follows (next_page), each of the caller's files once, behind pages of another app's", async () => {
    const an = (t: string) => new Anthropic({ baseURL: s.gw.origin, apiKey: t, maxRetries: 0 });
    const mine = s.tokenFor('anthropic-few');
    const foreign = (i: number) => fake.files.push({ id: `file_elsewhere${i}`, purpose: 'anthropic', filename: 'x.txt', bytes: Buffer.from('x'), authorization: s.keys.anthropic[0]! });
    for (let i = 0; i < 120; i++) foreign(i);
    const own: string[] = [];
    for (let i = 0; i < 3; i++) own.push((await an(mine).beta.files.upload({ file: await toFile(Buffer.from(`mine ${i}`), `m${i}.txt`, { type: 'text/plain' }) })).id);
    for (let i = 120; i < 250; i++) foreign(i);
    own.push((await an(mine).beta.files.upload({ file: await toFile(Buffer.from('last'), 'last.txt', { type: 'text/plain' }) })).id);
    expect((await all(an(mine).beta.files.list({ limit: 2 }))).map((f) => f.id)).toEqual(own);
  });

  it("Gemini's: paged by a token that carries the project, each of the caller's files once", async () => {
    const mine = s.tokenFor('gemini-few');
    const theirs = s.tokenFor('gemini-many');
    const up = (t: string, text: string) => ai(t).files.upload({ file: new Blob([text]), config: { mimeType: 'text/plain' } });
    for (let i = 0; i < 12; i++) await up(theirs, `theirs-${i}`);
    const own = [(await up(mine, 'mine-0')).name!, (await up(mine, 'mine-1')).name!];
    for (let i = 0; i < 3; i++) await up(theirs, `late-${i}`);
    own.push((await up(mine, 'mine-2')).name!);
    const listed = await all(await ai(mine).files.list({ config: { pageSize: 2 } }));
    expect(listed.map((f) => f.name)).toEqual(own);
    // A token the gateway did not give is refused, not sent on.
    const forged = await fetch(`${s.gw.origin}/v1beta/files?pageToken=abc`, { headers: { 'x-goog-api-key': mine } });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(/pageToken/);
  });
});
