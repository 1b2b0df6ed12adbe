import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { ROUTES } from '../../src/gateway/routes.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

/** Bodies a careless or hostile client sends: wrong types, names like an object's own properties, numbers out of range. */
const BODIES: string[] = [
  '',
  'null',
  '[]',
  '"text"',
  '42',
  '{}',
  '{"model":{"id":"gpt-4o-mini"}}',
  '{"model":"__proto__","messages":[],"prompt":"x","input":"x","contents":[]}',
  '{"model":"constructor","messages":[{"role":"user","content":"hi"}],"prompt":"x","input":"x"}',
  '{"model":"gpt-4o-mini","messages":"hi"}',
  '{"model":"gpt-4o-mini","messages":[],"max_tokens":1e309}',
  '{"model":"gpt-4o-mini","messages":[],"max_tokens":-1}',
  '{"model":"gpt-4o-mini","messages":[],"n":1.5}',
  '{"model":"gpt-4o-mini","messages":[],"stream":"yes"}',
  '{"model":"gpt-4o-mini","messages":[],"stream":true,"stream_options":"x"}',
  '{"model":"tts-1","input":{"text":"hi"}}',
  '{"session":[],"expires_after":{"seconds":"60"}}',
  '{"contents":[],"generationConfig":[]}',
  '{"__proto__":{"admin":true},"model":"gpt-4o-mini","messages":[]}',
  '{"model":"gpt-4o-mini","messages":[' + '{"role":"user","content":"x"},'.repeat(2000) + '{"role":"user","content":"x"}]}',
];

describe('every route answers a malformed or hostile body with a clear error in its own API shape, never a crash', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
  const dir = new MemoryDirectory();
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini });
    gw = await startGateway(upstream, keys, { directory: dir, realtime: { usdPerSecret: 0.1 } });
    dir.addUser('fuzz', { budgetUsd: 1, period: 'day' });
    token = issueToken(dir, 'fuzz').token;
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const paths = [...[...ROUTES].filter(([, r]) => r.method === 'POST').map(([p]) => p), '/v1beta/models/gemini-2.5-flash:generateContent', '/v1alpha/auth_tokens'];

  it.each(paths)('%s', async (path) => {
    const failures: string[] = [];
    for (const body of BODIES) {
      for (const type of ['application/json', 'multipart/form-data; boundary=x', 'text/plain']) {
        const r = await fetch(`${gw.origin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-goog-api-key': token, 'content-type': type }, body });
        const text = await r.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        // A 2xx means the fake upstream took it: fine. Anything else must be a 4xx with an error body.
        if (r.status >= 500 || (r.status >= 300 && (typeof json !== 'object' || json === null || !('error' in json)))) failures.push(`${r.status} for ${type} ${body.slice(0, 60)}: ${text.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('wrote no unexpected-error line to the log', () => {
    expect(gw.logs.join('')).not.toMatch(/unexpected gateway error/);
  });
});
