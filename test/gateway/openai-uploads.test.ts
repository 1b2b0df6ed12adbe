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

  it('reads the end of each text part with the start of the next, in the order the completion gives: a secret cut between two parts is refused', async () => {
    const gw = await s.another({ promptSecrets: 'redact' });
    const token = s.tokenFor('parts-cut');
    const secret = fakeOpenAiKey();
    // Longer than the 8 KiB kept whole, so only each part's ends are read; two-byte characters, so 4 KiB from an end cuts one (left out, or the text would read as binary).
    const filler = 'é'.repeat(6_000);
    const first = Buffer.from(`${filler}\nOPENAI_API_KEY=${secret.slice(0, 41)}`);
    const second = Buffer.from(`${secret.slice(41)}\n.${filler}`);
    const completes = (id: string) => fake.requests.filter((q) => q.url === `/v1/uploads/${id}/complete`).length;
    const upload = await oa(token, gw.origin).uploads.create({ bytes: first.length + second.length, filename: 'env.txt', mime_type: 'text/plain', purpose: 'user_data' });
    // Each half alone holds no secret: both parts go on.
    const p1 = await oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(first, 'part') });
    const p2 = await oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(second, 'part') });
    const r = await refusal(oa(token, gw.origin).uploads.complete(upload.id, { part_ids: [p1.id, p2.id] }));
    expect([r.status, r.type]).toEqual([400, 'secret_in_prompt']);
    expect(r.message).toMatch(/a secret spans two of the file's parts/);
    expect(r.message).not.toContain(secret.slice(0, 41));
    expect(completes(upload.id)).toBe(0);
    // The other way round, the halves are not next to each other: the file is made.
    expect((await oa(token, gw.origin).uploads.complete(upload.id, { part_ids: [p2.id, p1.id] })).status).toBe('completed');
    expect(completes(upload.id)).toBe(1);

    // A secret cut in three, its middle a short part kept whole: no two parts next to each other hold enough of it to be found, all three read together do.
    const thirds = [`note\nOPENAI_API_KEY=${secret.slice(0, 20)}`, secret.slice(20, 41), `${secret.slice(41)}\nend\n`].map((t) => Buffer.from(t));
    const cut = await oa(token, gw.origin).uploads.create({ bytes: thirds.reduce((n, b) => n + b.length, 0), filename: 'env.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const ids: string[] = [];
    for (const t of thirds) ids.push((await oa(token, gw.origin).uploads.parts.create(cut.id, { data: await toFile(t, 'part') })).id);
    expect((await refusal(oa(token, gw.origin).uploads.complete(cut.id, { part_ids: ids }))).type).toBe('secret_in_prompt');
    expect(completes(cut.id)).toBe(0);
  });

  it('reads a part cut inside a character: its whole characters alone, the cut one with its neighbours at completion', async () => {
    const gw = await s.another({ promptSecrets: 'block' });
    const token = s.tokenFor('parts-accented');
    const secret = fakeOpenAiKey();
    // Three parts cut at odd offsets in two-byte characters: the middle one starts and ends inside one, and holds the whole secret.
    const text = Buffer.from(`${'é'.repeat(100)}\nOPENAI_API_KEY=${secret}\n${'é'.repeat(100)}`);
    const cuts = [101, text.length - 101];
    const parts = [text.subarray(0, cuts[0]), text.subarray(cuts[0], cuts[1]), text.subarray(cuts[1])];
    const upload = await oa(token, gw.origin).uploads.create({ bytes: text.length, filename: 'env.txt', mime_type: 'text/plain', purpose: 'user_data' });
    expect((await oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(parts[0]!, 'part') })).id).toMatch(/^part_/);
    const before = fake.requests.length;
    const r = await refusal(oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(parts[1]!, 'part') }));
    expect([r.status, r.type]).toEqual([400, 'secret_in_prompt']);
    expect(fake.requests.length).toBe(before);
    // Without the secret, the same cuts go up, and complete.
    const clean = Buffer.from(`${'é'.repeat(100)}\nnothing to see\n${'é'.repeat(100)}`);
    const ok = await oa(token, gw.origin).uploads.create({ bytes: clean.length, filename: 'n.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const ids: string[] = [];
    for (const p of [clean.subarray(0, 101), clean.subarray(101, clean.length - 101), clean.subarray(clean.length - 101)]) ids.push((await oa(token, gw.origin).uploads.parts.create(ok.id, { data: await toFile(p, 'part') })).id);
    expect((await oa(token, gw.origin).uploads.complete(ok.id, { part_ids: ids })).status).toBe('completed');
  });

  it('completes a secret-free upload in parts under the policy, and takes no more parts than room to send each again', async () => {
    const gw = await s.another({ promptSecrets: 'redact' });
    const token = s.tokenFor('parts-clean');
    const parts = [`${'plain text, '.repeat(1_000)}\n`, 'a short part\n', `${'more text. '.repeat(1_000)}\n`].map((t) => Buffer.from(t));
    const bytes = parts.reduce((n, b) => n + b.length, 0);
    const upload = await oa(token, gw.origin).uploads.create({ bytes, filename: 'notes.txt', mime_type: 'text/plain', purpose: 'user_data' });
    const ids: string[] = [];
    for (const p of parts) ids.push((await oa(token, gw.origin).uploads.parts.create(upload.id, { data: await toFile(p, 'part') })).id);
    const done = await oa(token, gw.origin).uploads.complete(upload.id, { part_ids: ids });
    expect(done.status).toBe('completed');
    expect(fake.files.find((f) => f.id === done.file!.id)!.bytes.equals(Buffer.concat(parts))).toBe(true);

    // Twice the declared size, no more: what the gateway keeps of an upload's parts stays bounded.
    const small = await oa(token, gw.origin).uploads.create({ bytes: 10, filename: 'x.txt', mime_type: 'text/plain', purpose: 'user_data' });
    await oa(token, gw.origin).uploads.parts.create(small.id, { data: await toFile(Buffer.from('0123456789'), 'part') });
    await oa(token, gw.origin).uploads.parts.create(small.id, { data: await toFile(Buffer.from('0123456789'), 'part') });
    const before = fake.requests.length;
    const over = await refusal(oa(token, gw.origin).uploads.parts.create(small.id, { data: await toFile(Buffer.from('x'), 'part') }));
    expect([over.status, over.message]).toEqual([400, expect.stringMatching(/would hold 21 bytes, more than twice the 10 it declared/)]);
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
    expect(await call(`/v1/uploads/${upload.id}/complete`, { body: JSON.stringify({ part_ids: 'part_1' }), headers: { 'content-type': 'application/json' } })).toEqual({ status: 400, message: expect.stringMatching(/'part_ids' must list the upload's part ids/) });
    // Only the create went on.
    expect(fake.requests.length).toBe(before + 1);
  });
});

