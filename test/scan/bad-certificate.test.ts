/**
 * A site whose certificate fails verification gets a graded report (like SSL Labs' T and the
 * Observatory's hsts-invalid-cert), not only an error: the page is fetched again without
 * verification, every section runs, the certificate is the first finding, TLS and the whole
 * scan grade F. `strictTls` keeps the hard failure (KW_TLS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchContext } from '../../src/scan/fetch/context.js';
import { renderTerminal } from '../../src/scan/report/terminal.js';
import { scanSite, type ScanOptions, type ScanReport } from '../../src/scan/scan-site.js';
import { startHttpsServer, testCertificates, type TestCertificates, type TestHttpsServer } from '../helpers/certs.js';
import { fakeOpenAiKey } from '../helpers/fake-keys.js';
import { freePort } from '../helpers/redis-server.js';

const KEY = fakeOpenAiKey();

/** A page with HSTS and a script that leaks a key: every section has something to find. */
function site(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/app.js') {
    res.setHeader('content-type', 'application/javascript');
    res.end(`const client = { apiKey: "${KEY}" };\nfetch("/api", { headers: { authorization: "Bearer " + client.apiKey } });\n`);
    return;
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('strict-transport-security', 'max-age=63072000; includeSubDomains');
  res.end('<!doctype html><html><head><title>shop</title><script src="/app.js"></script></head><body>hi</body></html>');
}

type Kind = 'expired' | 'notYetValid' | 'selfSigned' | 'wrongHost' | 'missingIntermediate' | 'sha1' | 'valid';
let certs: TestCertificates;
const servers: TestHttpsServer[] = [];
let noHttp: number;

async function serve(kind: Kind, handler = site): Promise<TestHttpsServer> {
  // A SHA-1-signed leaf only loads at OpenSSL security level 0.
  const s = await startHttpsServer(handler, { cert: certs[kind].cert, key: certs[kind].key, ...(kind === 'sha1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}) });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  certs = await testCertificates();
  noHttp = await freePort(); // nothing listens: the plain-http visit finds no server
});

afterAll(async () => {
  for (const s of servers) await s.close();
});

const options = (extra: ScanOptions = {}): ScanOptions => ({ allowPrivate: true, ca: certs.rootCa, httpPort: noHttp, timeoutMs: 9000, ...extra });

/** Nothing secret in what a user or a log ever sees. */
function expectNoLeak(report: ScanReport, serverKey: string): void {
  const keyBody = serverKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  for (const text of [JSON.stringify(report), renderTerminal(report, { color: false })]) {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(keyBody.slice(0, 40));
    expect(text).not.toContain('PRIVATE KEY');
  }
}

describe('a bad certificate is graded, not only an error', () => {
  it.each([
    { kind: 'expired', problem: 'the certificate has expired', finding: 'tls-certificate-expired' },
    { kind: 'notYetValid', problem: 'the certificate is not valid yet', finding: 'tls-certificate-not-yet-valid' },
    { kind: 'selfSigned', problem: 'the certificate is self-signed', finding: 'tls-trust-self-signed' },
    { kind: 'wrongHost', problem: 'the certificate does not cover this host name', finding: 'tls-hostname-mismatch' },
    { kind: 'sha1', problem: 'the certificate was rejected (weak signature, e.g. SHA-1?)', finding: 'tls-signature-sha1' },
    { kind: 'missingIntermediate', problem: 'the certificate is signed by an unknown authority (or the chain is incomplete)', finding: 'tls-chain-incomplete' },
  ] as const)('gives a site with a $kind certificate TLS F and overall F, the certificate first', async ({ kind, problem, finding }) => {
    const s = await serve(kind);
    const report = await scanSite(s.localhostOrigin, options());

    expect(report).toMatchObject({ https: true, status: 200, finalUrl: `${s.localhostOrigin}/`, grade: 'F' });
    expect(report.certificateError?.startsWith(`bad certificate at localhost:${s.port}: ${problem} (`)).toBe(true);
    expect(report.sections.tls?.grade).toBe('F');
    expect(report.findings[0]).toMatchObject({ id: 'tls-certificate-rejected', severity: 'critical', section: 'tls', evidence: report.certificateError });
    expect(report.findings.map((f) => f.id)).toContain(finding);
    expect(report.tests['tls-certificate-verification']).toMatchObject({ result: 'tls-certificate-rejected', pass: false, data: { unverifiedOrigins: [s.localhostOrigin] } });
    // Browsers ignore HSTS from a page whose certificate they refuse (the Observatory's result).
    expect(report.tests['strict-transport-security']).toMatchObject({ result: 'hsts-invalid-cert', scoreModifier: -20 });
    expect(report.findings.map((f) => f.id)).toContain('hsts-invalid-cert');
    // Every section ran on the page read without verification: the leaked key is found.
    expect(report.sections.exposure?.grade).toBe('F');
    const leak = report.findings.find((f) => f.secret?.provider !== undefined);
    expect(leak?.location?.url).toBe(`${s.localhostOrigin}/app.js`);
    expectNoLeak(report, certs[kind].key);
  });

  it('gives an unknown CA F the same way (no --ca)', async () => {
    const s = await serve('valid');
    const report = await scanSite(s.localhostOrigin, options({ ca: [] }));
    expect(report).toMatchObject({ grade: 'F', sections: { tls: { grade: 'F' } }, certificateError: expect.stringContaining('unknown authority') });
    expect(report.findings[0]?.id).toBe('tls-certificate-rejected');
    expect(report.findings.map((f) => f.id)).toContain('tls-trust-untrusted');
    expectNoLeak(report, certs.valid.key);
  });

  it('verifies a good certificate as usual and never reads it unverified', async () => {
    const s = await serve('valid');
    const report = await scanSite(s.localhostOrigin, options());
    expect(report).not.toHaveProperty('certificateError');
    expect(report.tests['tls-certificate-verification']).toMatchObject({ result: 'tls-certificate-verified', pass: true });
    expect(report.tests['strict-transport-security']?.result).toBe('hsts-implemented-max-age-at-least-six-months');
    expect(report.findings.map((f) => f.id)).not.toContain('tls-certificate-rejected');
    expect(report.sections.tls?.grade).not.toBe('F');
  });

  it('stops with KW_TLS under strictTls, naming the problem', async () => {
    for (const kind of ['expired', 'selfSigned', 'wrongHost', 'missingIntermediate'] as const) {
      const s = await serve(kind);
      await expect(scanSite(s.localhostOrigin, options({ strictTls: true, sections: ['headers'] }))).rejects.toMatchObject({
        code: 'KW_TLS',
        message: expect.stringContaining(`bad certificate at localhost:${s.port}`),
        hint: expect.stringContaining('--ca'),
      });
    }
  });

  it('caps the grade at F even when only the headers section runs', async () => {
    const s = await serve('selfSigned');
    const report = await scanSite(s.localhostOrigin, options({ sections: ['headers'] }));
    expect(Object.keys(report.sections)).toEqual(['headers']);
    expect(report.sections.headers?.grade).not.toBe('F');
    expect(report.grade).toBe('F');
    expect(report.certificateError).toContain('self-signed');
    expect(report.tests['strict-transport-security']?.result).toBe('hsts-invalid-cert');
    expect(renderTerminal(report, { color: false }).split('\n')[1]).toContain('CERTIFICATE REFUSED: bad certificate at localhost');
  });

  it('reads unverified only the origin whose certificate failed, after a redirect to it', async () => {
    const bad = await serve('selfSigned');
    const good = await serve('valid', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', `${bad.localhostOrigin}/`);
      res.end();
    });
    const report = await scanSite(`${good.localhostOrigin}/`, options({ sections: ['headers', 'tls'] }));
    expect(report).toMatchObject({ finalUrl: `${bad.localhostOrigin}/`, grade: 'F', certificateError: expect.stringContaining(`localhost:${bad.port}`) });
    expect(report.redirects.map((h) => h.url)).toEqual([`${good.localhostOrigin}/`, `${bad.localhostOrigin}/`]);
    expect(report.tests['tls-certificate-verification']?.data).toMatchObject({ unverifiedOrigins: [bad.localhostOrigin] });
  });

  it('reads up to three refused origins of one redirect chain, and stops with KW_TLS past them', async () => {
    const chain: TestHttpsServer[] = [];
    for (let i = 0; i < 4; i++) {
      chain.push(
        await serve('selfSigned', (req, res) => {
          const next = chain[i + 1];
          if (next === undefined) return site(req, res);
          res.statusCode = 302;
          res.setHeader('location', `${next.localhostOrigin}/`);
          res.end();
        }),
      );
    }
    const [s0, s1, s2, s3] = chain as [TestHttpsServer, TestHttpsServer, TestHttpsServer, TestHttpsServer];
    const report = await scanSite(`${s1.localhostOrigin}/`, options({ sections: ['headers'] }));
    expect(report).toMatchObject({ finalUrl: `${s3.localhostOrigin}/`, status: 200, grade: 'F', certificateError: expect.stringContaining(`localhost:${s1.port}`) });
    expect(report.redirects.map((h) => h.url)).toEqual([s1, s2, s3].map((s) => `${s.localhostOrigin}/`));
    await expect(scanSite(`${s0.localhostOrigin}/`, options({ sections: ['headers'] }))).rejects.toMatchObject({ code: 'KW_TLS', message: expect.stringContaining(`localhost:${s3.port}`) });
  });
});

describe('the unverified fetch', () => {
  it('skips verification only for the origins named, and never lends its connections to a verified request', async () => {
    const bad = await serve('expired');
    const ctx = createFetchContext({ allowPrivate: true, ca: certs.rootCa });
    try {
      await expect(ctx.fetch(`${bad.localhostOrigin}/`, { unverifiedOrigins: ['https://localhost:1'] })).rejects.toMatchObject({ code: 'KW_TLS' });
      expect((await ctx.fetch(`${bad.localhostOrigin}/`, { unverifiedOrigins: [bad.localhostOrigin] })).status).toBe(200);
      // The kept-alive socket of the unverified request is not reused by a verified one.
      await expect(ctx.fetch(`${bad.localhostOrigin}/`)).rejects.toMatchObject({ code: 'KW_TLS', message: expect.stringContaining('expired') });
    } finally {
      ctx.close();
    }
  });
});
