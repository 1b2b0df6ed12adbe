import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { beforeAll, describe, expect, it } from 'vitest';
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
  const s = gatewaySuite({ user: 'gemini-files' });
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
    expect(fake.requests.filter((q) => q.url.startsWith('/upload/')).every((q) => q.authorization === s.keys.gemini[0])).toBe(true);

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
    expect(answer.text).toBeDefined();
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
    // Creation is by upload; the files path lists and reads.
    expect((await fetch(`${gw.origin}/v1beta/files`, { method: 'POST', headers: { 'x-goog-api-key': token }, body: '{}' })).status).toBe(405);
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
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0xfe, 1, 2, 3]);
    const png = await open(token, image.length, 'image/png', gw.origin);
    const ok = await send(token, png.url!, image, 0);
    expect(ok.status).toBe(200);
    const made = ((await ok.json()) as { file: { name: string } }).file;
    expect(fake.geminiFiles.find((f) => f.name === made.name)!.bytes.equals(image)).toBe(true);
  });
});
