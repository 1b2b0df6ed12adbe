import { createServer as createHttpServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, issueToken } from '../../src/gateway/index.js';
import { createLogger } from '../../src/gateway/logger.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { listen, type TestServer } from '../helpers/http-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { bearer, chat, post } from './helpers/http.js';
import { fakeOpenAiKey } from './helpers/keys.js';

/**
 * An egress proxy on 127.0.0.1 that answers CONNECT by tunnelling to the fake upstream, whatever host
 * was asked for: the provider's name is never resolved, and no traffic leaves this machine.
 */
async function startConnectProxy(targetPort: number): Promise<TestServer & { tunnels: Array<{ target: string; auth: string | undefined }> }> {
  const tunnels: Array<{ target: string; auth: string | undefined }> = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    const up = connect(targetPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  return Object.assign(await listen(server), { tunnels });
}

describe('the egress proxy', () => {
  const key = fakeOpenAiKey();
  let upstream: FakeUpstream;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  const servers: Array<{ close(): Promise<void> }> = [];
  const gateways: Array<{ close(): Promise<void> }> = [];
  const dir = new MemoryDirectory();
  let token: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [] });
    proxy = await startConnectProxy(upstream.port);
    dir.addUser('p', {});
    token = issueToken(dir, 'p').token;
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    for (const s of servers) await s.close();
    await proxy.close();
    await upstream.close();
  });

  async function gatewayWith(env: Record<string, string>) {
    const gateway = createGateway({ directory: dir, env: { OPENAI_API_KEY: key, ...env }, logger: createLogger({ level: 'silent' }) });
    gateways.push(gateway);
    const server = await listen(createHttpServer(gateway));
    servers.push(server);
    return server;
  }

  it('reaches the provider through the proxy HTTP_PROXY names, credentials included', async () => {
    const before = upstream.seen.length;
    const gw = await gatewayWith({ OPENAI_BASE_URL: `http://api.provider.test:${upstream.port}/v1`, HTTP_PROXY: `http://kw:s3cret@127.0.0.1:${proxy.port}` });
    const r = await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token));
    expect(r.status).toBe(200);
    expect(proxy.tunnels).toEqual([{ target: `api.provider.test:${upstream.port}`, auth: `Basic ${Buffer.from('kw:s3cret').toString('base64')}` }]);
    // The provider got the real key through the tunnel.
    expect(upstream.seen.slice(before).map((s) => s.keyIndex)).toEqual([0]);
    // Without a scheme, as curl takes it: http://.
    const bare = await gatewayWith({ OPENAI_BASE_URL: `http://api.provider.test:${upstream.port}/v1`, http_proxy: `127.0.0.1:${proxy.port}` });
    expect((await post(`${bare.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    expect(proxy.tunnels).toHaveLength(2);
  });

  it('never sends a loopback upstream through the proxy (127.0.0.1 or localhost)', async () => {
    proxy.tunnels.length = 0;
    const loop = await gatewayWith({ OPENAI_BASE_URL: upstream.openaiBase, HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, HTTP_PROXY: `http://127.0.0.1:${proxy.port}` });
    expect((await post(`${loop.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    const named = await gatewayWith({ OPENAI_BASE_URL: `http://localhost:${upstream.port}/v1`, HTTP_PROXY: `http://127.0.0.1:${proxy.port}` });
    expect((await post(`${named.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    expect(proxy.tunnels).toEqual([]);
  });

  it('refuses a proxy setting that is not an http(s) URL, without repeating it', () => {
    const bad = (env: Record<string, string>) => () => createGateway({ directory: dir, env: { OPENAI_API_KEY: key, ...env }, logger: createLogger({ level: 'silent' }) });
    expect(bad({ HTTPS_PROXY: 'proxy host hunter2' })).toThrow(/^HTTPS_PROXY is not a URL$/);
    expect(bad({ https_proxy: 'socks5://127.0.0.1:1080' })).toThrow(/HTTPS_PROXY must be an http:\/\/ or https:\/\/ proxy, not socks5:\/\//);
    try {
      bad({ HTTP_PROXY: 'http://user:hunter2@[bad' })();
      expect.unreachable();
    } catch (err) {
      expect(String(err)).toMatch(/HTTP_PROXY is not a URL/);
      expect(JSON.stringify(err)).not.toContain('hunter2');
      expect(String(err)).not.toContain('hunter2');
    }
  });
});
