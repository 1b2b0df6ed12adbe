import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { endUserId } from '../../src/gateway/end-user-id.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken } from '../../src/gateway/tokens.js';
import { MemoryCounters, MemoryLedger } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { attachFakeBatches, type FakeBatches } from './helpers/fake-batches.js';
import { bearer, until } from './helpers/http.js';
import { randomChars } from './helpers/keys.js';
import { gatewaySuite } from './helpers/suite.js';

/** gpt-4o-mini's list prices per token; a batch pays half. */
const IN_USD = 0.15 / 1e6;
const OUT_USD = 0.6 / 1e6;
/** claude-haiku-4-5's. */
const HAIKU_IN = 1 / 1e6;
const HAIKU_OUT = 5 / 1e6;

const line = (id: string, body: Record<string, unknown>, url = '/v1/chat/completions') => JSON.stringify({ custom_id: id, method: 'POST', url, body });
const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Classify this ticket.' }], ...extra });
const jsonl = (...lines: string[]) => Buffer.from(lines.join('\n') + '\n');

describe('batches through the gateway: read before they run, held against the budgets, billed at batch rates, reached by their owner alone', () => {
  const counters = new MemoryCounters();
  const s = gatewaySuite({ user: 'batcher', gateway: { counters, background: { pollMs: 1000 } } });
  let fake: FakeBatches;
  const oa = (token: string) => new OpenAI({ baseURL: `${s.gw.origin}/v1`, apiKey: token, maxRetries: 0 });
  const upload = async (token: string, bytes: Buffer, purpose: 'batch' | 'user_data' = 'batch') => oa(token).files.create({ file: await toFile(bytes, 'requests.jsonl'), purpose });
  const refusal = async (p: Promise<unknown>) => {
    // OpenAI's SDK gives the body's `error`; Anthropic's the whole body, whose `error` holds it.
    const err = (await p.catch((e: unknown) => e)) as { status?: number; error?: { message?: string; type?: string; error?: { message?: string; type?: string } } };
    const e = err.error?.error ?? err.error;
    return { status: err.status, message: e?.message ?? '', type: e?.type };
  };

  beforeAll(() => {
    fake = attachFakeBatches(s.upstream.server, s.keys);
  });

  it('sends a batch file as the gateway sends each request, holds its worst case until it ends, and bills what each request used at half price', async () => {
    const token = s.tokenFor('nightly', { budgetUsd: 5, period: 'day' });
    const file = await upload(token, jsonl(line('a', chat({ max_tokens: 300 })), line('b', chat())));
    // The file OpenAI got: the uncapped request capped (a budget counts this user), both carrying the user's identifier, and the real key.
    const got = fake.files.at(-1)!;
    expect(got.authorization).toBe(`Bearer ${s.keys.openai[0]}`);
    const sent = got.bytes.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; body: Record<string, unknown> });
    expect(sent.map((x) => x.custom_id)).toEqual(['a', 'b']);
    expect(sent[0]!.body.max_tokens).toBe(300);
    expect(sent[0]!.body.max_completion_tokens).toBeUndefined();
    expect(sent[1]!.body.max_completion_tokens).toBe(4096);
    expect(sent.map((x) => x.body.safety_identifier)).toEqual([endUserId(s.dir.getUser('nightly')!.id), endUserId(s.dir.getUser('nightly')!.id)]);

    const batch = await oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(batch.status).toBe('validating');
    // Tagged with its user, made with the key the file was uploaded with.
    expect(fake.batches.at(-1)!.body.metadata).toEqual({ keyward_user: s.dir.getUser('nightly')!.id });
    // Held: the worst case of both requests at half price, nothing billed yet.
    const held = s.spentToday('nightly');
    expect(held).toBeGreaterThanOrEqual(Math.floor((4396 * OUT_USD * 1e9) / 2));
    expect(s.rowsOfUser('nightly').filter((r) => r.route === 'batches')).toEqual([]);
    // Its operators see it among the work followed.
    expect((await s.gw.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_followed\{kind="batch"\} [1-9]/m);

    fake.batches.at(-1)!.end([
      { input_tokens: 1_000, output_tokens: 200 },
      { input_tokens: 3_000, output_tokens: 900 },
    ]);
    // Seen ended when the client retrieves it through the gateway.
    const done = await oa(token).batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    await until('the batch is billed', () => s.rowsOfUser('nightly').some((r) => r.route === 'batches'));
    const billed = s.rowsOfUser('nightly').find((r) => r.route === 'batches')!;
    expect([billed.model, billed.tokensIn, billed.tokensOut, billed.outcome, billed.status]).toEqual(['gpt-4o-mini', 4_000, 1_100, 'ok', 200]);
    expect(billed.costUsd).toBeCloseTo((4_000 * IN_USD + 1_100 * OUT_USD) / 2, 12);
    expect(s.spentToday('nightly')).toBe(Math.ceil(billed.costUsd * 1e9));

    // The output file OpenAI made is its batch's user's to read.
    const out = await (await oa(token).files.content(done.output_file_id!)).text();
    expect(out.split('\n').filter(Boolean)).toHaveLength(2);
    const logs = s.gw.logs.join('');
    expect(logs).not.toContain(s.keys.openai[0]);
    expect(logs).not.toContain(token);
  });

  it('bills a batch the client never asks about, by asking OpenAI itself; from its total when it has no output file', async () => {
    const token = s.tokenFor('quiet', { budgetUsd: 5, period: 'day' });
    const file = await upload(token, jsonl(line('1', chat({ max_tokens: 100 })), line('2', chat({ max_tokens: 100 }))));
    const batch = await oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    fake.batches.find((b) => b.id === batch.id)!.end([{ input_tokens: 500, output_tokens: 50 }, { input_tokens: 700, output_tokens: 70 }], { noOutputFile: true, total: true });
    await until('the batch is billed', () => s.rowsOfUser('quiet').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('quiet').find((r) => r.route === 'batches')!;
    expect([row.route, row.tokensIn, row.tokensOut, row.outcome]).toEqual(['batches', 1_200, 120, 'ok_estimated']);
    expect(row.costUsd).toBeCloseTo((1_200 * IN_USD + 120 * OUT_USD) / 2, 12);
    expect(fake.requests.some((r) => r.method === 'GET' && r.url === `/v1/batches/${batch.id}`)).toBe(true);
  });

  it('prices each request of a batch at the rates its own prompt calls for: one past the long-context threshold, the other not', async () => {
    const token = s.tokenFor('long', { budgetUsd: 50, period: 'day' });
    const file = await upload(token, jsonl(line('1', chat({ model: 'gpt-5.4', max_tokens: 1_000 })), line('2', chat({ model: 'gpt-5.4', max_tokens: 1_000 }))));
    const batch = await oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    fake.batches.find((b) => b.id === batch.id)!.end([{ input_tokens: 300_000, output_tokens: 1_000 }, { input_tokens: 1_000, output_tokens: 100 }]);
    await oa(token).batches.retrieve(batch.id);
    await until('the batch is billed', () => s.rowsOfUser('long').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('long').find((r) => r.route === 'batches')!;
    // GPT-5.4 past 272K prompt tokens: twice the input rate and 1.5 times the output, for that request alone.
    const usd = (300_000 * 5 + 1_000 * 22.5 + 1_000 * 2.5 + 100 * 15) / 1e6 / 2;
    expect(row.costUsd).toBeCloseTo(usd, 12);
  });

  it('cancels the batch of a user disabled while it runs, and bills what ran once the cancel has taken', async () => {
    const token = s.tokenFor('leaver', { budgetUsd: 5, period: 'day' });
    const file = await upload(token, jsonl(line('1', chat({ max_tokens: 500 })), line('2', chat({ max_tokens: 500 }))));
    const batch = await oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    s.dir.setDisabled('leaver', true);
    await until('the gateway cancels it', () => fake.requests.some((r) => r.method === 'POST' && r.url === `/v1/batches/${batch.id}/cancel`), 5_000);
    // Still cancelling: nothing billed yet, the hold kept.
    expect(s.rowsOfUser('leaver').filter((r) => r.route === 'batches')).toEqual([]);
    fake.batches.find((b) => b.id === batch.id)!.end([{ input_tokens: 300, output_tokens: 30 }], { status: 'cancelled' });
    await until('the batch is billed', () => s.rowsOfUser('leaver').some((r) => r.route === 'batches'), 5_000);
    const row = s.rowsOfUser('leaver').find((r) => r.route === 'batches')!;
    expect([row.tokensIn, row.tokensOut, row.outcome]).toEqual([300, 30, 'user_disabled']);
    expect(row.costUsd).toBeCloseTo((300 * IN_USD + 30 * OUT_USD) / 2, 12);
  });

  it("keeps a batch out of the user's live limits: it takes no place among the requests in flight, and its tokens no share of the tokens per minute", async () => {
    const token = s.tokenFor('busy', { parallel: 1, tpm: 10_000 });
    const file = await upload(token, jsonl(line('1', chat({ max_tokens: 50_000 })), line('2', chat({ max_tokens: 50_000 }))));
    const batch = await oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const ask = () => oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 });
    expect((await ask()).choices).toHaveLength(1);
    fake.batches.find((b) => b.id === batch.id)!.end([{ input_tokens: 20_000, output_tokens: 40_000 }, { input_tokens: 20_000, output_tokens: 40_000 }]);
    await oa(token).batches.retrieve(batch.id);
    await until('the batch is billed', () => s.rowsOfUser('busy').some((r) => r.route === 'batches'));
    expect((await ask()).choices).toHaveLength(1);
  });

  it('never lets batches pass a hard budget: a running batch stays held, so the next is refused', async () => {
    // Each request may write 100 000 tokens: $0.03 at half price. One batch of two fits in $0.10, two do not.
    const token = s.tokenFor('capped', { budgetUsd: 0.1, period: 'day' });
    const body = jsonl(line('1', chat({ max_tokens: 100_000 })), line('2', chat({ max_tokens: 100_000 })));
    const first = await upload(token, body);
    const second = await upload(token, body);
    await oa(token).batches.create({ input_file_id: first.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const refused = await refusal(oa(token).batches.create({ input_file_id: second.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect(refused.status).toBe(402);
    expect(refused.type).toBe('budget_exceeded');
    expect(fake.batches.filter((b) => b.authorization !== '' && (b.body.input_file_id as string) === fake.files.at(-1)!.id)).toEqual([]);
  });

  it('lets a user past their budget read, list, cancel and delete what they made, and refuses anything new', async () => {
    const token = s.tokenFor('lowered', { budgetUsd: 5, period: 'day' });
    const data = await upload(token, Buffer.from('quarterly figures'), 'user_data');
    const input = await upload(token, jsonl(line('1', chat({ max_tokens: 1000 }))));
    const batch = await oa(token).batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    // The running batch holds its worst case; the operator then lowers the budget below it.
    expect(s.spentToday('lowered')).toBeGreaterThan(0);
    s.dir.setUser('lowered', { budgetUsd: s.spentToday('lowered') / 1e9 / 2 });
    const chatRefused = await refusal(oa(token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Classify this ticket.' }] }));
    expect([chatRefused.status, chatRefused.type]).toEqual([402, 'budget_exceeded']);
    const uploadRefused = await refusal(upload(token, Buffer.from('more figures'), 'user_data'));
    expect(uploadRefused.status).toBe(402);

    expect((await oa(token).batches.retrieve(batch.id)).id).toBe(batch.id);
    expect((await oa(token).files.retrieve(data.id)).id).toBe(data.id);
    expect(await (await oa(token).files.content(data.id)).text()).toBe('quarterly figures');
    const listed: string[] = [];
    for await (const f of oa(token).files.list()) listed.push(f.id);
    expect(new Set(listed)).toEqual(new Set([data.id, input.id]));
    expect((await oa(token).batches.cancel(batch.id)).status).toBe('cancelling');
    expect((await oa(token).files.delete(data.id)).deleted).toBe(true);
  });

  it('refuses a batch file with the line at fault, before anything reaches OpenAI', async () => {
    const token = s.tokenFor('careless', { models: ['gpt-4o-mini'] });
    const before = fake.files.length;
    const cases: Array<[Buffer, number, RegExp]> = [
      [jsonl(line('1', chat()), 'not json'), 400, /line 2 of the batch file is not JSON/],
      [jsonl(line('1', chat()), line('2', chat({ model: 'gpt-4o' }))), 400, /line 2 of the batch file: it asks for 'gpt-4o' where line 1 asks for 'gpt-4o-mini'.*one batch per model/],
      [jsonl(line('1', chat({ model: 'gpt-4o' }))), 403, /line 1 of the batch file: .*gpt-4o/],
      [jsonl(line('1', chat()), line('1', chat())), 400, /line 2 of the batch file: 'custom_id' '1' is used twice/],
      [jsonl(line('1', chat()), line('2', { model: 'gpt-4o-mini', input: 'x' }, '/v1/embeddings')), 400, /line 2 .* a batch calls one endpoint/],
      [jsonl(line('1', chat({ stream: true }))), 400, /line 1 .*cannot stream/],
      [jsonl(line('1', chat(), '/v1/images/generations')), 400, /line 1 .*'url' must be one of/],
      [jsonl(line('1', chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-someoneelse' } }] }] }))), 403, /file-someoneelse/],
      [Buffer.from('\n\n'), 400, /no requests/],
    ];
    for (const [bytes, status, message] of cases) {
      const r = await refusal(upload(token, bytes));
      expect(r.status, String(message)).toBe(status);
      expect(r.message).toMatch(message);
    }
    const purpose = await refusal(oa(token).files.create({ file: await toFile(Buffer.from('x'), 'a.jsonl'), purpose: 'fine-tune' }));
    expect([purpose.status, purpose.message]).toEqual([400, expect.stringMatching(/'purpose' must be one of batch, user_data, vision/)]);
    expect(fake.files.length).toBe(before);
  });

  it("keeps each user's files and batches their own: another user can neither see, read, use nor delete them", async () => {
    const owner = s.tokenFor('owner');
    const other = s.tokenFor('other');
    const data = await upload(owner, Buffer.from('quarterly figures'), 'user_data');
    const input = await upload(owner, jsonl(line('1', chat({ max_tokens: 10 }))));
    const batch = await oa(owner).batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    for (const p of [oa(other).files.retrieve(data.id), oa(other).files.content(data.id), oa(other).files.delete(data.id), oa(other).batches.retrieve(batch.id), oa(other).batches.cancel(batch.id)]) {
      expect((await refusal(p)).status).toBe(404);
    }
    // Nor start a batch from the owner's file.
    const stolen = await refusal(oa(other).batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect([stolen.status, stolen.message]).toEqual([404, expect.stringMatching(/no file of yours/)]);
    // Lists hold the caller's own alone.
    const ids = async (token: string) => {
      const out: string[] = [];
      for await (const f of oa(token).files.list()) out.push(f.id);
      for await (const b of oa(token).batches.list()) out.push(b.id);
      return out;
    };
    expect(await ids(other)).toEqual([]);
    expect(new Set(await ids(owner))).toEqual(new Set([data.id, input.id, batch.id]));
    // The owner may name their own file in a chat; another user may not.
    const named = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: [{ type: 'file' as const, file: { file_id: data.id } }] }] };
    expect((await oa(owner).chat.completions.create(named)).choices).toHaveLength(1);
    const borrowed = await refusal(oa(other).chat.completions.create(named));
    expect([borrowed.status, borrowed.type]).toEqual([403, 'permission_error']);
    // A batch file is not a chat's to use as input, nor a user_data file a batch's.
    const notBatch = await refusal(oa(owner).batches.create({ input_file_id: data.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect([notBatch.status, notBatch.message]).toEqual([400, expect.stringMatching(/not uploaded with purpose 'batch'/)]);
    // The owner cancels and deletes.
    expect((await oa(owner).batches.cancel(batch.id)).status).toBe('cancelling');
    expect((await oa(owner).files.delete(data.id)).deleted).toBe(true);
    expect((await refusal(oa(owner).files.retrieve(data.id))).status).toBe(404);
  });

  it('runs Anthropic message batches the same way: checked, held, billed at half price from their results, reached by their owner alone', async () => {
    const token = s.tokenFor('claude-batcher', { budgetUsd: 5, period: 'day' });
    const an = (t: string) => new Anthropic({ baseURL: s.gw.origin, apiKey: t, maxRetries: 0 });
    const params = (max_tokens: number) => ({ model: 'claude-haiku-4-5', max_tokens, messages: [{ role: 'user' as const, content: 'Summarise.' }] });
    const batch = await an(token).messages.batches.create({ requests: [{ custom_id: 'x', params: params(1_000) }, { custom_id: 'y', params: params(2_000) }] });
    expect(batch.processing_status).toBe('in_progress');
    const made = fake.batches.find((b) => b.id === batch.id)!;
    expect(made.authorization).toBe(s.keys.anthropic[0]);
    const requests = made.body.requests as Array<{ params: { metadata?: { user_id?: string } } }>;
    expect(requests.map((q) => q.params.metadata?.user_id)).toEqual([endUserId(s.dir.getUser('claude-batcher')!.id), endUserId(s.dir.getUser('claude-batcher')!.id)]);
    expect(s.spentToday('claude-batcher')).toBeGreaterThanOrEqual(Math.floor((3_000 * HAIKU_OUT * 1e9) / 2));

    const other = s.tokenFor('claude-other');
    expect((await refusal(an(other).messages.batches.retrieve(batch.id))).status).toBe(404);
    expect((await refusal(an(other).messages.batches.results(batch.id))).status).toBe(404);
    const others: string[] = [];
    for await (const b of an(other).messages.batches.list()) others.push(b.id);
    expect(others).toEqual([]);

    made.end([{ input_tokens: 400, output_tokens: 800 }]);
    const ended = await an(token).messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    // Its results are read through the gateway, never from Anthropic with the gateway token.
    expect(ended.results_url).toBe(`/v1/messages/batches/${batch.id}/results`);
    await until('the batch is billed', () => s.rowsOfUser('claude-batcher').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('claude-batcher').find((r) => r.route === 'batches')!;
    expect([row.route, row.model, row.tokensIn, row.tokensOut, row.outcome]).toEqual(['batches', 'claude-haiku-4-5', 400, 800, 'ok']);
    expect(row.costUsd).toBeCloseTo((400 * HAIKU_IN + 800 * HAIKU_OUT) / 2, 12);
    const results: string[] = [];
    for await (const r of await an(token).messages.batches.results(batch.id)) results.push(r.result.type);
    expect(results).toEqual(['succeeded', 'errored']);
    expect(fake.requests.filter((r) => r.url.startsWith('/v1/messages/batches')).every((r) => r.anthropicVersion !== undefined)).toBe(true);
  });

  it("runs Gemini's batch mode the same way: inline requests checked and capped, held, billed at half price from their responses, reached by their owner alone", async () => {
    const token = s.tokenFor('gemini-batcher', { budgetUsd: 5, period: 'day' });
    const ai = (t: string) => new GoogleGenAI({ apiKey: t, httpOptions: { baseUrl: s.gw.origin } });
    const job = await ai(token).batches.create({
      model: 'gemini-2.5-flash',
      src: [
        { contents: [{ role: 'user', parts: [{ text: 'Summarise.' }] }], config: { maxOutputTokens: 2_000 } },
        { contents: [{ role: 'user', parts: [{ text: 'Translate.' }] }] },
      ],
      config: { displayName: 'nightly' },
    });
    expect(job.name).toMatch(/^batches\//);
    const id = job.name!.slice('batches/'.length);
    const made = fake.batches.find((b) => b.id === id)!;
    expect(made.authorization).toBe(s.keys.gemini[0]);
    // The request without a cap is sent with the one it was reserved for.
    const sent = (made.body as { batch: { inputConfig: { requests: { requests: Array<{ request: { generationConfig?: { maxOutputTokens?: number } } }> } } } }).batch.inputConfig.requests.requests;
    expect(sent.map((q) => q.request.generationConfig?.maxOutputTokens)).toEqual([2_000, 4096]);
    // gemini-2.5-flash: $0.30 / $2.50 a million; half in a batch.
    expect(s.spentToday('gemini-batcher')).toBeGreaterThanOrEqual(Math.floor((6_096 * 2.5 * 1e3) / 2));
    const other = s.tokenFor('gemini-other');
    const stranger = (await ai(other).batches.get({ name: job.name! }).then(() => undefined, (e: unknown) => e)) as { status?: number } | undefined;
    expect(stranger?.status).toBe(404);
    const others: string[] = [];
    for await (const b of await ai(other).batches.list()) others.push(b.name!);
    expect(others).toEqual([]);
    made.end([{ input_tokens: 100, output_tokens: 1_000 }, { input_tokens: 200, output_tokens: 3_000 }]);
    const done = await ai(token).batches.get({ name: job.name! });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    expect(done.dest?.inlinedResponses).toHaveLength(2);
    await until('the batch is billed', () => s.rowsOfUser('gemini-batcher').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('gemini-batcher').find((r) => r.route === 'batches')!;
    expect([row.model, row.tokensIn, row.tokensOut, row.outcome]).toEqual(['gemini-2.5-flash', 300, 4_000, 'ok']);
    expect(row.costUsd).toBeCloseTo((300 * 0.3 + 4_000 * 2.5) / 1e6 / 2, 12);
    const mine: string[] = [];
    for await (const b of await ai(token).batches.list()) mine.push(b.name!);
    expect(mine).toEqual([job.name]);
    // Its owner cancels one through the gateway (Gemini names the method after a colon).
    const second = await ai(token).batches.create({ model: 'gemini-2.5-flash', src: [{ contents: [{ role: 'user', parts: [{ text: 'again' }] }], config: { maxOutputTokens: 10 } }] });
    await ai(token).batches.cancel({ name: second.name! });
    expect(fake.requests.some((q) => q.method === 'POST' && q.url === `/v1beta/${second.name!}:cancel`)).toBe(true);
    expect((await ai(token).batches.get({ name: second.name! })).state).toBe('JOB_STATE_CANCELLED');
    // A batch from a file not uploaded through the gateway (whose requests it has not read) is refused.
    const fromFile = await fetch(`${s.gw.origin}/v1beta/models/gemini-2.5-flash:batchGenerateContent`, { method: 'POST', headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ batch: { inputConfig: { fileName: 'files/abc' } } }) });
    expect(fromFile.status).toBe(404);
    expect(((await fromFile.json()) as { error: { message: string } }).error.message).toMatch(/no file of yours named 'files\/abc'/);
  });

  it("takes a batch's requests in its body up to maxFileBytes, not the smaller limit on a request's body", async () => {
    const gw = await s.another({ maxBodyBytes: 4_000, maxFileBytes: 40_000 });
    const token = s.tokenFor('bulk');
    const an = new Anthropic({ baseURL: gw.origin, apiKey: token, maxRetries: 0 });
    const requests = Array.from({ length: 40 }, (_, i) => ({ custom_id: `r${i}`, params: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'x'.repeat(200) }] } }));
    expect((await an.messages.batches.create({ requests })).processing_status).toBe('in_progress');
    const tooMany = await refusal(an.messages.batches.create({ requests: [...requests, ...requests, ...requests, ...requests, ...requests].map((q, i) => ({ ...q, custom_id: `r${i}` })) }));
    expect(tooMany.status).toBe(413);
    const chat = await fetch(`${gw.origin}/v1/messages`, { method: 'POST', headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify(requests[0]!.params).replace('x'.repeat(200), 'x'.repeat(5_000)) });
    expect(chat.status).toBe(413);
  });

  it("keeps Anthropic's files (its Files API, at the same path as OpenAI's) their uploader's: theirs to name in a message, read, list and delete, nobody else's", async () => {
    const owner = s.tokenFor('claude-filer');
    const other = s.tokenFor('claude-snoop');
    const an = (t: string) => new Anthropic({ baseURL: s.gw.origin, apiKey: t, maxRetries: 0 });
    const file = await an(owner).beta.files.upload({ file: await toFile(Buffer.from('Q3 revenue: 12.4M\n'), 'q3.txt', { type: 'text/plain' }) });
    expect(file.id).toMatch(/^file_/);
    expect(fake.files.find((f) => f.id === file.id)!.authorization).toBe(s.keys.anthropic[0]);
    const ask = (t: string) => an(t).beta.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, betas: ['files-api-2025-04-14'], messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: file.id } }, { type: 'text', text: 'Summarise.' }] }] });
    expect((await ask(owner)).content.length).toBeGreaterThan(0);
    const borrowed = await refusal(ask(other));
    expect([borrowed.status, borrowed.type]).toEqual([403, 'permission_error']);
    expect((await an(owner).beta.files.retrieveMetadata(file.id)).id).toBe(file.id);
    expect((await refusal(an(other).beta.files.retrieveMetadata(file.id))).status).toBe(404);
    expect((await refusal(an(other).beta.files.delete(file.id))).status).toBe(404);
    const listed = async (t: string) => {
      const ids: string[] = [];
      for await (const f of an(t).beta.files.list()) ids.push(f.id);
      return ids;
    };
    expect(await listed(other)).toEqual([]);
    expect(await listed(owner)).toEqual([file.id]);
    expect((await an(owner).beta.files.delete(file.id)).type).toBe('file_deleted');
  });

  it('bills an Anthropic batch from its results when its owner deletes it the moment it ends, before the gateway has looked', async () => {
    const token = s.tokenFor('quick-deleter', { budgetUsd: 5, period: 'day' });
    const an = new Anthropic({ baseURL: s.gw.origin, apiKey: token, maxRetries: 0 });
    const batch = await an.messages.batches.create({ requests: [{ custom_id: 'a', params: { model: 'claude-haiku-4-5', max_tokens: 5_000, messages: [{ role: 'user', content: 'hi' }] } }] });
    fake.batches.find((b) => b.id === batch.id)!.end([{ input_tokens: 70, output_tokens: 90 }]);
    expect((await an.messages.batches.delete(batch.id)).type).toBe('message_batch_deleted');
    await until('the batch is billed', () => s.rowsOfUser('quick-deleter').some((r) => r.route === 'batches'));
    const row = s.rowsOfUser('quick-deleter').find((r) => r.route === 'batches')!;
    expect([row.tokensIn, row.tokensOut, row.outcome]).toEqual([70, 90, 'ok']);
  });

  it("keeps a vector store its maker's: made from their own files, searched by file_search in their requests alone, reached, searched and listed by them alone", async () => {
    const owner = s.tokenFor('librarian');
    const other = s.tokenFor('borrower');
    const doc = await upload(owner, Buffer.from('The handbook says: ship on Tuesdays.'), 'user_data');
    const theirs = await upload(other, Buffer.from('not yours'), 'user_data');
    const store = await oa(owner).vectorStores.create({ name: 'handbook', file_ids: [doc.id], metadata: { team: 'docs' } });
    expect(fake.vectorStores.find((v) => v.id === store.id)!.metadata).toEqual({ team: 'docs', keyward_user: s.dir.getUser('librarian')!.id });
    // Not from another user's file.
    expect((await refusal(oa(owner).vectorStores.create({ name: 'stolen', file_ids: [theirs.id] }))).status).toBe(403);
    const search = (t: string) => oa(t).responses.create({ model: 'gpt-4o-mini', input: 'When do we ship?', tools: [{ type: 'file_search', vector_store_ids: [store.id] }] });
    expect((await search(owner)).id).toMatch(/^resp_/);
    const borrowed = await refusal(search(other));
    expect([borrowed.status, borrowed.type]).toEqual([403, 'permission_error']);
    expect((await oa(owner).vectorStores.search(store.id, { query: 'ship' })).data).toHaveLength(1);
    for (const call of [() => oa(other).vectorStores.retrieve(store.id), () => oa(other).vectorStores.search(store.id, { query: 'ship' }), () => oa(other).vectorStores.delete(store.id), () => oa(other).vectorStores.files.create(store.id, { file_id: theirs.id })]) {
      expect((await refusal(call())).status).toBe(404);
    }
    // Files added are the owner's alone too.
    expect((await refusal(oa(owner).vectorStores.files.create(store.id, { file_id: theirs.id }))).status).toBe(403);
    const listed = async (t: string) => {
      const ids: string[] = [];
      for await (const v of oa(t).vectorStores.list()) ids.push(v.id);
      return ids;
    };
    expect(await listed(other)).toEqual([]);
    expect(await listed(owner)).toEqual([store.id]);
    // A change of its metadata keeps the tag.
    expect((await oa(owner).vectorStores.update(store.id, { metadata: { team: 'ops' } })).metadata).toEqual({ team: 'ops', keyward_user: s.dir.getUser('librarian')!.id });
    expect((await oa(owner).vectorStores.delete(store.id)).deleted).toBe(true);
  });

  it('refuses an Anthropic batch that mixes models or names a model the user may not use, with the request at fault', async () => {
    const token = s.tokenFor('claude-narrow', { models: ['claude-haiku-4-5'] });
    const an = new Anthropic({ baseURL: s.gw.origin, apiKey: token, maxRetries: 0 });
    const p = (model: string) => ({ model, max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] });
    const mixed = await refusal(an.messages.batches.create({ requests: [{ custom_id: 'a', params: p('claude-haiku-4-5') }, { custom_id: 'b', params: p('claude-sonnet-4-5') }] }));
    expect(mixed.status).toBe(400);
    expect(mixed.message).toMatch(/request 2 of the batch: it asks for 'claude-sonnet-4-5'.*one batch per model/);
    const denied = await refusal(an.messages.batches.create({ requests: [{ custom_id: 'a', params: p('claude-opus-4-1') }] }));
    expect(denied.status).toBe(403);
    expect(denied.message).toMatch(/request 1 of the batch/);
  });

  it('bills what a batch holds when the gateway shuts down with it running, and lets it run on', async () => {
    const ledger = new MemoryLedger();
    const own = new MemoryCounters();
    const gw = await s.another({ ledger, counters: own, background: { pollMs: 60_000 } });
    const token = s.tokenFor('deployer', { budgetUsd: 5, period: 'day' });
    const client = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(jsonl(line('1', chat({ max_tokens: 1_000 }))), 'r.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await gw.stop();
    const row = ledger.rows({}).find((r) => r.route === 'batches')!;
    expect(row.outcome).toBe('shutdown_estimated');
    expect(row.tokensOut).toBe(1_000);
    expect(row.costUsd).toBeGreaterThanOrEqual((1_000 * OUT_USD) / 2);
    // Not cancelled: its user still wants the results.
    expect(fake.requests.some((r) => r.url === `/v1/batches/${batch.id}/cancel`)).toBe(false);
  });

  it('still knows whose each file and batch is after a restart of a gateway alone on its SQLite file', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kw-batches-'));
    const store = new SqliteStore(join(tmp, 'keyward.db'));
    try {
      store.addUser('restarter', {});
      store.addUser('stranger', {});
      const token = issueToken(store, 'restarter').token;
      const stranger = issueToken(store, 'stranger').token;
      const on = (origin: string, t: string) => ({ oa: new OpenAI({ baseURL: `${origin}/v1`, apiKey: t, maxRetries: 0 }), an: new Anthropic({ baseURL: origin, apiKey: t, maxRetries: 0 }) });
      const first = await s.another({ directory: store, ledger: store, counters: new MemoryCounters() });
      const before = on(first.origin, token);
      const file = await before.oa.files.create({ file: await toFile(Buffer.from('notes'), 'notes.txt'), purpose: 'user_data' });
      const batch = await before.an.messages.batches.create({ requests: [{ custom_id: 'a', params: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } }] });
      await first.stop();
      const second = await s.another({ directory: store, ledger: store, counters: new MemoryCounters() });
      const after = on(second.origin, token);
      expect((await after.oa.files.retrieve(file.id)).id).toBe(file.id);
      expect((await after.an.messages.batches.retrieve(batch.id)).id).toBe(batch.id);
      const other = on(second.origin, stranger);
      expect((await refusal(other.oa.files.retrieve(file.id))).status).toBe(404);
      expect((await refusal(other.an.messages.batches.retrieve(batch.id))).status).toBe(404);
      await second.stop();
    } finally {
      store.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('holds files to the prompt secrets policy: a key pasted into a batch or a text document is redacted, or refused', async () => {
    const pasted = 'AK' + 'IA' + randomChars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
    const redacting = await s.another({ promptSecrets: 'redact' });
    const blocking = await s.another({ promptSecrets: 'block' });
    const token = s.tokenFor('paster');
    const client = (origin: string) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 });
    // Two lines: the file is JSON lines, not one JSON value, and is redacted as such.
    const batchFile = jsonl(line('1', chat({ max_tokens: 10, messages: [{ role: 'user', content: `my key is ${pasted}, fix my config` }] })), line('2', chat({ max_tokens: 10 })));
    await client(redacting.origin).files.create({ file: await toFile(batchFile, 'b.jsonl'), purpose: 'batch' });
    const sentBatch = fake.files.at(-1)!.bytes.toString('utf8');
    expect(sentBatch).not.toContain(pasted);
    expect((JSON.parse(sentBatch.split('\n')[0]!) as { body: { messages: Array<{ content: string }> } }).body.messages[0]!.content).toMatch(/^my key is AK.+, fix my config$/);
    await client(redacting.origin).files.create({ file: await toFile(Buffer.from(`AWS_ACCESS_KEY_ID=${pasted}\n`), 'notes.txt'), purpose: 'user_data' });
    expect(fake.files.at(-1)!.bytes.toString('utf8')).not.toContain(pasted);
    const before = fake.files.length;
    const refused = await refusal(client(blocking.origin).files.create({ file: await toFile(batchFile, 'b.jsonl'), purpose: 'batch' }));
    expect([refused.status, refused.type]).toEqual([400, 'secret_in_prompt']);
    expect(fake.files.length).toBe(before);
    expect(redacting.logs.join('') + blocking.logs.join('')).not.toContain(pasted);
  });

  it('gives the client a clear error and holds nothing when OpenAI fails a batch, or answers a list with something that is not JSON', async () => {
    const token = s.tokenFor('unlucky', { budgetUsd: 5, period: 'day' });
    const file = await upload(token, jsonl(line('1', chat({ max_tokens: 1_000 }))));
    const leaked = `{"error":{"message":"Incorrect API key provided: ${s.keys.openai[0]}","type":"server_error"}}`;
    fake.failNext = { method: 'POST', path: /^\/v1\/batches$/, status: 500, body: leaked };
    const failed = await refusal(oa(token).batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect(failed.status).toBe(500);
    expect(failed.message).not.toContain(s.keys.openai[0]);
    await until('the refusal is in the ledger', () => s.rowsOfUser('unlucky').some((r) => r.route === 'batches'));
    expect(s.rowsOfUser('unlucky').find((r) => r.route === 'batches')).toMatchObject({ costUsd: 0, outcome: 'upstream_error' });
    expect(s.spentToday('unlucky')).toBe(0);
    fake.failNext = { method: 'GET', path: /^\/v1\/files$/, status: 200, body: '<html>maintenance</html>' };
    const r = await fetch(`${s.gw.origin}/v1/files`, { headers: bearer(token) });
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: { message: string } }).error.message).toBe('openai answered with something that is not a JSON object');
    expect(s.gw.logs.join('')).not.toContain(s.keys.openai[0]);
  });

  it('takes maxFileBytes and a price\'s batch multiplier from the config, and names either when it is wrong', () => {
    expect(validateGatewayConfig({ maxFileBytes: 50_000_000, prices: { 'my-model': { input: 1, output: 2, batch: 0.4 } } })).toMatchObject({ maxFileBytes: 50_000_000 });
    expect(() => validateGatewayConfig({ maxFileBytes: 0 })).toThrow(/'maxFileBytes' must be a positive integer/);
    expect(() => validateGatewayConfig({ prices: { 'my-model': { input: 1, output: 2, batch: -1 } } })).toThrow(/'my-model'.*batch/);
  });

  it('answers a malformed call on files or batches with a clear error', async () => {
    const r1 = await fetch(`${s.gw.origin}/v1/batches/not-a-batch`, { headers: bearer(s.token) });
    expect(r1.status).toBe(404);
    expect(((await r1.json()) as { error: { message: string } }).error.message).toMatch(/\/v1\/batches\/batch_…/);
    const r2 = await fetch(`${s.gw.origin}/v1/batches`, { method: 'POST', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: '{"endpoint":"/v1/chat/completions"}' });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: { message: string } }).error.message).toMatch(/'input_file_id' is required/);
    const r3 = await fetch(`${s.gw.origin}/v1/files`, { method: 'POST', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: '{}' });
    expect(r3.status).toBe(400);
    expect(((await r3.json()) as { error: { message: string } }).error.message).toMatch(/multipart\/form-data/);
    const r4 = await fetch(`${s.gw.origin}/v1/batches/batch_abc/cancel`, { headers: bearer(s.token) });
    expect([r4.status, r4.headers.get('allow')]).toEqual([405, 'POST']);
  });
});
