import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProviderKeys } from '../../src/gateway/key-check.js';
import { compatibleProvider } from '../../src/gateway/providers/compatible.js';
import { PROVIDERS } from '../../src/gateway/providers/registry.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { fakeGeminiKey, fakeOpenAiKey } from './helpers/keys.js';

describe('checking provider keys (--check-keys)', () => {
  let server: TestServer;
  const seen: string[] = [];
  const dispatcher = new Agent();
  // Answers as the providers do: Google refuses an unknown key with 400 API_KEY_INVALID; OpenAI's keys are limited here.
  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? req.headers['x-goog-api-key'] ?? ''}`.slice(0, 60));
      if (req.url?.startsWith('/v1beta/')) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}');
      } else if (req.url === '/v1/models') res.writeHead(429).end();
      else res.writeHead(404).end();
    });
  });
  afterAll(async () => {
    await server.close();
    await dispatcher.close();
  });

  it("reads Google's 400 as a rejected key, a 429 as a key accepted but limited, a 404 as a base URL to check", async () => {
    const groq = compatibleProvider('groq', { baseUrl: 'http://unused', models: ['llama-3.3-70b-versatile'] });
    const checks = await checkProviderKeys(
      [
        { provider: PROVIDERS.gemini, config: { baseUrl: server.origin, keys: [fakeGeminiKey()] } },
        { provider: PROVIDERS.openai, config: { baseUrl: `${server.origin}/v1`, keys: [fakeOpenAiKey()] } },
        { provider: groq, config: { baseUrl: `${server.origin}/wrong/v1/`, keys: ['gsk' + '_' + 'x'.repeat(52)] } },
      ],
      dispatcher,
    );
    expect(checks.map((c) => [c.provider, c.verdict])).toEqual([
      ['gemini', 'rejected'],
      ['openai', 'rate_limited'],
      ['groq', 'failed'],
    ]);
    expect(checks[2]!.detail).toBe(`answered 404: check GROQ_BASE_URL (${server.origin}/wrong/v1/)`);
    expect(checks.every((c) => /^[a-z]+:…\S{4}#[0-9a-f]{8}$/.test(c.key))).toBe(true);
    expect(seen.map((x) => x.split(' ')[0]).sort()).toEqual(['/v1/models', '/v1beta/models?pageSize=1', '/wrong/v1/models']);
  });
});
