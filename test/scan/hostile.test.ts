/**
 * A hostile server cannot hang or exhaust a scan: each of these ends with a clear error (or
 * a truncated body) well within the scan's time bound. Every server here is on 127.0.0.1.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchContext } from '../../src/scan/fetch/context.js';
import { scanSite } from '../../src/scan/scan-site.js';
import { parseTarget } from '../../src/scan/target.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startHttpsServer, testCertificates, type TestHttpsServer } from '../helpers/certs.js';

const MiB = 1024 * 1024;
/** A short bound so the slow cases stay fast; the errors must name what ran out. */
const fast = { allowPrivate: true, requestTimeoutMs: 1500, timeoutMs: 4000 };

let site: TestServer;
const bomb = gzipSync(Buffer.alloc(16 * MiB, 0x41), { level: 9 }); // ~16 KiB on the wire
const timers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  site = await startHttpServer((req, res) => {
    switch (req.url) {
      case '/loop':
        res.writeHead(302, { location: '/loop-b' });
        return res.end();
      case '/loop-b':
        res.writeHead(301, { location: '/loop' });
        return res.end();
      case '/endless': {
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        return pump();
      }
      case '/drip': {
        res.writeHead(200, { 'content-type': 'text/html' });
        const t = setInterval(() => res.write('a'), 1000);
        timers.add(t);
        return res.on('close', () => clearInterval(t));
      }
      case '/stall':
        return; // accepts the request, never answers
      case '/stall-after-headers':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<!doctype html><title>half');
        return; // then nothing, connection kept open
      case '/bomb':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return res.end(bomb);
      case '/brotli-bomb':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'br' });
        return res.end(brotliBomb());
      case '/gzip-then-br':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, br' });
        return res.end(brotliCompressSync(gzipSync('<!doctype html><title>twice</title>')));
      case '/mislabelled-chain':
        // Says gzip then br, but the inner layer is not gzip: the first decoder in the chain fails.
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, br' });
        return res.end(brotliCompressSync(Buffer.from('plain text, not gzip')));
      case '/not-gzip':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return res.end('this is not gzip');
      case '/redirect-endless-body': {
        res.writeHead(302, { location: '/ok' });
        const t = setInterval(() => res.write('x'.repeat(1024)), 10);
        timers.add(t);
        return res.on('close', () => clearInterval(t));
      }
      case '/to-ftp':
        res.writeHead(302, { location: 'ftp://example.invalid/file' });
        return res.end();
      default:
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' });
        return res.end(gzipSync('<!doctype html><title>ok</title>'));
    }
  });
});

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  await site.close();
});

let brotliBombCache: Buffer | undefined;
function brotliBomb(): Buffer {
  // 8 MiB of one byte compresses to a few dozen bytes with brotli.
  return (brotliBombCache ??= brotliCompressSync(Buffer.alloc(8 * MiB, 0x42), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } }));
}

/** A raw TCP server that writes whatever bytes a test wants as the response. */
async function rawServer(response: string): Promise<{ origin: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => s.end(response));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

async function fetchWith(path: string, opts: Parameters<typeof createFetchContext>[0] = fast) {
  const ctx = createFetchContext(opts);
  try {
    return await ctx.fetch(`${site.origin}${path}`);
  } finally {
    ctx.close();
  }
}

describe('hostile servers', () => {
  it('stops an endless redirect loop after 10 redirects and shows the chain', async () => {
    const err = await fetchWith('/loop').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KW_TOO_MANY_REDIRECTS', message: expect.stringMatching(/more than 10 redirects .*\/loop → .*\/loop-b/) });
  });

  it('keeps at most 2 MiB of a body that never ends and marks it truncated', async () => {
    const ex = await fetchWith('/endless');
    expect(ex.bodyTruncated).toBe(true);
    expect(ex.body.length).toBe(2 * MiB);
  });

  it('gives up on a server that drips one byte a second, within the request bound', async () => {
    await expect(fetchWith('/drip')).rejects.toMatchObject({ code: 'KW_TIMEOUT', message: expect.stringContaining('did not answer within 1.5 s') });
  });

  it('gives up on a server that never answers, within the request bound', async () => {
    await expect(fetchWith('/stall', { ...fast, idleTimeoutMs: 300 })).rejects.toMatchObject({ code: 'KW_TIMEOUT', message: expect.stringContaining('did not answer within 1.5 s') });
  });

  it('gives up on a server that goes silent in the middle of its answer, naming the silence', async () => {
    await expect(fetchWith('/stall-after-headers', { ...fast, idleTimeoutMs: 300 })).rejects.toMatchObject({ code: 'KW_TIMEOUT', message: expect.stringContaining('went silent for 0.3 s') });
  });

  it('refuses a gzip bomb before inflating it', async () => {
    await expect(fetchWith('/bomb')).rejects.toMatchObject({ code: 'KW_TOO_LARGE', message: expect.stringContaining('decompression bomb') });
  });

  it('refuses a brotli bomb', async () => {
    await expect(fetchWith('/brotli-bomb')).rejects.toMatchObject({ code: 'KW_TOO_LARGE' });
  });

  it('reports a body that does not match its Content-Encoding', async () => {
    await expect(fetchWith('/not-gzip')).rejects.toMatchObject({ code: 'KW_BAD_RESPONSE', message: expect.stringContaining('unreadable response body') });
  });

  it('undoes several content codings in reverse order', async () => {
    expect((await fetchWith('/gzip-then-br')).body).toContain('<title>twice</title>');
  });

  it('reports a failure in any decoder of a coding chain', async () => {
    await expect(fetchWith('/mislabelled-chain')).rejects.toMatchObject({ code: 'KW_BAD_RESPONSE' });
  });

  it('follows a redirect without reading its endless body', async () => {
    const ex = await fetchWith('/redirect-endless-body');
    expect(ex.status).toBe(200);
    expect(ex.chain.map((h) => h.status)).toEqual([302, 200]);
  });

  it('does not follow a redirect to a non-http scheme', async () => {
    await expect(fetchWith('/to-ftp')).rejects.toMatchObject({ code: 'KW_BAD_RESPONSE', message: expect.stringContaining('ftp:') });
  });

  it('decodes gzip bodies and records every hop', async () => {
    const ex = await fetchWith('/');
    expect(ex.body).toContain('<title>ok</title>');
    expect(ex.chain).toEqual([{ url: `${site.origin}/`, status: 200 }]);
  });

  it.each([
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nthis is not a header\r\nContent-Length: 2\r\n\r\nok'],
    ['a header name with a space', 'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok'],
    ['a status line that is not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['two different Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok'],
    ['headers larger than 16 KiB', `HTTP/1.1 200 OK\r\nX-Padding: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`],
  ])('reports %s as a malformed response', async (_name, response) => {
    const raw = await rawServer(response);
    const ctx = createFetchContext(fast);
    await expect(ctx.fetch(raw.origin)).rejects.toMatchObject({ code: 'KW_BAD_RESPONSE', message: expect.stringContaining('malformed HTTP response') });
    ctx.close();
    await raw.close();
  });

  it('ends a whole site scan of a dripping server within the site bound', async () => {
    await expect(scanSite(`${site.origin}/drip`, fast)).rejects.toMatchObject({ code: 'KW_TIMEOUT' });
  });
});

describe('bad inputs and unreachable sites', () => {
  it.each([
    ['', 'it is empty'],
    ['exa mple.com', 'it contains spaces'],
    ['ftp://example.com/', 'cannot scan a ftp: URL'],
    ['http://', 'not a valid URL'],
    ['https://user:pass@example.com/', 'contains credentials'],
    ['javascript:alert(1)', 'cannot scan a javascript: URL'],
  ])('rejects %j with KW_BAD_URL', (input, message) => {
    expect(() => parseTarget(input)).toThrow(expect.objectContaining({ code: 'KW_BAD_URL', message: expect.stringContaining(message) }));
  });

  it('takes a bare host name (with a port) as https first', () => {
    expect(parseTarget('example.com')).toMatchObject({ url: 'https://example.com/', host: 'example.com', bare: true });
    expect(parseTarget('localhost:8080/app')).toMatchObject({ url: 'https://localhost:8080/app', bare: true });
    expect(parseTarget('http://Example.com')).toMatchObject({ url: 'http://example.com/', bare: false });
  });

  it('names a refused connection', async () => {
    const s = await startHttpServer(() => undefined);
    const closedPort = s.port;
    await s.close();
    await expect(scanSite(`http://127.0.0.1:${closedPort}/`, fast)).rejects.toMatchObject({ code: 'KW_UNREACHABLE', message: expect.stringContaining('connection refused') });
  });

  it('names a host that does not resolve', async () => {
    const resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(scanSite('https://no-such-host.test/', { ...fast, resolver })).rejects.toMatchObject({ code: 'KW_DNS', message: 'cannot resolve no-such-host.test: no such host' });
  });

  it('falls back to http for a bare host without https, and says why', async () => {
    const report = await scanSite(`127.0.0.1:${site.port}`, fast);
    expect(report.https).toBe(false);
    expect(report.finalUrl).toBe(`${site.origin}/`);
    expect(report.httpsError).toMatch(/TLS handshake .* failed/);
    expect(report.http).toEqual({ chain: [{ url: `${site.origin}/`, status: 200 }], finalUrl: `${site.origin}/` });
  });
});

describe('certificates', () => {
  const servers: TestHttpsServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  async function serve(kind: 'valid' | 'expired' | 'selfSigned' | 'wrongHost' | 'notYetValid') {
    const certs = await testCertificates();
    const s = await startHttpsServer(undefined, { cert: certs[kind].cert, key: certs[kind].key });
    servers.push(s);
    return { s, certs };
  }

  it.each([
    ['expired', 'the certificate has expired'],
    ['notYetValid', 'the certificate is not valid yet'],
    ['selfSigned', 'self-signed'],
    ['wrongHost', 'does not cover this host name'],
  ] as const)('says which certificate problem a %s certificate has: in the graded report, or as KW_TLS with strictTls', async (kind, problem) => {
    const { s, certs } = await serve(kind);
    const report = await scanSite(s.localhostOrigin, { ...fast, ca: certs.rootCa, sections: ['headers'] });
    expect(report).toMatchObject({ https: true, status: 200, grade: 'F', certificateError: expect.stringContaining(problem) });
    const err = await scanSite(s.localhostOrigin, { ...fast, ca: certs.rootCa, strictTls: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KW_TLS', message: expect.stringContaining(problem), hint: expect.stringContaining('--ca') });
  });

  it('refuses a certificate from an unknown CA, and accepts it once the CA is given', async () => {
    const { s, certs } = await serve('valid');
    await expect(scanSite(s.localhostOrigin, { ...fast, strictTls: true })).rejects.toMatchObject({ code: 'KW_TLS', message: expect.stringContaining('unknown authority') });
    expect(await scanSite(s.localhostOrigin, { ...fast, sections: ['headers'] })).toMatchObject({ grade: 'F', certificateError: expect.stringContaining('unknown authority') });
    const report = await scanSite(s.localhostOrigin, { ...fast, ca: certs.rootCa });
    expect(report).toMatchObject({ https: true, status: 200, finalUrl: `${s.localhostOrigin}/` });
    expect(report).not.toHaveProperty('certificateError');
  });

  it('trusts a CA for the scan that was given it, not for the next one', async () => {
    const { s, certs } = await serve('valid');
    const trusted = await scanSite(s.localhostOrigin, { ...fast, ca: certs.rootCa, sections: ['headers'] });
    expect(trusted.status).toBe(200);
    expect(trusted).not.toHaveProperty('certificateError');
    await expect(scanSite(s.localhostOrigin, { ...fast, sections: ['headers'], strictTls: true })).rejects.toMatchObject({ code: 'KW_TLS' });
    expect(await scanSite(s.localhostOrigin, { ...fast, sections: ['headers'] })).toMatchObject({ certificateError: expect.stringContaining('unknown authority') });
  });

  it('does not fall back to http when a bare host has a bad certificate: it grades the https page', async () => {
    const { s } = await serve('expired');
    const report = await scanSite(`localhost:${s.port}`, { ...fast, sections: ['headers'] });
    expect(report).toMatchObject({ https: true, finalUrl: `${s.localhostOrigin}/`, grade: 'F', certificateError: expect.stringContaining('expired') });
    expect(report).not.toHaveProperty('httpsError');
    await expect(scanSite(`localhost:${s.port}`, { ...fast, strictTls: true })).rejects.toMatchObject({ code: 'KW_TLS' });
  });
});
