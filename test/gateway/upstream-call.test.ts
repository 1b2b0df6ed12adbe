import type { ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cancel } from '../../src/gateway/cancel.js';
import { callUpstream, type BodySink, type CallOptions, type UpstreamError } from '../../src/gateway/upstream-call.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';

/** What the server does with the next request, by path. */
const routes = new Map<string, (res: ServerResponse) => void>();
let server: TestServer;
let agent: Agent;
const closedBeforeEnd: string[] = [];

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) closedBeforeEnd.push(req.url ?? '');
    });
    const route = routes.get(req.url ?? '');
    if (route) route(res);
    else res.writeHead(404).end();
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  agent = new Agent();
});
afterEach(async () => {
  await agent.close();
  routes.clear();
  closedBeforeEnd.length = 0;
});

function opts(path: string, over: Partial<CallOptions> = {}): CallOptions {
  return { origin: server.origin, path, method: 'GET', headers: {}, body: undefined, headersTimeout: 2_000, bodyTimeout: 2_000, ...over };
}

/** A sink that records everything, and settles when the body ends or fails. */
function recorder(): BodySink & { chunks: string[]; result: Promise<'end' | UpstreamError> } {
  let settle!: (x: 'end' | UpstreamError) => void;
  const result = new Promise<'end' | UpstreamError>((r) => (settle = r));
  const chunks: string[] = [];
  return { chunks, result, data: (c) => chunks.push(c.toString()), end: () => settle('end'), error: (e) => settle(e) };
}

describe('callUpstream', () => {
  it('answers with status and headers, and hands the body on in order, including what arrived before the consumer attached', async () => {
    routes.set('/a', (res) => {
      res.writeHead(201, { 'x-one': '1', 'set-cookie': ['a=1', 'b=2'] });
      res.write('first,');
      setTimeout(() => res.end('second'), 20);
    });
    const up = await callUpstream(agent, opts('/a'), new Cancel());
    expect(up.statusCode).toBe(201);
    expect(up.headers['x-one']).toBe('1');
    expect(up.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    // The first chunk is already in before anything reads it.
    await new Promise((r) => setTimeout(r, 10));
    const sink = recorder();
    up.body.pipe(sink);
    expect(await sink.result).toBe('end');
    expect(sink.chunks.join('')).toBe('first,second');
    expect(() => up.body.pipe(recorder())).toThrow(/one consumer/);
  });

  it('holds the upstream back while nobody reads the body yet, then hands all of it on', async () => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    routes.set('/big', (res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'b');
      const more = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const up = await callUpstream(agent, opts('/big'), new Cancel());
    let last = -1;
    while (written !== last) {
      last = written;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(written).toBeLessThan(total / 2);
    let got = 0;
    await new Promise<void>((resolve, reject) => up.body.pipe({ data: (c) => void (got += c.length), end: resolve, error: reject }));
    expect(got).toBe(total);
  });

  it('sends method, headers and body, and skips informational answers', async () => {
    let got = '';
    routes.set('/echo', (res) => {
      res.writeEarlyHints({ link: '</x.css>; rel=preload' });
      res.req.on('data', (c: Buffer) => (got += c.toString()));
      res.req.on('end', () => res.writeHead(200, { 'x-method': res.req.method, 'x-seen': String(res.req.headers['x-test']) }).end('ok'));
    });
    const up = await callUpstream(agent, opts('/echo', { method: 'POST', headers: { 'x-test': 'yes', 'content-type': 'text/plain' }, body: Buffer.from('hello') }), new Cancel());
    expect(up.statusCode).toBe(200);
    expect(up.headers['x-method']).toBe('POST');
    expect(up.headers['x-seen']).toBe('yes');
    expect(await up.body.text(100, 'fail')).toBe('ok');
    expect(got).toBe('hello');
  });

  it('reads text up to a limit, then stops the call: an endless body is cut off, truncated or refused', async () => {
    routes.set('/long', (res) => res.end('x'.repeat(5000) + 'y'.repeat(5000)));
    const up = await callUpstream(agent, opts('/long'), new Cancel());
    expect(await up.body.text(5000, 'truncate')).toBe('x'.repeat(5000));

    routes.set('/endless', (res) => {
      res.writeHead(500);
      const t = setInterval(() => res.write('z'.repeat(1024)), 1);
      res.on('close', () => clearInterval(t));
    });
    const a = await callUpstream(agent, opts('/endless'), new Cancel());
    expect(await a.body.text(64 * 1024, 'truncate')).toBe('z'.repeat(64 * 1024));
    await expect.poll(() => closedBeforeEnd).toContain('/endless');
    closedBeforeEnd.length = 0;
    const b = await callUpstream(agent, opts('/endless'), new Cancel());
    await expect(b.body.text(64 * 1024, 'fail')).rejects.toMatchObject({ code: 'KW_TOO_LARGE' });
    await expect.poll(() => closedBeforeEnd).toContain('/endless');
  });

  it('fails with the connection error when the upstream cuts the body off, and hands it to the consumer', async () => {
    routes.set('/cut', (res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const up = await callUpstream(agent, opts('/cut'), new Cancel());
    const sink = recorder();
    up.body.pipe(sink);
    const r = await sink.result;
    expect(r).not.toBe('end');
    expect((r as UpstreamError).code).toMatch(/^UND_ERR|^ECONNRESET/);
    expect(sink.chunks.join('')).toBe('partial');
  });

  it('rejects with a timeout code when the headers do not come in time', async () => {
    routes.set('/hang', () => undefined);
    const err = (await callUpstream(agent, opts('/hang', { headersTimeout: 100 }), new Cancel()).catch((e: unknown) => e)) as UpstreamError;
    expect(err.code).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('stops the call when cancelled, before or after the answer, and the upstream sees the connection close', async () => {
    routes.set('/slow', () => undefined);
    const before = new Cancel();
    const p = callUpstream(agent, opts('/slow'), before);
    setTimeout(() => before.abort(), 50);
    const err = (await p.catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AbortError');
    await expect.poll(() => closedBeforeEnd).toContain('/slow');

    routes.set('/drip', (res) => {
      res.writeHead(200);
      res.write('a');
    });
    const after = new Cancel();
    const up = await callUpstream(agent, opts('/drip'), after);
    const sink = recorder();
    up.body.pipe(sink);
    await expect.poll(() => sink.chunks.length).toBe(1);
    after.abort();
    expect(((await sink.result) as Error).name).toBe('AbortError');
    await expect.poll(() => closedBeforeEnd).toContain('/drip');
    expect(before.listenerCount('abort') + after.listenerCount('abort')).toBe(0);
  });

  it('rejects at once when already cancelled, and a consumer that destroys the body hears nothing more', async () => {
    const gone = new Cancel();
    gone.abort();
    await expect(callUpstream(agent, opts('/none'), gone)).rejects.toThrow(/client went away/);

    routes.set('/stream', (res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('tick'), 5);
      res.on('close', () => clearInterval(t));
    });
    const up = await callUpstream(agent, opts('/stream'), new Cancel());
    const seen: string[] = [];
    let ended = false;
    up.body.pipe({ data: (c) => seen.push(c.toString()), end: () => (ended = true), error: () => (ended = true) });
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    up.body.destroy();
    const n = seen.length;
    await expect.poll(() => closedBeforeEnd).toContain('/stream');
    expect(seen.length).toBe(n);
    expect(ended).toBe(false);
  });

  it('dumps an unwanted body: a short one is read to its end and the connection reused, an endless one is cut off', async () => {
    let connections = 0;
    const count = () => connections++;
    server.server.on('connection', count);
    routes.set('/err', (res) => res.writeHead(500).end('{"error":"busy"}'));
    routes.set('/ok', (res) => res.end('fine'));
    const first = await callUpstream(agent, opts('/err'), new Cancel());
    await first.body.dump();
    await new Promise((r) => setTimeout(r, 10));
    const second = await callUpstream(agent, opts('/ok'), new Cancel());
    expect(await second.body.text(100, 'fail')).toBe('fine');
    server.server.off('connection', count);
    expect(connections).toBe(1);

    routes.set('/endless', (res) => {
      res.writeHead(503);
      const chunk = 'z'.repeat(16 * 1024);
      const t = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(t));
    });
    const endless = await callUpstream(agent, opts('/endless'), new Cancel());
    await endless.body.dump();
    await expect.poll(() => closedBeforeEnd).toContain('/endless');
  });
});
