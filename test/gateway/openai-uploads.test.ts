import OpenAI, { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { fakeOpenAiKey } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

describe("OpenAI's Uploads API through the gateway: a file sent in parts, each upload and the file it makes its maker's alone", () => {
  const s = gatewaySuite({ user: 'uploads' });
  let fake: FakeBatches;
  const oa = (token: string, origin = s.gw.origin) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
  const refusal = async (p: Promise<unknown>) => {
    const err = (await p.then(() => undefined, (e: unknown) => e)) as { status?: number; error?: { message?: string; type?: string } } | undefined;
    return { status: err?.status, message: err?.error?.message ?? '', type: err?.error?.type };
  };

  beforeAll(() => {
    fake = attachFakeBatches(s.upstream.server, s.keys);
  });

  it("sends the parts with the key that made the upload, in the order completed, and the file it makes is its uploader's", async () => {
    const token = s.tokenFor('parts-sender');
    const first = Buffer.from('chapter one. ');
    const second = Buffer.from('chapter two.');
    const upload = await oa(token).uploads.create({ bytes: first.length + second.length, filename: 'book.txt', mime_type: 'text/plain', purpose: 'user_data' });
    expect(upload.status).toBe('pending');
    // Parts may come in any order; completion says which goes where.
    const p2 = await oa(token).uploads.parts.create(upload.id, { data: await toFile(second, 'part') });
    const p1 = await oa(token).uploads.parts.create(upload.id, { data: await toFile(first, 'part') });

    const other = s.tokenFor('parts-intruder');
    expect((await refusal(oa(other).uploads.parts.create(upload.id, { data: await toFile(Buffer.from('mine now'), 'part') }))).status).toBe(404);
    expect((await refusal(oa(other).uploads.complete(upload.id, { part_ids: [p1.id, p2.id] }))).status).toBe(404);
    expect((await refusal(oa(other).uploads.cancel(upload.id))).status).toBe(404);

    const done = await oa(token).uploads.complete(upload.id, { part_ids: [p1.id, p2.id] });
    expect(done.status).toBe('completed');
    const fileId = done.file!.id;
    const got = fake.files.find((f) => f.id === fileId)!;
    expect(got.bytes.toString()).toBe('chapter one. chapter two.');
    expect(got.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
    const calls = fake.requests.filter((q) => q.url.startsWith('/v1/uploads'));
    expect(calls).toHaveLength(4);
    expect(calls.every((q) => q.authorization === `Bearer ${s.keys.openai[0]}`)).toBe(true);
    // A file of the Files API, reached by its uploader alone.
    expect((await oa(token).files.retrieve(fileId)).filename).toBe('book.txt');
    expect((await refusal(oa(other).files.retrieve(fileId))).status).toBe(404);
    // An OpenAI upload's id is no Gemini session: its bytes could only go to the wrong provider.
    const open = await oa(token).uploads.create({ bytes: 5, filename: 'x.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const seen = fake.requests.length;
    const crossed = await fetch(`${s.gw.origin}/upload/v1beta/files?upload_id=${open.id}&upload_protocol=resumable`, { method: 'POST', headers: { 'x-goog-api-key': token, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' }, body: 'hello' });
    expect(crossed.status).toBe(404);
    expect(fake.requests.length).toBe(seen);
    // The upload is over: it takes no more parts through the gateway.
    expect((await refusal(oa(token).uploads.parts.create(upload.id, { data: await toFile(Buffer.from('late'), 'part') }))).status).toBe(404);
  });

  it("refuses a batch's requests (read whole at /v1/files), a purpose no route uses, a size over maxFileBytes, and forgets a cancelled upload", async () => {
    const token = s.tokenFor('parts-careless');
    const gw = await s.another({ maxFileBytes: 1_000 });
    const before = fake.requests.length;
    const batch = await refusal(oa(token, gw.origin).uploads.create({ bytes: 10, filename: 'b.jsonl', mime_type: 'application/jsonl', purpose: 'batch' }));
    expect([batch.status, batch.message]).toEqual([400, expect.stringMatching(/POST \/v1\/files, where the gateway reads them whole/)]);
    expect((await refusal(oa(token, gw.origin).uploads.create({ bytes: 10, filename: 'x', mime_type: 'text/plain', purpose: 'assistants' }))).status).toBe(400);
    const big = await refusal(oa(token, gw.origin).uploads.create({ bytes: 1_001, filename: 'x', mime_type: 'text/plain', purpose: 'user_data' }));
    expect([big.status, big.message]).toEqual([413, expect.stringMatching(/maxFileBytes/)]);
    expect(fake.requests.length).toBe(before);
    const upload = await oa(token, gw.origin).uploads.create({ bytes: 5, filename: 'x.txt', mime_type: 'text/plain', purpose: 'user_data' });
    expect((await oa(token, gw.origin).uploads.cancel(upload.id)).status).toBe('cancelled');
    expect((await refusal(oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(Buffer.from('hello'), 'part') }))).status).toBe(404);
    // An upload's paths are POSTs.
    expect((await fetch(`${gw.origin}/v1/uploads`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(405);
  });

  it('holds a text part to the prompt secrets policy before it goes on', async () => {
    const gw = await s.another({ promptSecrets: 'redact' });
    const token = s.tokenFor('parts-leaky');
    const secret = fakeOpenAiKey();
    const text = Buffer.from(`OPENAI_API_KEY=${secret}\n`);
    const upload = await oa(token, gw.origin).uploads.create({ bytes: text.length, filename: 'env.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const before = fake.requests.length;
    const r = await refusal(oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(text, 'part') }));
    expect([r.status, r.type]).toEqual([400, 'secret_in_prompt']);
    expect(r.message).not.toContain(secret);
    expect(fake.requests.length).toBe(before);
  });

  it('answers a malformed call with a clear error, before OpenAI is asked', async () => {
    const token = s.tokenFor('parts-malformed');
    const before = fake.requests.length;
    const call = async (path: string, init: RequestInit) => {
      const r = await fetch(`${s.gw.origin}${path}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
      return { status: r.status, message: ((await r.json()) as { error: { message: string } }).error.message };
    };
    expect(await call('/v1/uploads', { body: 'not json', headers: { 'content-type': 'application/json' } })).toEqual({ status: 400, message: expect.stringMatching(/JSON/) });
    expect(await call('/v1/uploads', { body: JSON.stringify({ purpose: 'user_data', bytes: 'ten' }), headers: { 'content-type': 'application/json' } })).toEqual({ status: 400, message: expect.stringMatching(/'bytes' must give the file's size/) });
    expect(await call('/v1/uploads/not-an-upload/parts', { body: 'x' })).toEqual({ status: 404, message: expect.stringMatching(/\/v1\/uploads\/upload_…\/parts/) });
    const upload = await oa(token).uploads.create({ bytes: 5, filename: 'x.txt', mime_type: 'text/plain', purpose: 'user_data' });
    expect(await call(`/v1/uploads/${upload.id}/parts`, { body: 'hello', headers: { 'content-type': 'text/plain' } })).toEqual({ status: 400, message: expect.stringMatching(/multipart\/form-data with 'data'/) });
    expect(await call(`/v1/uploads/${upload.id}/complete`, { body: '{', headers: { 'content-type': 'application/json' } })).toEqual({ status: 400, message: expect.stringMatching(/JSON/) });
    // Only the create went on.
    expect(fake.requests.length).toBe(before + 1);
  });
});

