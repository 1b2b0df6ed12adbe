import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { bearer } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

describe("objects a provider keeps for the whole project (files, vector stores, containers, caches) are not one user's to read another's through", () => {
  const s = gatewaySuite({ user: 'tenant' });
  const call = async (path: string, body: Record<string, unknown>, origin = s.gw.origin) => {
    const headers: Record<string, string> = { ...bearer(s.token), 'content-type': 'application/json' };
    if (path.startsWith('/v1beta/')) headers['x-goog-api-key'] = s.token;
    if (path === '/v1/messages') headers['anthropic-version'] = '2023-06-01';
    const r = await fetch(`${origin}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, text };
  };
  const seen = () => s.upstream.seen.length;

  it('refuses a request naming a file, vector store, container or cache it was not told to share, before anything reaches the provider', async () => {
    const before = seen();
    const refused = [
      ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-theirs' } }, { type: 'text', text: 'summarise' }] }] }, 'file-theirs'],
      ['/v1/responses', { model: 'gpt-4o-mini', input: 'what do the docs say?', tools: [{ type: 'file_search', vector_store_ids: ['vs_hr_records'] }] }, 'vs_hr_records'],
      ['/v1/responses', { model: 'gpt-4o-mini', input: 'run it', tools: [{ type: 'code_interpreter', container: 'cntr_someone_elses' }] }, 'cntr_someone_elses'],
      ['/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011CNha8' } }] }] }, 'file_011CNha8'],
      ['/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, container: 'container_011CNh', messages: [{ role: 'user', content: 'ls' }] }, 'container_011CNh'],
      ['/v1beta/models/gemini-2.5-flash:generateContent', { cachedContent: 'cachedContents/abc123', contents: [{ role: 'user', parts: [{ text: 'go on' }] }] }, 'cachedContents/abc123'],
      ['/v1beta/models/gemini-2.5-flash:generateContent', { contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'application/pdf', fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/xyz' } }] }] }, 'https://generativelanguage.googleapis.com/v1beta/files/xyz'],
    ] as const;
    for (const [path, body, id] of refused) {
      const r = await call(path, body);
      expect(r.status, `${path} naming ${id}`).toBe(403);
      expect(r.text).toContain(`names '${id}', which the provider keeps for the whole project, not for this user`);
    }
    expect(seen()).toBe(before);
  });

  it('lets through what names no stored object: a new container, a public video, a prompt that only mentions the words', async () => {
    expect((await call('/v1/responses', { model: 'gpt-4o-mini', input: 'run it', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] })).status).toBe(200);
    expect((await call('/v1beta/models/gemini-2.5-flash:generateContent', { contents: [{ role: 'user', parts: [{ fileData: { fileUri: 'https://www.youtube.com/watch?v=9hE5-98ZeCg' } }, { text: 'what happens?' }] }] })).status).toBe(200);
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Explain "file_id" and "container" in the OpenAI API.' }] })).status).toBe(200);
  });

  it("lets every user name the objects the operator shares, and checks the config's list", async () => {
    const g = await s.another({ sharedObjects: ['vs_company_handbook'] });
    expect((await call('/v1/responses', { model: 'gpt-4o-mini', input: 'holidays?', tools: [{ type: 'file_search', vector_store_ids: ['vs_company_handbook'] }] }, g.origin)).status).toBe(200);
    expect((await call('/v1/responses', { model: 'gpt-4o-mini', input: 'salaries?', tools: [{ type: 'file_search', vector_store_ids: ['vs_company_handbook', 'vs_payroll'] }] }, g.origin)).status).toBe(403);
    expect(() => validateGatewayConfig({ sharedObjects: 'vs_1' })).toThrow(/sharedObjects/);
    expect(validateGatewayConfig({ sharedObjects: ['vs_1'] }).sharedObjects).toEqual(['vs_1']);
  });
});
