import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLive, FAMILY_OF_RULE, judgeAnswer, LIVE_FAMILIES, liveFamilyOf, type LiveCandidate } from './live.js';
import { RULES } from './rules/index.js';

/** A made-up value for a key: the issuer here is a server on 127.0.0.1 that knows only what the test tells it. */
const made = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

describe("asking a key's issuer whether it still accepts the key", () => {
  let server: Server;
  let base: string;
  const seen: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];
  const accepted = made('accepted');
  const limited = made('limited');
  const restricted = made('restricted');
  let answer: (req: IncomingMessage, res: ServerResponse) => void = () => {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      answer(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const answerAll = (status: number) => {
    answer = (_req, res) => {
      res.writeHead(status);
      res.end();
    };
  };
  const candidate = (ruleId: string, secret: string): LiveCandidate => ({ ruleId, secret, fingerprint: `fp-${secret}` });

  it("asks OpenAI's model list with the key as a bearer token: accepted is live, refused is rejected", async () => {
    seen.length = 0;
    answer = (req, res) => {
      res.writeHead(req.headers.authorization === `Bearer ${accepted}` ? 200 : 401, { 'content-type': 'application/json' });
      res.end('{}');
    };
    const refused = made('refused');
    const got = await checkLive([candidate('openai-project-key', accepted), candidate('openai-user-key', refused)], { urls: { openai: `${base}/v1` } });
    expect(got.get(`fp-${accepted}`)).toEqual({ verdict: 'live', detail: 'the provider accepts this key (answered 200)' });
    expect(got.get(`fp-${refused}`)?.verdict).toBe('rejected');
    expect(seen.map((s) => s.path)).toEqual(['/v1/models', '/v1/models']);
    for (const c of got.values()) expect(c.detail).not.toContain('accepted-');
  });

  it("sends Anthropic's headers, and reads a 429 as a key the provider accepts", async () => {
    seen.length = 0;
    answer = (req, res) => {
      res.writeHead(req.headers['x-api-key'] === limited && req.headers['anthropic-version'] === '2023-06-01' ? 429 : 401);
      res.end();
    };
    const got = await checkLive([candidate('anthropic-api-key', limited)], { urls: { anthropic: base } });
    expect(got.get(`fp-${limited}`)?.verdict).toBe('live');
    expect(seen[0]!.path).toBe('/v1/models?limit=1');
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it("reads Google's answers: an unknown key is rejected, a restricted one is live", async () => {
    answer = (req, res) => {
      const known = req.headers['x-goog-api-key'] === restricted;
      res.writeHead(known ? 403 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: known ? 403 : 400, message: known ? 'Generative Language API has not been used in project 1 before or it is disabled.' : 'API key not valid. Please pass a valid API key.', status: known ? 'PERMISSION_DENIED' : 'INVALID_ARGUMENT', details: [{ reason: known ? 'SERVICE_DISABLED' : 'API_KEY_INVALID' }] } }));
    };
    const unknownKey = made('unknown');
    const got = await checkLive([candidate('google-api-key', restricted), candidate('google-api-key', unknownKey)], { urls: { google: base } });
    expect(got.get(`fp-${restricted}`)).toMatchObject({ verdict: 'live', detail: expect.stringMatching(/valid Google key that may not call the Gemini API/) });
    expect(got.get(`fp-${unknownKey}`)?.verdict).toBe('rejected');
  });

  it('asks once per key, and not at all for a kind no issuer can be asked about', async () => {
    seen.length = 0;
    answerAll(200);
    const once = made('once');
    const got = await checkLive([candidate('groq-api-key', once), candidate('groq-api-key', once), candidate('stripe-secret-key', made('stripe'))], { urls: { groq: base } });
    expect(seen.length).toBe(1);
    expect(got.size).toBe(2);
    expect([...got.values()].map((c) => c.verdict).sort()).toEqual(['live', 'unknown']);
  });

  it('says unknown, with why, for a server that errs, hangs or cannot be reached', async () => {
    answer = (req, res) => {
      if (req.url?.startsWith('/hang')) return; // never answers
      res.writeHead(500);
      res.end();
    };
    const k = made('k');
    expect((await checkLive([candidate('openai-project-key', k)], { urls: { openai: base } })).get(`fp-${k}`)).toEqual({ verdict: 'unknown', detail: 'the provider answered 500' });
    const hung = await checkLive([candidate('openai-project-key', k)], { urls: { openai: `${base}/hang` }, timeoutMs: 300 });
    expect(hung.get(`fp-${k}`)?.detail).toMatch(/did not answer within/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const gone = await checkLive([candidate('openai-project-key', k)], { urls: { openai: `http://127.0.0.1:${port}/v1` } });
    expect(gone.get(`fp-${k}`)).toEqual({ verdict: 'unknown', detail: `cannot reach 127.0.0.1:${port} (ECONNREFUSED)` });
  });

  it('sends each family its own way: a GitHub token as a bearer with the API version, an ElevenLabs key in xi-api-key', async () => {
    seen.length = 0;
    answerAll(200);
    const gh = made('gh');
    const el = made('el');
    await checkLive([candidate('github-fine-grained-token', gh), candidate('elevenlabs-api-key', el)], { urls: { github: base, elevenlabs: `${base}/v1` }, concurrency: 1 });
    expect(seen.map((s) => [s.path, s.headers.authorization, s.headers['x-github-api-version'], s.headers['xi-api-key']])).toEqual([
      ['/user', `Bearer ${gh}`, '2022-11-28', undefined],
      ['/v1/user', undefined, undefined, el],
    ]);
    expect(seen.every((s) => s.headers['user-agent'] === 'keyward-secrets-verify')).toBe(true);
  });

  it('maps every AI key rule it knows to a family, and judges answers the same for every family', () => {
    expect(liveFamilyOf('openai-admin-key')).toBe('openai-admin');
    expect(liveFamilyOf('huggingface-token')).toBe('huggingface');
    expect(liveFamilyOf('jwt')).toBeUndefined();
    // Every rule named is a rule keyward has, and every family is asked for some rule.
    for (const id of Object.keys(FAMILY_OF_RULE)) expect(RULES.some((r) => r.id === id), id).toBe(true);
    expect(new Set(Object.values(FAMILY_OF_RULE))).toEqual(new Set(Object.keys(LIVE_FAMILIES)));
    expect(judgeAnswer(403, '').verdict).toBe('rejected');
    expect(judgeAnswer(404, '').verdict).toBe('unknown');
  });
});
