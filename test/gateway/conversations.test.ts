import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';
import { attachFakeBackground, type FakeBackground } from './helpers/fake-background.js';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

describe("OpenAI's conversations through the gateway: each its user's alone, to continue, read, change and delete", () => {
  const s = gatewaySuite({ user: 'ann' });
  let fake: FakeBackground;
  const userOf = (name: string) => {
    s.dir.addUser(name, {});
    return { id: s.dir.getUser(name)!.id, token: issueToken(s.dir, name).token };
  };
  const refusal = async (p: Promise<unknown>) => {
    const err = (await p.then(() => undefined, (e: unknown) => e)) as { status?: number; error?: { message?: string; type?: string } } | undefined;
    return { status: err?.status, message: err?.error?.message ?? '' };
  };

  beforeAll(() => {
    fake = attachFakeBackground(s.upstream.server, s.keys.openai);
  });

  it('tags a conversation with its user, lets them continue it with a response, and refuses it to anyone else before it reaches OpenAI', async () => {
    const carol = userOf('carol');
    const dave = userOf('dave');
    const conv = await s.oa(carol.token).conversations.create({ metadata: { topic: 'launch' }, items: [{ type: 'message', role: 'user', content: 'The launch code is in the blue folder.' }] });
    expect(conv.id).toMatch(/^conv_/);
    const made = fake.conversations.find((c) => c.id === conv.id)!;
    expect(made.metadata).toEqual({ topic: 'launch', keyward_user: carol.id });
    expect(made.authorization).toBe(`Bearer ${s.keys.openai[0]}`);

    // Carol continues it, by id or as an object.
    const r = await s.oa(carol.token).responses.create({ model: 'gpt-4o-mini', input: 'Where is the code?', conversation: conv.id });
    expect(r.id).toMatch(/^resp_/);
    expect((await s.oa(carol.token).responses.create({ model: 'gpt-4o-mini', input: 'Again?', conversation: { id: conv.id } })).id).toMatch(/^resp_/);

    // Dave, holding its id, can neither continue nor reach it; OpenAI is not asked on his behalf.
    const posts = fake.requests.filter((q) => q.method === 'POST' && q.url === '/v1/responses').length;
    const stolen = await refusal(s.oa(dave.token).responses.create({ model: 'gpt-4o-mini', input: 'Where is the code?', conversation: conv.id }));
    expect(stolen).toEqual({ status: 400, message: `Conversation with id '${conv.id}' not found among this user's conversations (made through the gateway).` });
    expect(fake.requests.filter((q) => q.method === 'POST' && q.url === '/v1/responses').length).toBe(posts);
    const daves = s.oa(dave.token).conversations;
    for (const call of [() => daves.retrieve(conv.id), () => daves.update(conv.id, { metadata: { topic: 'mine' } }), () => daves.delete(conv.id), () => daves.items.list(conv.id), () => daves.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'hi' }] })]) {
      expect((await refusal(call())).status).toBe(404);
    }
    expect(made.metadata).toEqual({ topic: 'launch', keyward_user: carol.id });
  });

  it("keeps the tag when its user changes the metadata, and reads and writes its items with the key that made it", async () => {
    const erin = userOf('erin');
    const conv = await s.oa(erin.token).conversations.create({});
    const updated = await s.oa(erin.token).conversations.update(conv.id, { metadata: { topic: 'q3', keyward_user: 'someone-else' } });
    expect(updated.metadata).toEqual({ topic: 'q3', keyward_user: erin.id });
    const added = await s.oa(erin.token).conversations.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'Q3 was good.' }] });
    expect(added.data).toHaveLength(1);
    const items: string[] = [];
    for await (const item of s.oa(erin.token).conversations.items.list(conv.id)) items.push(String(item.id));
    expect(items).toEqual([added.data[0]!.id!]);
    expect((await s.oa(erin.token).conversations.items.retrieve(added.data[0]!.id!, { conversation_id: conv.id })).id).toBe(added.data[0]!.id!);
    await s.oa(erin.token).conversations.items.delete(added.data[0]!.id!, { conversation_id: conv.id });
    expect((await s.oa(erin.token).conversations.delete(conv.id)).deleted).toBe(true);
    expect((await refusal(s.oa(erin.token).conversations.retrieve(conv.id))).status).toBe(404);
  });

  it('lets a user past their budget read and delete their conversation and responses, and refuses anything that may cost', async () => {
    s.dir.addUser('gail', { budgetUsd: 5, period: 'day' });
    const token = issueToken(s.dir, 'gail').token;
    const conv = await s.oa(token).conversations.create({});
    const r = await s.oa(token).responses.create({ model: 'gpt-4o-mini', input: 'Summarise Q3.', conversation: conv.id });
    // The operator lowers the budget below what was spent.
    s.dir.setUser('gail', { budgetUsd: 1e-9 });
    expect((await refusal(s.oa(token).responses.create({ model: 'gpt-4o-mini', input: 'And Q4?', conversation: conv.id }))).status).toBe(402);
    expect((await refusal(s.oa(token).conversations.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'hi' }] }))).status).toBe(402);
    expect((await s.oa(token).conversations.retrieve(conv.id)).id).toBe(conv.id);
    expect((await s.oa(token).responses.retrieve(r.id)).id).toBe(r.id);
    await s.oa(token).responses.delete(r.id);
    expect((await s.oa(token).conversations.delete(conv.id)).deleted).toBe(true);
  });

  it('knows whose a conversation is after a restart by its tag at OpenAI, and refuses one made outside the gateway', async () => {
    const frank = userOf('frank');
    const conv = await s.oa(frank.token).conversations.create({ metadata: { topic: 'plans' } });
    // Another instance, which never saw it made and shares nothing with the first.
    const fresh = await s.another({});
    expect((await s.oa(frank.token, fresh.origin).conversations.retrieve(conv.id)).id).toBe(conv.id);
    expect((await s.oa(frank.token, fresh.origin).responses.create({ model: 'gpt-4o-mini', input: 'next', conversation: conv.id })).id).toMatch(/^resp_/);
    expect((await refusal(s.oa(s.token, fresh.origin).conversations.retrieve(conv.id))).status).toBe(404);
    // Made with the provider key directly: untagged, nobody's through the gateway.
    fake.conversations.push({ id: 'conv_outside', metadata: {}, items: [], authorization: `Bearer ${s.keys.openai[0]}` });
    expect((await refusal(s.oa(frank.token).responses.create({ model: 'gpt-4o-mini', input: 'hi', conversation: 'conv_outside' }))).status).toBe(400);
    expect((await refusal(s.oa(frank.token).conversations.retrieve('conv_outside'))).status).toBe(404);
  });

  it('refuses a conversation that is not an id, and a conversation naming a file that is not the user\'s', async () => {
    const r = await fetch(`${s.gw.origin}/v1/responses`, { method: 'POST', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', conversation: 'not-a-conversation' }) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/'conversation' must be a conversation's id/);
    const named = await refusal(s.oa().conversations.create({ items: [{ type: 'message', role: 'user', content: [{ type: 'input_file', file_id: 'file-someoneelses' }] }] }));
    expect(named.status).toBe(403);
  });
});

describe('a request that continues a stored response or a conversation goes with the key of the project that holds it', () => {
  const keys = { openai: [fakeOpenAiKey(), fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
  let upstream: FakeUpstream;
  let fake: FakeBackground;
  let gw: TestGateway;
  const dir = new MemoryDirectory();
  let token = '';

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    fake = attachFakeBackground(upstream.server, keys.openai);
    gw = await startGateway(upstream, keys, { directory: dir });
    dir.addUser('two-projects', {});
    token = issueToken(dir, 'two-projects').token;
  });
  afterAll(async () => {
    await gw.stop();
    fake.close();
    await upstream.close();
  });

  it('sends each continuation with the key that made what it continues, though the pool takes its keys in turn', async () => {
    const oa = new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 });
    const keyOf = (auth: string | undefined) => keys.openai.findIndex((k) => auth === `Bearer ${k}`);
    const first = await oa.responses.create({ model: 'gpt-4o-mini', input: 'one' });
    const made = keyOf(fake.responses.find((r) => r.id === first.id)!.authorization);
    // Each continuation, in turn: the pool would have taken the other key for every other request.
    for (let i = 0; i < 3; i++) {
      const next = await oa.responses.create({ model: 'gpt-4o-mini', input: `more ${i}`, previous_response_id: first.id });
      expect(keyOf(fake.responses.find((r) => r.id === next.id)!.authorization)).toBe(made);
    }
    const conv = await oa.conversations.create({});
    const holder = keyOf(fake.conversations.find((c) => c.id === conv.id)!.authorization);
    for (let i = 0; i < 3; i++) {
      const next = await oa.responses.create({ model: 'gpt-4o-mini', input: `turn ${i}`, conversation: conv.id });
      expect(keyOf(fake.responses.find((r) => r.id === next.id)!.authorization)).toBe(holder);
    }
  });
});
