/**
 * The SSRF guard: with allowPrivate off (the library default, server mode), no request may
 * reach loopback, private, link-local, CGNAT or metadata addresses in any spelling, after
 * any redirect, or through a name that resolves there. Only 127.0.0.1 servers this test
 * starts ever receive traffic.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchContext } from '../../src/scan/fetch/context.js';
import { classifyAddress } from '../../src/scan/fetch/address.js';
import { parseResolveRule } from '../../src/scan/fetch/resolve.js';
import { scanSite } from '../../src/scan/scan-site.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';

describe('address classification', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['2130706433', 'loopback'], // decimal
    ['0x7f000001', 'loopback'], // hex
    ['0x7f.0.0.1', 'loopback'], // hex octet
    ['0177.0.0.1', 'loopback'], // octal
    ['127.1', 'loopback'], // short form
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud-metadata'],
    ['169.254.1.1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.100.100.200', 'cloud-metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped, dotted
    ['::ffff:7f00:1', 'loopback'], // IPv4-mapped, hex
    ['::ffff:169.254.169.254', 'cloud-metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'cloud-metadata'], // NAT64 of 169.254.169.254
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['[::1]', 'loopback'],
  ];
  it.each(refused)('refuses %s (%s)', (address, range) => {
    const v = classifyAddress(address);
    expect(v.allowed).toBe(false);
    expect(v.range).toBe(range);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (address) => {
    expect(classifyAddress(address).allowed).toBe(true);
  });

  it('does not take a host name for an address', () => {
    expect(classifyAddress('localhost').allowed).toBe(false);
    expect(classifyAddress('localhost').range).toBe('not-an-ip-address');
  });
});

describe('the guard in the fetch', () => {
  let site: TestServer;
  let internal: TestServer;
  const hits = { site: 0, internal: 0 };
  beforeAll(async () => {
    internal = await startHttpServer((_req, res) => {
      hits.internal++;
      res.end('internal secret');
    });
    site = await startHttpServer((req, res) => {
      hits.site++;
      if (req.url === '/to-internal') {
        res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/admin` });
        return res.end();
      }
      if (req.url === '/to-metadata-name') {
        res.writeHead(302, { location: `http://metadata.test:${site.port}/latest/meta-data/` });
        return res.end();
      }
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>public</title>');
    });
  });
  afterAll(async () => {
    await site.close();
    await internal.close();
  });

  /** The test site stands for a public server: only its own address:port is let through. */
  const publicSite = () => ({ allow: [`127.0.0.1:${site.port}`] });

  it.each([
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `http://2130706433:${p}/`,
    (p: number) => `http://0x7f.0.0.1:${p}/`,
    (p: number) => `http://0177.0.0.1:${p}/`,
    (p: number) => `http://127.1:${p}/`,
    (p: number) => `http://[::1]:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[::ffff:7f00:1]:${p}/`,
  ])('refuses %s before any byte is sent', async (make) => {
    const ctx = createFetchContext();
    const before = hits.internal;
    await expect(ctx.fetch(make(internal.port))).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED' });
    expect(hits.internal).toBe(before);
    ctx.close();
  });

  it('refuses a redirect to 127.0.0.1 and never contacts the internal server', async () => {
    const ctx = createFetchContext(publicSite());
    await expect(ctx.fetch(`${site.origin}/to-internal`)).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED', message: expect.stringContaining('loopback') });
    expect(hits.internal).toBe(0);
    ctx.close();
  });

  it('refuses a redirect to a name that resolves to 169.254.169.254', async () => {
    const ctx = createFetchContext({ ...publicSite(), resolver: async (host) => (host === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : []) });
    await expect(ctx.fetch(`${site.origin}/to-metadata-name`)).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED', message: expect.stringContaining('cloud metadata') });
    ctx.close();
  });

  it('refuses a name that DNS resolves to the metadata address', async () => {
    const ctx = createFetchContext({ resolver: async () => [{ address: '169.254.169.254', family: 4 }] });
    await expect(ctx.fetch('http://innocent.test/')).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED', message: expect.stringContaining('innocent.test (169.254.169.254)') });
    ctx.close();
  });

  it('refuses a name that --resolve points at the metadata address', async () => {
    const ctx = createFetchContext({ resolve: ['innocent.test:80:169.254.169.254'] });
    await expect(ctx.fetch('http://innocent.test/')).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED' });
    ctx.close();
  });

  it('refuses a name resolving to an IPv4-mapped IPv6 loopback address', async () => {
    const ctx = createFetchContext({ resolver: async () => [{ address: '::ffff:127.0.0.1', family: 6 }] });
    await expect(ctx.fetch(`http://mapped.test:${internal.port}/`)).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED' });
    expect(hits.internal).toBe(0);
    ctx.close();
  });

  it('resolves a name once per request and connects to exactly the address it checked (no rebinding gap)', async () => {
    // A rebinding resolver: the checked answer first, the metadata address on every later query.
    let queries = 0;
    const resolver = async () => (queries++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '169.254.169.254', family: 4 }]);
    const ctx = createFetchContext({ ...publicSite(), resolver });
    const ex = await ctx.fetch(`http://rebind.test:${site.port}/`);
    expect(ex.status).toBe(200);
    expect(ex.body).toContain('public');
    expect(queries).toBe(1);
    ctx.close();
  });

  it('rechecks after each redirect: a second hop to the same name that now resolves inside is refused', async () => {
    let queries = 0;
    const resolver = async () => (queries++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.7', family: 4 }]);
    const ctx = createFetchContext({ ...publicSite(), resolver });
    // The first hop is checked and allowed; the redirect's name is resolved and judged anew.
    await expect(ctx.fetch(`http://rebind.test:${site.port}/to-metadata-name`)).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED' });
    expect(queries).toBe(2);
    ctx.close();
  });

  it('scanSite refuses private addresses by default and scans them with allowPrivate', async () => {
    await expect(scanSite(site.origin)).rejects.toMatchObject({ code: 'KW_SSRF_BLOCKED' });
    const report = await scanSite(site.origin, { allowPrivate: true });
    expect(report.status).toBe(200);
  });
});

describe('several addresses for one name', () => {
  it('tries the next address when the first refuses the connection (localhost as ::1 and 127.0.0.1)', async () => {
    const s = await startHttpServer((_req, res) => res.end('v4'));
    // Make sure nothing listens on [::1] at this port, so that the kernel itself refuses it.
    const probe = createServer();
    const v6Free = await new Promise<boolean>((ok) => {
      probe.once('error', () => ok(false));
      probe.listen(s.port, '::1', () => probe.close(() => ok(true)));
    });
    if (!v6Free) {
      await s.close();
      return; // no IPv6 loopback here (or the port is taken there): nothing to show
    }
    const ctx = createFetchContext({ allowPrivate: true, resolver: async () => [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }] });
    const ex = await ctx.fetch(`http://dual.test:${s.port}/`);
    expect(ex.body).toBe('v4');
    ctx.close();
    await s.close();
  });
});

describe('--resolve', () => {
  it('parses host:port:address with IPv6 in brackets and several addresses', () => {
    expect(parseResolveRule('Example.com:443:127.0.0.1')).toEqual({ host: 'example.com', port: 443, addresses: ['127.0.0.1'] });
    expect(parseResolveRule('*:8443:[::1],127.0.0.1')).toEqual({ host: '*', port: 8443, addresses: ['::1', '127.0.0.1'] });
  });

  it.each(['example.com', 'example.com:443', 'example.com:99999:127.0.0.1', 'example.com:443:not-an-ip'])('rejects %s with a usage error that shows the format', (bad) => {
    expect(() => parseResolveRule(bad)).toThrow(expect.objectContaining({ code: 'KW_USAGE', hint: expect.stringContaining('host:port:address') }));
  });

  it('sends the request to the given address with the original Host header', async () => {
    let host = '';
    const s = await startHttpServer((req, res) => {
      host = req.headers.host ?? '';
      res.end('ok');
    });
    const ctx = createFetchContext({ allowPrivate: true, resolve: [`staging.example.com:${s.port}:127.0.0.1`] });
    const ex = await ctx.fetch(`http://staging.example.com:${s.port}/`);
    expect(ex.body).toBe('ok');
    expect(host).toBe(`staging.example.com:${s.port}`);
    // '*' matches any host on that port.
    const any = createFetchContext({ allowPrivate: true, resolve: [`*:${s.port}:127.0.0.1`] });
    expect((await any.fetch(`http://whatever.test:${s.port}/`)).status).toBe(200);
    ctx.close();
    any.close();
    await s.close();
  });
});
