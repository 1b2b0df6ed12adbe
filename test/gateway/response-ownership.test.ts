import { beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { attachFakeBackground, type FakeBackground } from './helpers/fake-background.js';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

describe("stored responses are their user's alone: no one continues or reads another's conversation through the gateway", () => {
  const s = gatewaySuite({ user: 'alice' });
  const { dir } = s;
  let fake: FakeBackground;
  const userOf = (name: string) => {
    dir.addUser(name, {});
    return { id: dir.getUser(name)!.id, token: issueToken(dir, name).token };
  };
  const create = (token: string, body: Record<string, unknown>, base = s.gw.origin) =>
    fetch(`${base}/v1/responses`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'Remember: the launch code is in the blue folder.', ...body }) });
  const errorOf = async (r: Response) => ({ status: r.status, message: ((await r.json()) as { error: { message: string } }).error.message });
  const sentBody = () => fake.requests.filter((r) => r.method === 'POST' && r.url === '/v1/responses').at(-1)!.body!;

  beforeAll(() => {
    fake = attachFakeBackground(s.upstream.server, s.keys.openai);
  });

  it("tags each stored response with its user, and refuses another user's previous_response_id before it reaches OpenAI", async () => {
    const ann = userOf('ann');
    const bob = userOf('bob');
    const first = (await s.oa(ann.token).responses.create({ model: 'gpt-4o-mini', input: 'hello', metadata: { app: 'notes' } })) as { id: string };
    expect(sentBody().metadata).toEqual({ app: 'notes', keyward_user: ann.id });
    // Ann carries on her conversation: the gateway knows the response as hers without asking OpenAI.
    const second = await s.oa(ann.token).responses.create({ model: 'gpt-4o-mini', input: 'and then?', previous_response_id: first.id });
    expect(sentBody().previous_response_id).toBe(first.id);
    expect(second.id).toMatch(/^resp_/);
    expect(fake.requests.filter((r) => r.method === 'GET')).toEqual([]);
    // Bob, holding her response's id, cannot.
    const posts = fake.requests.length;
    const stolen = await create(bob.token, { previous_response_id: first.id });
    expect(await errorOf(stolen)).toEqual({ status: 400, message: `Previous response with id '${first.id}' not found among this user's responses (made through the gateway).` });
    expect(fake.requests.length).toBe(posts);
    // A client cannot claim to be someone else through the tag.
    await create(bob.token, { metadata: { keyward_user: ann.id } });
    expect(sentBody().metadata).toEqual({ keyward_user: bob.id });
    // Nor leave a response untagged by sending metadata as null (a tag spliced in before it would lose to it).
    await create(bob.token, { metadata: null });
    expect(sentBody().metadata).toEqual({ keyward_user: bob.id });
    // A response not stored is tagged with nothing.
    await create(bob.token, { store: false });
    expect(sentBody().metadata).toBeUndefined();
    // Streamed answers are remembered too.
    const stream = await s.oa(ann.token).responses.create({ model: 'gpt-4o-mini', input: 'stream it', stream: true });
    let streamedId = '';
    for await (const e of stream) if (e.type === 'response.completed') streamedId = e.response.id;
    expect((await create(bob.token, { previous_response_id: streamedId })).status).toBe(400);
    expect((await create(ann.token, { previous_response_id: streamedId })).status).toBe(200);
  });

  it('knows whose a response is after a restart, or on another instance, by its tag at OpenAI', async () => {
    const cat = userOf('cat');
    const dan = userOf('dan');
    const earlier = await s.another({});
    const { id } = (await (await create(cat.token, {}, earlier.origin)).json()) as { id: string };
    await earlier.stop();
    // This gateway never saw it: it asks OpenAI, and reads the tag.
    const gets = () => fake.requests.filter((r) => r.method === 'GET' && r.url === `/v1/responses/${id}`).length;
    expect((await fetch(`${s.gw.origin}/v1/responses/${id}`, { headers: bearer(dan.token) })).status).toBe(404);
    expect(gets()).toBe(1);
    const read = await fetch(`${s.gw.origin}/v1/responses/${id}`, { headers: bearer(cat.token) });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { metadata: Record<string, string> }).metadata.keyward_user).toBe(cat.id);
    // Its owner, once read from the tag, is remembered: another poll is the retrieval alone.
    const polled = gets();
    expect((await fetch(`${s.gw.origin}/v1/responses/${id}`, { headers: bearer(cat.token) })).status).toBe(200);
    expect(gets()).toBe(polled + 1);
    expect((await create(dan.token, { previous_response_id: id })).status).toBe(400);
    expect((await create(cat.token, { previous_response_id: id })).status).toBe(200);
    // Once known, no more asking.
    const before = gets();
    await create(cat.token, { previous_response_id: id });
    expect(gets()).toBe(before);
  });

  it('refuses to continue a response made outside the gateway, which names no user, and metadata with no room for the tag', async () => {
    const eve = userOf('eve');
    const direct = await fetch(`${s.upstream.openaiBase}/responses`, { method: 'POST', headers: { ...bearer(s.keys.openai[0]!), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input: 'made with the key itself' }) });
    const { id } = (await direct.json()) as { id: string };
    expect((await create(eve.token, { previous_response_id: id })).status).toBe(400);
    expect(await errorOf(await create(eve.token, { previous_response_id: 'resp_nothing_by_this_id' }))).toMatchObject({ status: 400, message: expect.stringContaining('not found among') });
    expect(await errorOf(await create(eve.token, { previous_response_id: 'chatcmpl-1' }))).toEqual({ status: 400, message: "'previous_response_id' must be a response's id (resp_…)" });
    expect(await errorOf(await create(eve.token, { conversation: 'conv_123' }))).toMatchObject({ status: 400, message: "Conversation with id 'conv_123' not found among this user's conversations (made through the gateway)." });
    const full = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
    expect(await errorOf(await create(eve.token, { metadata: full }))).toEqual({ status: 400, message: "'metadata' may hold 15 keys through the gateway, which adds 'keyward_user' to say whose the response is" });
  });

  it('counts a look at a response it does not know before asking OpenAI whose it is, so ids cannot be tried unlimited', async () => {
    s.dir.addUser('prober', { rpm: 3 });
    const token = issueToken(s.dir, 'prober').token;
    const asked = () => fake.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/v1/responses/resp_guess')).length;
    const before = asked();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s.gw.origin}/v1/responses/resp_guess${i}`, { headers: bearer(token) })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect(asked() - before).toBe(3);
    const rows = await Promise.all([1, 2, 3].map(() => s.nextRow('prober')));
    expect(rows.map((r) => [r.route, r.outcome, r.status])).toEqual([['response', 'refused', 404], ['response', 'refused', 404], ['response', 'refused', 404]]);
  });
});
