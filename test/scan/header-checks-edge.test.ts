/** Header-check results that need more than one server: closed HTTP ports, bad certificates on a redirect. */
import { describe, expect, it } from 'vitest';
import { scanSite } from '../../src/scan/scan-site.js';
import { startHttpsServer, testCertificates } from '../helpers/certs.js';
import { startHttpServer } from '../helpers/http-server.js';
import { freePort } from '../helpers/redis-server.js';
import { result, scanSpec } from './header-site.js';

describe('redirection', () => {
  it('needs no redirect when nothing answers on plain HTTP', async () => {
    const report = await scanSpec({ https: true, httpPort: await freePort() });
    expect(result(report, 'redirection')?.result).toBe('redirection-not-needed-no-http');
    expect(report.findings.map((f) => f.id)).not.toContain('redirection-missing');
  });

  it('flags http:// redirecting to an HTTPS page with a bad certificate', async () => {
    const certs = await testCertificates();
    const good = await startHttpsServer(undefined, { cert: certs.valid.cert, key: certs.valid.key });
    const bad = await startHttpsServer(undefined, { cert: certs.selfSigned.cert, key: certs.selfSigned.key });
    const http = await startHttpServer((_req, res) => {
      res.statusCode = 301;
      res.setHeader('location', `${bad.localhostOrigin}/`);
      res.end();
    });
    try {
      const report = await scanSite(`${good.localhostOrigin}/`, { allowPrivate: true, ca: certs.rootCa, sections: ['headers'], httpPort: http.port });
      expect(result(report, 'redirection')?.result).toBe('redirection-invalid-cert');
      expect(report.findings.map((f) => f.id)).toContain('redirection-invalid-cert');
    } finally {
      await Promise.all([good.close(), bad.close(), http.close()]);
    }
  });
});

describe('the headers grade', () => {
  it('gives F to a bare page and names every missing header in the findings', async () => {
    const report = await scanSpec({});
    // 100 − CSP 25 − HSTS (no HTTPS) 20 − redirection 20 − XFO 20 − XCTO 5 = 10
    expect(report.sections.headers).toEqual({ grade: 'F', score: 10 });
    const ids = report.findings.map((f) => f.id);
    for (const id of ['csp-not-implemented', 'hsts-not-implemented-no-https', 'redirection-missing', 'x-frame-options-not-implemented', 'x-content-type-options-not-implemented']) expect(ids).toContain(id);
  });

  it('gives A+ to a well-configured HTTPS site, with bonuses counted', async () => {
    const report = await scanSpec({
      https: true,
      httpVisit: { location: (https) => `${https}/` },
      headers: [
        ['content-security-policy', "default-src 'none'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"],
        ['strict-transport-security', 'max-age=63072000; includeSubDomains; preload'],
        ['x-content-type-options', 'nosniff'],
        ['referrer-policy', 'no-referrer'],
        ['cross-origin-resource-policy', 'same-origin'],
        ['set-cookie', '__Host-session=1; Path=/; Secure; HttpOnly; SameSite=Lax'],
      ],
    });
    // 100 + CSP 10 + XFO via CSP 5 + referrer 5 + CORP 10 + cookies 5 = 135
    expect(report.sections.headers).toEqual({ grade: 'A+', score: 135 });
  });

  it('withholds bonuses when penalties bring the score under 90', async () => {
    const report = await scanSpec({
      https: true,
      httpVisit: { location: (https) => `${https}/` },
      headers: [
        ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
        ['referrer-policy', 'unsafe-url'],
        ['x-content-type-options', 'nosniff'],
      ],
    });
    // penalties only: 100 − HSTS 20 − referrer 5 = 75; the +10 and +5 bonuses do not count
    expect(report.sections.headers).toEqual({ grade: 'B', score: 75 });
  });

  it('puts every finding in the headers section with evidence and a concrete fix', async () => {
    const report = await scanSpec({ headers: [['x-powered-by', 'Express'], ['content-security-policy', "script-src 'unsafe-inline'"]] });
    for (const f of report.findings) {
      expect(f.section).toBe('headers');
      expect(f.recommendation.length).toBeGreaterThan(10);
      expect(f.docs).toMatch(/^https:\/\//);
    }
    const inline = report.findings.find((f) => f.id === 'csp-script-unsafe-inline');
    // The header line exactly as the server sent it (this server sends lower-case names).
    expect(inline?.evidence).toBe("content-security-policy: script-src 'unsafe-inline'");
    expect(inline?.recommendation).toContain('nginx:   add_header Content-Security-Policy');
    expect(inline?.recommendation).toContain('Express: res.setHeader("Content-Security-Policy"');
    expect(inline?.recommendation).toContain('Fastify: reply.header("Content-Security-Policy"');
  });

  it('gives every finding of a badly configured site evidence, a fix and a docs link', async () => {
    const report = await scanSpec({
      https: true,
      httpVisit: { location: () => undefined },
      headers: [
        ['content-security-policy', "script-src * 'unsafe-inline' 'unsafe-eval' data:; object-src *; frame-ancestors *"],
        ['content-security-policy-report-only', "default-src 'self'"],
        ['strict-transport-security', 'max-age=60; preload'],
        ['x-frame-options', 'ALLOW-FROM https://a.example'],
        ['x-content-type-options', 'sniff'],
        ['referrer-policy', 'unsafe-url'],
        ['permissions-policy', 'camera=*'],
        ['cross-origin-opener-policy', 'unsafe-none'],
        ['cross-origin-embedder-policy', 'nope'],
        ['cross-origin-resource-policy', 'everyone'],
        ['set-cookie', ['sessionid=1; Path=/', '__Host-x=1; Path=/a; Secure', 'csrf=1; SameSite=Weird']],
        ['server', 'Apache/2.4.1'],
        ['x-powered-by', 'PHP/8.1'],
        ['x-xss-protection', '1; mode=block'],
        ['expect-ct', 'max-age=1'],
        ['public-key-pins', 'pin-sha256="AAAA"; max-age=1'],
      ],
      corsHeaders: (o) => [['access-control-allow-origin', o], ['access-control-allow-credentials', 'true']],
      body: '<!doctype html><html><head><script src="http://cdn.example.com/a.js"></script><link rel="stylesheet" href="https://cdn.example.com/a.css"></head><body></body></html>',
    });
    expect(report.sections.headers?.grade).toBe('F');
    expect(report.findings.length).toBeGreaterThan(20);
    for (const f of report.findings) {
      expect(f.section, f.id).toBe('headers');
      expect(f.title.length, f.id).toBeGreaterThan(10);
      expect(f.recommendation.length, f.id).toBeGreaterThan(10);
      expect(f.docs, f.id).toMatch(/^https:\/\//);
      expect(f.evidence, f.id).toBeTruthy();
    }
    // Worst first.
    const ranks = report.findings.map((f) => ['critical', 'high', 'medium', 'low', 'info'].indexOf(f.severity));
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
  });
});
