/**
 * Gemini's context caches, added to a fake upstream's server as Google answers them: made, read, kept
 * longer, deleted and listed (paged by token) at `/v1beta/cachedContents`, each only with a key of the
 * project that made it; `countTokens` of a cache's request; and `generateContent` naming a cache,
 * which reports the cache's tokens as cached. A cache's tokens are its contents' JSON length / 4, so
 * that the count and the cache agree. Every other request goes on to the listeners before it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { intercept, sendJson, type Listener } from './intercept.js';

export interface FakeCache {
  name: string;
  model: string;
  tokens: number;
  expires: number;
  /** The key that made it. */
  authorization: string;
  /** The request's body as it reached the fake. */
  body: Record<string, unknown>;
}

export interface FakeCaches {
  caches: FakeCache[];
  requests: Array<{ method: string; url: string; authorization: string }>;
  close(): void;
}

const CACHES = /^\/v1beta\/cachedContents(?:\/([^/:]+))?$/;
const CALL = /^\/v1beta\/models\/([^/:]+):(countTokens|generateContent)$/;
const FILE_URI = /"fileUri":"(?:https:\/\/generativelanguage\.googleapis\.com\/v1beta\/)?(files\/[a-z0-9-]+)"/g;

/** What a cache of these fields holds, in tokens. */
export function fakeCacheTokens(body: Record<string, unknown>): number {
  return Math.ceil(JSON.stringify({ contents: body.contents, systemInstruction: body.systemInstruction, tools: body.tools }).length / 4);
}

/** `fileOwner`: the key that uploaded a Gemini file (fake-batches' files), to refuse a cache naming another project's. */
export function attachFakeCaches(server: Server, keys: string[], fileOwner: (name: string) => string | undefined = () => undefined): FakeCaches {
  let n = 0;
  const json = sendJson;
  const error = (res: ServerResponse, status: number, message: string, code: string) => json(res, status, { error: { code: status, message, status: code } });
  const view = (c: FakeCache) => ({ name: c.name, model: c.model, displayName: 'fake', createTime: new Date(0).toISOString(), updateTime: new Date().toISOString(), expireTime: new Date(c.expires).toISOString(), usageMetadata: { totalTokenCount: c.tokens } });
  const expiry = (b: Record<string, unknown>, now: number) => (typeof b.ttl === 'string' ? now + Number.parseFloat(b.ttl) * 1000 : typeof b.expireTime === 'string' ? Date.parse(b.expireTime) : now + 3_600_000);
  const foreignFile = (raw: string, auth: string) => [...raw.matchAll(FILE_URI)].some((m) => fileOwner(m[1]!) !== undefined && fileOwner(m[1]!) !== auth);

  const onRequest = (req: IncomingMessage, res: ServerResponse, others: readonly Listener[]) => {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const cc = CACHES.exec(path);
    const call = CALL.exec(path);
    if (!cc && !call) return others.forEach((l) => l(req, res));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      // Only the calls a cache is part of: the rest of countTokens and generateContent is the fake upstream's.
      if (call && !(call[2] === 'countTokens' ? 'generateContentRequest' in body : 'cachedContent' in body)) return passOn(req, res, raw, others);
      const auth = String(req.headers['x-goog-api-key'] ?? '');
      state.requests.push({ method: req.method ?? '', url, authorization: auth });
      if (!keys.includes(auth)) return error(res, 400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT');
      const now = Date.now();
      if (call && call[2] === 'countTokens') return json(res, 200, { totalTokens: fakeCacheTokens(body.generateContentRequest as Record<string, unknown>) });
      if (call) {
        const c = state.caches.find((x) => x.name === body.cachedContent && x.expires > now);
        if (c === undefined || c.authorization !== auth) return error(res, 403, `CachedContent not found (or permission denied)`, 'PERMISSION_DENIED');
        const own = Math.ceil(JSON.stringify(body.contents ?? []).length / 4);
        return json(res, 200, {
          candidates: [{ content: { role: 'model', parts: [{ text: 'from the cache' }] }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { promptTokenCount: c.tokens + own, cachedContentTokenCount: c.tokens, candidatesTokenCount: 5, totalTokenCount: c.tokens + own + 5 },
          modelVersion: call[1],
        });
      }
      const id = cc![1];
      if (id === undefined && req.method === 'POST') {
        if (foreignFile(raw, auth)) return error(res, 403, 'You do not have permission to access the File or it may not exist.', 'PERMISSION_DENIED');
        const c: FakeCache = { name: `cachedContents/fake-cache-${++n}`, model: String(body.model), tokens: fakeCacheTokens(body), expires: expiry(body, now), authorization: auth, body };
        state.caches.push(c);
        return json(res, 200, view(c));
      }
      const mine = state.caches.filter((x) => x.authorization === auth && x.expires > now);
      if (id === undefined) {
        const q = new URLSearchParams(url.split('?')[1] ?? '');
        const size = Number(q.get('pageSize') ?? 50);
        const from = Number(q.get('pageToken') ?? 0);
        const page = mine.slice(from, from + size);
        return json(res, 200, { cachedContents: page.map(view), ...(from + size < mine.length ? { nextPageToken: String(from + size) } : {}) });
      }
      const c = mine.find((x) => x.name === `cachedContents/${id}`);
      if (c === undefined) return error(res, 403, 'CachedContent not found (or permission denied)', 'PERMISSION_DENIED');
      if (req.method === 'DELETE') {
        state.caches.splice(state.caches.indexOf(c), 1);
        return json(res, 200, {});
      }
      if (req.method === 'PATCH') c.expires = expiry(body, now);
      return json(res, 200, view(c));
    });
  };
  /** A request this fake does not answer, its body already read: handed on as a request whose body is what was read. */
  const passOn = (req: IncomingMessage, res: ServerResponse, raw: string, others: readonly Listener[]) => {
    const again = Object.assign(Readable.from([Buffer.from(raw)]), { url: req.url, method: req.method, headers: req.headers, socket: req.socket }) as unknown as IncomingMessage;
    for (const l of others) l(again, res);
  };
  const state: FakeCaches = { caches: [], requests: [], ...intercept(server, onRequest) };
  return state;
}
