import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { endUserId } from '../../src/gateway/end-user-id.js';
import { gatewaySuite } from './helpers/suite.js';

const ID = /^kw-[0-9a-f]{32}$/;

describe('each request tells the provider which user it is for, as a hash, so that abuse can be blocked without the shared key', () => {
  const s = gatewaySuite({ user: 'alice' });
  const sent = () => s.upstream.seen.at(-1)!.body!;

  it("sets OpenAI's safety_identifier on chats and responses, the same for a user and another for each user, whatever the client sent", async () => {
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const alice = sent().safety_identifier;
    expect(alice).toMatch(ID);
    expect(alice).toBe(endUserId(s.dir.getUser('alice')!.id));
    await s.oa().responses.create({ model: 'gpt-4o-mini', input: 'hi', metadata: { app: 'notes' } });
    expect(sent()).toMatchObject({ safety_identifier: alice, metadata: { app: 'notes' } });
    // A client cannot pass as another user: its own identifier is replaced.
    await s.oa().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], safety_identifier: 'someone-else' });
    expect(sent().safety_identifier).toBe(alice);
    const bob = s.tokenFor('bob');
    await s.oa(bob).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent().safety_identifier).toMatch(ID);
    expect(sent().safety_identifier).not.toBe(alice);
    // Nothing of the user's name or id goes out with a chat (a stored response carries its owner's id, as response-ownership.test.ts says).
    const chats = JSON.stringify(s.upstream.seen.filter((x) => x.path === '/v1/chat/completions').map((x) => x.body));
    expect(chats).not.toContain(s.dir.getUser('alice')!.id);
    expect(chats).not.toContain('alice');
  });

  it("sets Anthropic's metadata.user_id, keeping the rest of the client's metadata", async () => {
    const claude = new Anthropic({ baseURL: s.gw.origin, apiKey: s.token, maxRetries: 0 });
    await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(sent().metadata).toEqual({ user_id: endUserId(s.dir.getUser('alice')!.id) });
    await claude.messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'forged' } });
    expect(sent().metadata).toEqual({ user_id: endUserId(s.dir.getUser('alice')!.id) });
    // Metadata sent as null is set too, not followed by the client's null (a parser keeps the last of two).
    const r = await fetch(`${s.gw.origin}/v1/messages`, { method: 'POST', headers: { 'x-api-key': s.token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], metadata: null }) });
    expect(r.status).toBe(200);
    expect(sent().metadata).toEqual({ user_id: endUserId(s.dir.getUser('alice')!.id) });
  });

  it('sends nothing of the kind when the config says endUserIds: false, and refuses a value that is not a boolean', async () => {
    const g = await s.another({ endUserIds: false });
    await s.oa(s.token, g.origin).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent()).not.toHaveProperty('safety_identifier');
    expect(validateGatewayConfig({ endUserIds: false }).endUserIds).toBe(false);
    expect(() => validateGatewayConfig({ endUserIds: 'no' })).toThrow(/'endUserIds' must be true or false/);
  });
});
