import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, createLogger, expressGateway, fastifyGateway, issueToken, type GatewayHandler } from '../../src/gateway/index.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { listen, type TestServer } from '../helpers/http-server.js';
import { wav } from './helpers/audio.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { bearer, chat, post } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';
import { Writable } from 'node:stream';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('inside an existing app: Express and Fastify adapters', () => {
  let upstream: FakeUpstream;
  let gateway: GatewayHandler;
  const dir = new MemoryDirectory();
  let token: string;
  let other: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    gateway = createGateway({
      directory: dir,
      upstreams: { openai: { baseUrl: upstream.openaiBase, keys: keys.openai }, anthropic: { baseUrl: upstream.anthropicBase, keys: keys.anthropic } },
      logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    });
    dir.addUser('alice', { rpm: 2 });
    dir.addUser('app-user-42', {});
    token = issueToken(dir, 'alice').token;
    dir.addUser('bob', {});
    other = issueToken(dir, 'bob').token;
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  describe('Express', () => {
    let app: TestServer;
    beforeAll(async () => {
      const a = express();
      // The shape developers already write: their own auth middleware, then the handler.
      const auth: express.RequestHandler = (req, res, next) => (req.headers['x-session'] === 'ok' ? next() : void res.status(401).json({ error: 'log in' }));
      a.post('/api/ai/chat', express.json(), auth, expressGateway(gateway, { user: () => 'app-user-42' }));
      a.post('/v1/chat/completions', expressGateway(gateway));
      a.post('/v1/audio/transcriptions', express.json(), expressGateway(gateway));
      // What a multipart parser (multer) does: the stream read, the form taken apart.
      const takesApart: express.RequestHandler = (req, _res, next) => {
        req.on('data', () => undefined);
        req.on('end', () => {
          (req as { body?: unknown }).body = { model: 'whisper-1' };
          next();
        });
      };
      a.post('/v1/audio/translations', takesApart, expressGateway(gateway));
      app = await listen(createServer(a));
    });
    afterAll(() => app.close());

    it("serves the app route as the user the app's own auth identified, with express.json() before it", async () => {
      const r = await post(`${app.origin}/api/ai/chat`, { message: 'hi' }, { 'x-session': 'ok' });
      expect(r.status).toBe(200);
      expect(r.json.text).toBe('toktoktoktoktok');
      expect((await post(`${app.origin}/api/ai/chat`, { message: 'hi' })).status).toBe(401);
    });

    it('streams the OpenAI route through Express with a gateway token, limits included', async () => {
      const client = new OpenAI({ baseURL: `${app.origin}/v1`, apiKey: token, maxRetries: 0 });
      const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe('toktoktoktoktok');
      expect((await post(`${app.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
      expect((await post(`${app.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(429);
    });

    it('passes an audio upload through express.json() untouched, and says what to do when a multipart parser took it apart', async () => {
      const client = new OpenAI({ baseURL: `${app.origin}/v1`, apiKey: other, maxRetries: 0 });
      const r = await client.audio.transcriptions.create({ file: await toFile(wav(2), 'a.wav'), model: 'whisper-1' });
      expect(r.text).toBe('fake transcript of 2 seconds');
      expect(upstream.seen.at(-1)?.form?.fields.model).toBe('whisper-1');
      const refused = await client.audio.translations.create({ file: await toFile(wav(1), 'a.wav'), model: 'whisper-1' }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 400, error: { message: expect.stringMatching(/mount the gateway before any multipart parser/) } });
    });
  });

  describe('Fastify', () => {
    const f = Fastify();
    let origin: string;
    beforeAll(async () => {
      f.post('/v1/messages', fastifyGateway(gateway));
      // Fastify refuses a type it has no parser for (415): an upload is handed over as the bytes it was.
      f.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: 25 * 1024 * 1024 }, (_req, body, done) => done(null, body));
      f.post('/v1/audio/transcriptions', fastifyGateway(gateway));
      f.post('/api/ai/chat', fastifyGateway(gateway, { user: (req) => (req as { headers?: Record<string, string> }).headers?.['x-user'] }));
      origin = await f.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(() => f.close());

    it('serves the Anthropic route with the body Fastify already parsed', async () => {
      const r = await post(`${origin}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': other });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ type: 'message', usage: { output_tokens: 5 } });
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('passes an audio upload through as the bytes Fastify read', async () => {
      const clip = wav(3);
      const r = await new OpenAI({ baseURL: `${origin}/v1`, apiKey: other, maxRetries: 0 }).audio.transcriptions.create({ file: await toFile(clip, 'a.wav'), model: 'whisper-1' });
      expect(r.text).toBe('fake transcript of 3 seconds');
      expect(upstream.seen.at(-1)?.form?.file?.equals(clip)).toBe(true);
    });

    it('maps the app-identified user and refuses an unknown one', async () => {
      expect((await post(`${origin}/api/ai/chat`, { message: 'hi' }, { 'x-user': 'app-user-42' })).status).toBe(200);
      const r = await post(`${origin}/api/ai/chat`, { message: 'hi' }, { 'x-user': 'nobody' });
      expect(r.status).toBe(403);
    });
  });
});
