/** What the scan gathers before any check runs: the page, the plain-HTTP visit, the CORS probe, the parsed HTML. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchContext } from '../../src/scan/fetch/context.js';
import { CORS_PROBE_ORIGIN, gatherFacts } from '../../src/scan/gather.js';
import { parsePage } from '../../src/scan/html.js';
import { scanSite } from '../../src/scan/scan-site.js';
import { parseTarget } from '../../src/scan/target.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startHttpsServer, testCertificates, type TestHttpsServer } from '../helpers/certs.js';

let https: TestHttpsServer;
let redirector: TestServer;
let rootCa: string;
const origins: string[] = [];

beforeAll(async () => {
  const certs = await testCertificates();
  rootCa = certs.rootCa;
  https = await startHttpsServer(
    (req, res) => {
      origins.push(req.headers.origin ?? '');
      if (req.headers.origin) res.setHeader('access-control-allow-origin', req.headers.origin);
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><head><meta http-equiv="Content-Security-Policy" content="default-src \'self\'"><meta name="referrer" content="no-referrer"></head><body><script src="/app.js" integrity="sha384-x"></script></body>');
    },
    { cert: certs.valid.cert, key: certs.valid.key },
  );
  redirector = await startHttpServer((req, res) => {
    res.writeHead(301, { location: `${https.localhostOrigin}${req.url ?? '/'}` });
    res.end();
  });
});

afterAll(async () => {
  await https.close();
  await redirector.close();
});

describe('gathering', () => {
  it('visits http:// to see the redirect to https, fetches the https page, and probes CORS with a foreign Origin', async () => {
    const ctx = createFetchContext({ allowPrivate: true, ca: rootCa });
    const facts = await gatherFacts(ctx, parseTarget(https.localhostOrigin), { httpPort: redirector.port });
    ctx.close();
    expect(facts.https).toBe(true);
    expect(facts.final.status).toBe(200);
    expect(facts.http?.chain.map((h) => h.status)).toEqual([301, 200]);
    expect(facts.http?.finalUrl).toBe(`${https.localhostOrigin}/`);
    expect(facts.corsProbe).toEqual({ origin: CORS_PROBE_ORIGIN, headers: expect.objectContaining({ 'access-control-allow-origin': [CORS_PROBE_ORIGIN] }) });
    expect(origins).toContain(CORS_PROBE_ORIGIN);
    expect(facts.page?.metas).toEqual([{ httpEquiv: 'content-security-policy', content: "default-src 'self'", inHead: true }]);
    expect(facts.page?.referrers).toEqual(['no-referrer']);
  });

  it('skips the plain-HTTP visit when an https target on another port gives no port to guess', async () => {
    const ctx = createFetchContext({ allowPrivate: true, ca: rootCa });
    const facts = await gatherFacts(ctx, parseTarget(https.localhostOrigin));
    ctx.close();
    expect(facts.http).toBeUndefined();
  });

  it('records the plain-HTTP visit in the report and grades the https page it ends on', async () => {
    const report = await scanSite(`http://localhost:${redirector.port}/`, { allowPrivate: true, ca: rootCa, sections: ['headers'] });
    expect(report.https).toBe(true);
    expect(report.finalUrl).toBe(`${https.localhostOrigin}/`);
    expect(report.redirects.map((h) => h.status)).toEqual([301, 200]);
    expect(report.http?.chain.map((h) => h.status)).toEqual([301, 200]);
  });
});

describe('parsing the page', () => {
  it('counts a meta http-equiv only in <head>, implied or written', () => {
    const doc = parsePage(
      '<meta http-equiv="X-Frame-Options" content="DENY"><title>t</title><p>body starts<meta http-equiv="Content-Security-Policy" content="frame-ancestors \'none\'">',
    );
    expect(doc.metas.map((m) => [m.httpEquiv, m.inHead])).toEqual([
      ['x-frame-options', true],
      ['content-security-policy', false],
    ]);
  });

  it('lists scripts (inline text, src, integrity, nonce) and links', () => {
    const doc = parsePage(
      '<html><head><link rel="Stylesheet" href="https://cdn.example/a.css" integrity="sha384-a" crossorigin="anonymous"><link rel="modulepreload" href="/m.js"><script nonce="n1">var a = "&lt;b&gt;";</script></head><body><script type="module" src="/main.js"></script></body></html>',
    );
    expect(doc.scripts).toEqual([{ nonce: 'n1', inline: 'var a = "&lt;b&gt;";' }, { type: 'module', src: '/main.js' }]);
    expect(doc.links).toEqual([
      { rel: 'stylesheet', href: 'https://cdn.example/a.css', integrity: 'sha384-a', crossorigin: 'anonymous' },
      { rel: 'modulepreload', href: '/m.js' },
    ]);
  });
});
