import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import express from 'express';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expressGateway } from '../../src/gateway/index.js';
import { MemoryCounters } from '../../src/store/memory.js';
import { listen } from '../helpers/http-server.js';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { until } from './helpers/http.js';
import { fakeOpenAiKey } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

/** A start of Gemini's resumable upload, as its SDK sends it. */
const startHeaders = (token: string, size: number, type = 'text/plain') => ({
  'x-goog-api-key': token,
  'content-type': 'application/json',
  'x-goog-upload-protocol': 'resumable',
  'x-goog-upload-command': 'start',
  'x-goog-upload-header-content-length': String(size),
  'x-goog-upload-header-content-type': type,
});

describe("Gemini's Files API through the gateway: uploaded in resumable sessions, each file its uploader's alone", () => {
  const s = gatewaySuite({ user: 'gemini-files', gateway: { counters: new MemoryCounters(), background: { pollMs: 1000 } } });
  let fake: FakeBatches;
  const ai = (token: string) => new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: s.gw.origin } });
  const status = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: unknown) => e)) as { status?: number } | undefined)?.status;

  beforeAll(() => {
    fake = attachFakeBatches(s.upstream.server, s.keys);
  });

  /** Opens a session through the gateway; the upload URL it was answered with. */
  const open = async (token: string, size: number, type?: string, origin = s.gw.origin) => {
    const r = await fetch(`${origin}/upload/v1beta/files`, { method: 'POST', headers: startHeaders(token, size, type), body: JSON.stringify({ file: { displayName: 'notes' } }) });
    return { r, url: r.headers.get('x-goog-upload-url') };
  };
  const send = (token: string, url: string, bytes: Buffer | string, offset: number, command = 'upload, finalize') =>
    fetch(url, { method: 'POST', headers: { 'x-goog-api-key': token, 'x-goog-upload-command': command, 'x-goog-upload-offset': String(offset) }, body: bytes });

  it("uploads through the SDK with the gateway's key, answers with an upload URL on the gateway, and lets its uploader alone retrieve, list, name and delete the file", async () => {
    const token = s.tokenFor('uploader');
    const file = await ai(token).files.upload({ file: new Blob(['meeting notes: ship on Friday']), config: { mimeType: 'text/plain', displayName: 'notes' } });
    expect(file.name).toMatch(/^files\/fake-/);
    const got = fake.geminiFiles.find((f) => f.name === file.name)!;
    expect(got.bytes.toString()).toBe('meeting notes: ship on Friday');
    expect(got.authorization).toBe(s.keys.gemini[0]);
    const chunks = fake.requests.filter((q) => q.url.startsWith('/upload/'));
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.every((q) => q.authorization === s.keys.gemini[0])).toBe(true);

    // The upload URL the client is given is the gateway's: the bytes cannot reach Google with the gateway token, nor bypass the gateway.
    const { url } = await open(token, 4);
    expect(url).toMatch(new RegExp(`^${s.gw.origin}/upload/v1beta/files\\?upload_id=fake-session-\\d+&upload_protocol=resumable$`));

    expect((await ai(token).files.get({ name: file.name! })).displayName).toBe('notes');
    const other = s.tokenFor('snooper');
    expect(await status(ai(other).files.get({ name: file.name! }))).toBe(404);
    expect(await status(ai(other).files.delete({ name: file.name! }))).toBe(404);
    const listed = async (t: string) => {
      const names: string[] = [];
      for await (const f of await ai(t).files.list()) names.push(f.name!);
      return names;
    };
    expect(await listed(other)).toEqual([]);
    expect(await listed(token)).toEqual([file.name]);

    // Named in a request, by its URI, by its uploader: sent on as it came; by anyone else: refused before Google is asked.
    const answer = await ai(token).models.generateContent({ model: 'gemini-2.5-flash', contents: [createPartFromUri(file.uri!, file.mimeType!), 'Summarise this.'] });
    expect(answer.text).toMatch(/^(?:tok)+$/);
    const sent = s.upstream.seen.at(-1)!;
    expect(JSON.stringify(sent.body)).toContain(file.uri);
    const seen = s.upstream.seen.length;
    const refused = (await ai(other)
      .models.generateContent({ model: 'gemini-2.5-flash', contents: [createPartFromUri(file.uri!, 'text/plain'), 'Summarise this.'] })
      .then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string };
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/keeps for the whole project/);
    expect(s.upstream.seen.length).toBe(seen);

    await ai(token).files.delete({ name: file.name! });
    expect(fake.geminiFiles.some((f) => f.name === file.name)).toBe(false);
    // Forgotten once deleted: the name is no longer the uploader's to use.
    expect(await status(ai(token).files.get({ name: file.name! }))).toBe(404);
    // Each call is a request of the user's, counted and in the ledger.
    await until('every call is in the ledger', () => s.rowsOfUser('uploader').filter((r) => r.route === 'file').length >= 7);
  });

  it("takes a file in several chunks, the session continued by the user who opened it alone, and no byte past the size it declared", async () => {
    const token = s.tokenFor('chunker');
    const { url } = await open(token, 10);
    const other = s.tokenFor('intruder');
    // Google's upload URLs need no key; the gateway's do, each chunk included, and it says so.
    const bare = await fetch(url!, { method: 'POST', headers: { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': '0' }, body: 'abcde' });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { message: string } }).error.message).toMatch(/its chunks too, sends it as "x-goog-api-key/);
    const stolen = await send(other, url!, 'abcde', 0, 'upload');
    expect(stolen.status).toBe(404);
    expect(((await stolen.json()) as { error: { message: string } }).error.message).toMatch(/no upload of yours/);
    const first = await send(token, url!, 'abcde', 0, 'upload');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-goog-upload-status')).toBe('active');
    const asked = await send(token, url!, '', 0, 'query');
    expect(asked.headers.get('x-goog-upload-size-received')).toBe('5');
    const over = await send(token, url!, 'fghijk', 5);
    expect(over.status).toBe(400);
    expect(((await over.json()) as { error: { message: string } }).error.message).toMatch(/past the 10 bytes the upload declared/);
    const last = await send(token, url!, 'fghij', 5);
    expect(last.status).toBe(200);
    expect(last.headers.get('x-goog-upload-status')).toBe('final');
    const made = ((await last.json()) as { file: { name: string } }).file;
    expect(fake.geminiFiles.find((f) => f.name === made.name)!.bytes.toString()).toBe('abcdefghij');
    expect((await ai(token).files.get({ name: made.name })).sizeBytes).toBe('10');
    // The session is over: it cannot be written to again.
    expect((await send(token, url!, 'x', 10)).status).toBe(404);
    // A session its owner cancels is forgotten too, and never reaches Google again.
    const { url: dropped } = await open(token, 5);
    const cancelled = await send(token, dropped!, '', 0, 'cancel');
    expect(cancelled.headers.get('x-goog-upload-status')).toBe('cancelled');
    const sentBefore = fake.requests.length;
    expect((await send(token, dropped!, 'hello', 0)).status).toBe(404);
    expect(fake.requests.length).toBe(sentBefore);
  });

  it('refuses what is not a resumable upload the gateway can follow, and a file over maxFileBytes before Google is asked', async () => {
    const token = s.tokenFor('careless');
    const gw = await s.another({ maxFileBytes: 1_000 });
    const before = fake.requests.length;
    const big = await open(token, 1_001, 'text/plain', gw.origin);
    expect(big.r.status).toBe(413);
    expect(((await big.r.json()) as { error: { message: string } }).error.message).toMatch(/maxFileBytes/);
    const multipart = await fetch(`${gw.origin}/upload/v1beta/files`, { method: 'POST', headers: { ...startHeaders(token, 5), 'x-goog-upload-protocol': 'multipart' }, body: '{}' });
    expect(multipart.status).toBe(400);
    const noCommand = await fetch(`${gw.origin}/upload/v1beta/files`, { method: 'POST', headers: { 'x-goog-api-key': token }, body: 'hello' });
    expect(noCommand.status).toBe(400);
    expect(((await noCommand.json()) as { error: { message: string } }).error.message).toMatch(/X-Goog-Upload-Command/);
    const noSession = await send(token, `${gw.origin}/upload/v1beta/files`, 'hello', 0);
    expect(noSession.status).toBe(400);
    expect(fake.requests.length).toBe(before);
    // A browser allowed to call the gateway may read the session's headers.
    const web = await s.another({ corsOrigins: ['https://app.example'] });
    const fromPage = await fetch(`${web.origin}/upload/v1beta/files`, { method: 'POST', headers: { ...startHeaders(token, 5), origin: 'https://app.example' }, body: '{}' });
    expect(fromPage.status).toBe(200);
    expect(fromPage.headers.get('access-control-expose-headers')).toMatch(/x-goog-upload-url, x-goog-upload-status/);
    // Malformed starts, and ids and sizes Google would never make, are refused with what is wrong.
    const asked = fake.requests.length;
    const bad = async (path: string, init: RequestInit) => {
      const r = await fetch(`${gw.origin}${path}`, { ...init, headers: { 'x-goog-api-key': token, ...(init.headers as Record<string, string>) } });
      return { status: r.status, message: ((await r.json()) as { error: { message: string } }).error.message };
    };
    expect(await bad('/upload/v1beta/files', { method: 'POST', headers: { ...startHeaders(token, 5), 'x-goog-upload-header-content-length': 'five' }, body: '{}' })).toEqual({ status: 400, message: expect.stringMatching(/file's size in bytes/) });
    expect(await bad('/upload/v1beta/files', { method: 'POST', headers: startHeaders(token, 5), body: 'not json' })).toEqual({ status: 400, message: expect.stringMatching(/JSON/) });
    expect(await bad('/v1beta/files/NOT_AN_ID', { method: 'GET' })).toEqual({ status: 404, message: expect.stringMatching(/\/v1beta\/files\/\{id\}/) });
    expect(await bad('/v1beta/files?pageSize=many', { method: 'GET' })).toEqual({ status: 400, message: expect.stringMatching(/'pageSize' must be a positive integer/) });
    expect(fake.requests.length).toBe(asked);
    // Creation is by upload; the files path lists and reads.
    expect((await fetch(`${gw.origin}/v1beta/files`, { method: 'POST', headers: { 'x-goog-api-key': token }, body: '{}' })).status).toBe(405);
  });

  it('answers with an upload URL the client can reach: through a proxy in front, and under an Express prefix', async () => {
    const token = s.tokenFor('proxied');
    const proxied = await fetch(`${s.gw.origin}/upload/v1beta/files`, { method: 'POST', headers: { ...startHeaders(token, 4), 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ai.example.com' }, body: '{}' });
    expect(proxied.headers.get('x-goog-upload-url')).toMatch(/^https:\/\/ai\.example\.com\/upload\/v1beta\/files\?upload_id=/);
    const a = express();
    a.use('/ai', expressGateway(s.gw.gateway));
    const app = await listen(createServer(a));
    try {
      const file = await new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: `${app.origin}/ai` } }).files.upload({ file: new Blob(['under a prefix']), config: { mimeType: 'text/plain' } });
      expect(fake.geminiFiles.find((f) => f.name === file.name)!.bytes.toString()).toBe('under a prefix');
    } finally {
      await app.close();
    }
  });

  it('holds a text document to the prompt secrets policy; a binary one goes as it came', async () => {
    const gw = await s.another({ promptSecrets: 'redact' });
    const token = s.tokenFor('leaky');
    // A key the secrets engine recognises, made at run time.
    const secret = fakeOpenAiKey();
    const text = `config: OPENAI_API_KEY=${secret}\n`;
    const { url } = await open(token, text.length, 'text/plain', gw.origin);
    const before = fake.requests.length;
    const r = await send(token, url!, text, 0);
    expect(r.status).toBe(400);
    const body = await r.text();
    expect(body).toMatch(/secret_in_prompt/);
    expect(body).not.toContain(secret);
    expect(fake.requests.length).toBe(before);
    // A secret cut between two chunks is read whole with the second, which is refused.
    const cut = text.indexOf(secret) + 10;
    const split = await open(token, text.length, 'text/plain', gw.origin);
    expect((await send(token, split.url!, text.slice(0, cut), 0, 'upload')).status).toBe(200);
    const sentBefore = fake.requests.length;
    const second = await send(token, split.url!, text.slice(cut), cut);
    expect(second.status).toBe(400);
    expect(await second.text()).toMatch(/secret_in_prompt/);
    expect(fake.requests.length).toBe(sentBefore);
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0xfe, 1, 2, 3]);
    const png = await open(token, image.length, 'image/png', gw.origin);
    const ok = await send(token, png.url!, image, 0);
    expect(ok.status).toBe(200);
    const made = ((await ok.json()) as { file: { name: string } }).file;
    expect(fake.geminiFiles.find((f) => f.name === made.name)!.bytes.equals(image)).toBe(true);
  });

  it('reads text that is not ASCII whole when a chunk ends inside a character', async () => {
    const gw = await s.another({ promptSecrets: 'block' });
    const token = s.tokenFor('accented');
    const secret = fakeOpenAiKey();
    // Two bytes a character: a cut at an odd offset splits one, and the 4 KiB kept of a chunk would start inside one.
    const accents = Buffer.from('é'.repeat(5_000));
    const upload = async (text: Buffer, cut: number) => {
      const { url } = await open(token, text.length, 'text/plain', gw.origin);
      const first = await send(token, url!, text.subarray(0, cut), 0, 'upload');
      if (first.status !== 200) return first;
      return send(token, url!, text.subarray(cut), cut);
    };
    // The secret in the first chunk, which ends inside a character.
    const early = Buffer.concat([Buffer.from(`OPENAI_API_KEY=${secret}\n`), accents]);
    const r1 = await upload(early, early.length - 1_001);
    expect(r1.status).toBe(400);
    expect(await r1.text()).toMatch(/secret_in_prompt/);
    // The secret in the second chunk, read with the end of the first, which starts inside a character.
    const late = Buffer.concat([accents, Buffer.from(`\nOPENAI_API_KEY=${secret}\n`)]);
    const r2 = await upload(late, 9_001);
    expect(r2.status).toBe(400);
    expect(await r2.text()).toMatch(/secret_in_prompt/);
    // The same text without a secret goes up, cut the same way.
    expect((await upload(Buffer.concat([accents, Buffer.from('\nnothing to see\n')]), 9_001)).status).toBe(200);
  });

  it('runs a batch from a file read as it went up: held against the budgets, billed from its responses file, which its owner alone downloads', async () => {
    const token = s.tokenFor('file-batcher', { budgetUsd: 5, period: 'day' });
    const lines = [
      { key: 'a', request: { contents: [{ parts: [{ text: 'Summarise the ticket.' }] }], generationConfig: { maxOutputTokens: 1_000 } } },
      // Google reads snake_case too, as its examples of batch files write it.
      { key: 'b', request: { contents: [{ parts: [{ text: 'Translate the ticket.' }] }], generation_config: { max_output_tokens: 3_000 } } },
    ];
    const jsonl = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const file = await ai(token).files.upload({ file: new Blob([jsonl]), config: { mimeType: 'jsonl', displayName: 'requests' } });
    const job = await ai(token).batches.create({ model: 'gemini-2.5-flash', src: file.name! });
    const made = fake.batches.find((b) => b.id === job.name!.slice('batches/'.length))!;
    expect(made.authorization).toBe(s.keys.gemini[0]);
    expect((made.body as { batch: { inputConfig: unknown } }).batch.inputConfig).toEqual({ fileName: file.name });
    // Held: both caps at gemini-2.5-flash's output rate ($2.50 a million), half in a batch; nothing billed yet.
    expect(s.spentToday('file-batcher')).toBeGreaterThanOrEqual(Math.floor((4_000 * 2.5 * 1e3) / 2));
    expect(s.rowsOfUser('file-batcher').filter((r) => r.route === 'batches')).toEqual([]);

    made.end([{ input_tokens: 100, output_tokens: 800 }, { input_tokens: 200, output_tokens: 2_000 }]);
    const done = await ai(token).batches.get({ name: job.name! });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const results = done.dest!.fileName!;
    await until('the batch is billed', () => s.rowsOfUser('file-batcher').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('file-batcher').find((r) => r.route === 'batches')!;
    expect([row.model, row.tokensIn, row.tokensOut, row.outcome]).toEqual(['gemini-2.5-flash', 300, 2_800, 'ok']);
    expect(row.costUsd).toBeCloseTo((300 * 0.3 + 2_800 * 2.5) / 1e6 / 2, 12);

    // The responses are the batch owner's to download (Google's SDK reads /v1beta/files/{id}:download?alt=media), no one else's.
    const dir = mkdtempSync(join(tmpdir(), 'kw-gemini-'));
    try {
      await ai(token).files.download({ file: results, downloadPath: join(dir, 'out.jsonl') });
      await until('the download is written', () => readFileSync(join(dir, 'out.jsonl'), 'utf8').endsWith('\n'));
      const got = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string });
      expect(got.map((l) => l.key)).toEqual(['a', 'b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const id = results.slice('files/'.length);
    const other = s.tokenFor('file-batch-other');
    expect((await fetch(`${s.gw.origin}/download/v1beta/files/${id}:download?alt=media`, { headers: { 'x-goog-api-key': other } })).status).toBe(404);
    expect((await fetch(`${s.gw.origin}/download/v1beta/files/${id}:download?alt=media`, { headers: { 'x-goog-api-key': token } })).status).toBe(200);
    // Nor may another user run a batch from the owner's file.
    expect(await status(ai(other).batches.create({ model: 'gemini-2.5-flash', src: file.name! }))).toBe(404);
  });

  it('reads a batch file sent in chunks once, a chunk sent again included', async () => {
    const token = s.tokenFor('file-retrier', { budgetUsd: 5, period: 'day' });
    const line = (key: string, cap: number) => JSON.stringify({ key, request: { contents: [{ parts: [{ text: 'Summarise.' }] }], generationConfig: { maxOutputTokens: cap } } });
    const file = Buffer.from(`${line('a', 1_000)}\n${line('b', 3_000)}\n`);
    const cut = 30;
    const { url } = await open(token, file.length, 'jsonl');
    expect((await send(token, url!, file.subarray(0, cut), 0, 'upload')).status).toBe(200);
    // The answer was lost: the client sends the same bytes again.
    expect((await send(token, url!, file.subarray(0, cut), 0, 'upload')).status).toBe(200);
    const last = await send(token, url!, file.subarray(cut), cut);
    expect(last.headers.get('x-goog-upload-status')).toBe('final');
    const name = ((await last.json()) as { file: { name: string } }).file.name;
    expect(fake.geminiFiles.find((f) => f.name === name)!.bytes.equals(file)).toBe(true);
    const before = s.spentToday('file-retrier');
    await ai(token).batches.create({ model: 'gemini-2.5-flash', src: name });
    // Two requests held, not three: 4 000 output tokens at half of $2.50 a million, and a prompt's worth more.
    const held = s.spentToday('file-retrier') - before;
    expect(held).toBeGreaterThanOrEqual(Math.floor((4_000 * 2.5 * 1e3) / 2));
    expect(held).toBeLessThan(Math.floor((5_000 * 2.5 * 1e3) / 2));
    // Bytes that skip ahead of what the upload holds are refused before they go on.
    const { url: other } = await open(token, file.length, 'jsonl');
    const gap = await send(token, other!, file.subarray(cut), cut, 'upload');
    expect(gap.status).toBe(400);
    expect(((await gap.json()) as { error: { message: string } }).error.message).toMatch(/send the file's bytes in order/);
  });

  it("refuses a batch file's line at fault as it goes up, and a budgeted batch whose requests set no cap, which the gateway cannot cap once the file is up", async () => {
    const token = s.tokenFor('file-careless', { budgetUsd: 5, period: 'day' });
    const good = JSON.stringify({ key: 'a', request: { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 10 } } });
    const bad = `${good}\n{"key": "b", "request": {"contents": "not a list"}}\n`;
    const before = fake.requests.length;
    const refused = (await ai(token)
      .files.upload({ file: new Blob([bad]), config: { mimeType: 'jsonl' } })
      .then(() => undefined, (e: unknown) => e)) as { message?: string } | undefined;
    expect(refused?.message).toMatch(/line 2 of the batch file: 'contents' is required and must be an array/);
    // The session was opened; the refused bytes never went on.
    expect(fake.requests.slice(before).filter((q) => q.method === 'POST' && q.url.includes('upload_id'))).toEqual([]);
    const uncapped = `${good}\n${JSON.stringify({ key: 'b', request: { contents: [{ parts: [{ text: 'hi' }] }] } })}\n`;
    const file = await ai(token).files.upload({ file: new Blob([uncapped]), config: { mimeType: 'application/jsonl' } });
    const noCap = (await ai(token)
      .batches.create({ model: 'gemini-2.5-flash', src: file.name! })
      .then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string };
    expect(noCap.status).toBe(400);
    expect(noCap.message).toMatch(/1 of the batch file's requests set no output cap/);
    // A model the user may not call is refused for a file's requests as for a live request's.
    const narrow = s.tokenFor('file-narrow', { models: ['gemini-2.5-flash'] });
    const capped = await ai(narrow).files.upload({ file: new Blob([`${good}\n`]), config: { mimeType: 'jsonl' } });
    const other = (await ai(narrow)
      .batches.create({ model: 'gemini-2.5-pro', src: capped.name! })
      .then(() => undefined, (e: unknown) => e)) as { status?: number };
    expect(other.status).toBe(403);
    expect((await ai(narrow).batches.create({ model: 'gemini-2.5-flash', src: capped.name! })).name).toMatch(/^batches\//);
    // A file that did not go up as JSON lines holds no requests the gateway read.
    const text = await ai(token).files.upload({ file: new Blob([good]), config: { mimeType: 'text/plain' } });
    const notRead = (await ai(token)
      .batches.create({ model: 'gemini-2.5-flash', src: text.name! })
      .then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string };
    expect(notRead.status).toBe(400);
    expect(notRead.message).toMatch(/did not go up as JSON lines/);
  });
});

