import { createServer, request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, issueToken, type GatewayHandler } from '../../src/gateway/index.js';
import { createLogger } from '../../src/gateway/logger.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { listen, startHttpServer, type TestServer } from '../helpers/http-server.js';
import { fakeOpenAiKey } from './helpers/keys.js';

// 64 MB of stream: more than the loopback sockets' buffers on both sides of the gateway can hold.
const EVENT = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'x'.repeat(64 * 1024) } }] })}\n\n`;
const EVENTS = 1024;
const TOTAL = EVENT.length * EVENTS;

describe('a slow client', () => {
  let upstream: TestServer;
  let gw: TestServer;
  let gateway: GatewayHandler;
  let token: string;
  const ledger = new MemoryLedger();
  /** Bytes the upstream has handed to its socket, for the stream in flight. */
  let written = 0;
  let upstreamDone = false;

  beforeAll(async () => {
    upstream = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let i = 0;
        const more = () => {
          while (i < EVENTS) {
            i++;
            written += EVENT.length;
            if (!res.write(EVENT)) return void res.once('drain', more);
          }
          res.end('data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1024,"total_tokens":1029}}\n\ndata: [DONE]\n\n');
          upstreamDone = true;
        };
        more();
      });
    });
    const dir = new MemoryDirectory();
    dir.addUser('slow', {});
    token = issueToken(dir, 'slow').token;
    gateway = createGateway({ directory: dir, ledger, upstreams: { openai: { baseUrl: `${upstream.origin}/v1`, keys: [fakeOpenAiKey()] } }, logger: createLogger({ level: 'silent' }), ledgerFlushMs: 10 });
    gw = await listen(createServer(gateway));
  });
  afterAll(async () => {
    await gw.close();
    await gateway.close();
    await upstream.close();
  });

  it('holds the upstream back instead of buffering its stream, then gets all of it', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${gw.origin}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }));
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    // The client reads nothing: wait until the upstream can write no more.
    let last = -1;
    while (written !== last) {
      last = written;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(upstreamDone).toBe(false);
    expect(written).toBeLessThan(TOTAL / 2);

    let received = 0;
    let tail = '';
    res.on('data', (c: Buffer) => {
      received += c.length;
      tail = (tail + c.toString('latin1')).slice(-200);
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(upstreamDone).toBe(true);
    expect(received).toBeGreaterThan(TOTAL);
    expect(tail).toContain('data: [DONE]');
    await expect.poll(() => ledger.rows({}).length).toBe(1);
    expect(ledger.rows({})[0]).toMatchObject({ tokensOut: 1024, outcome: 'ok' });
  });
});
