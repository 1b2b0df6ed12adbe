/** The tls section through the whole scan: scanSite against real HTTPS servers on 127.0.0.1. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOZILLA_INTERMEDIATE_CIPHERS } from '../../../src/scan/checks/tls-support.js';
import { scanSite } from '../../../src/scan/scan-site.js';
import { startHttpsServer, testCertificates, type TestCertificates, type TestHttpsServer } from '../../helpers/certs.js';

let certs: TestCertificates;
const servers: TestHttpsServer[] = [];

const page = (hsts?: string) => (_req: IncomingMessage, res: ServerResponse): void => {
  res.setHeader('content-type', 'text/html; charset=utf-8');
  if (hsts) res.setHeader('strict-transport-security', hsts);
  res.end('<!doctype html><html><head><title>tls</title></head><body>ok</body></html>');
};

beforeAll(async () => {
  certs = await testCertificates();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function scan(server: TestHttpsServer) {
  return scanSite(`https://localhost:${server.port}/`, {
    allowPrivate: true,
    resolve: [`localhost:${server.port}:127.0.0.1`],
    ca: certs.rootCa,
    sections: ['headers', 'tls'],
  });
}

describe('scanSite with the tls section', () => {
  it('grades a modern server with a year of HSTS A+ in its tls section', async () => {
    const s = await startHttpsServer(page('max-age=31536000; includeSubDomains'), {
      cert: certs.valid.cert,
      key: certs.valid.key,
      ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
      alpnProtocols: ['h2', 'http/1.1'],
    });
    servers.push(s);
    const report = await scan(s);
    expect(report.sections.tls).toEqual({ grade: 'A+', score: expect.any(Number) as number });
    expect(report.tests['tls-protocols']).toMatchObject({ result: 'tls-protocols-modern', section: 'tls' });
    expect(report.tests['tls-hsts']?.result).toBe('tls-hsts-long');
    expect(report.tests['tls-certificate-trust']?.data).toMatchObject({ altNames: ['localhost', '127.0.0.1', '0:0:0:0:0:0:0:1'], key: 'rsa 2048' });
    expect(report.tests['tls-protocols']?.data).toMatchObject({ accepted: ['TLSv1.2', 'TLSv1.3'], negotiated: expect.stringMatching(/^TLSv1\.3 TLS_/) as string });
    expect(report.findings.filter((f) => f.section === 'tls').map((f) => f.id)).toEqual(['tls-ocsp-not-stapled']);
  });

  it('reports TLS 1.0/1.1 with its fix and caps the whole scan at B', async () => {
    const s = await startHttpsServer(page('max-age=31536000'), { cert: certs.valid.cert, key: certs.valid.key, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    servers.push(s);
    const report = await scan(s);
    expect(report.sections.tls?.grade).toBe('B');
    const f = report.findings.find((x) => x.id === 'tls-protocols-legacy-enabled');
    expect(f?.section).toBe('tls');
    expect(f?.recommendation).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    expect(['B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'D-', 'F']).toContain(report.grade);
  });

  it('gives a TLS 1.2-only server A- and says why', async () => {
    const s = await startHttpsServer(page('max-age=31536000'), { cert: certs.valid.cert, key: certs.valid.key, maxVersion: 'TLSv1.2', ciphers: MOZILLA_INTERMEDIATE_CIPHERS });
    servers.push(s);
    const report = await scan(s);
    expect(report.sections.tls?.grade).toBe('A-');
    expect(report.findings.some((x) => x.id === 'tls-protocols-no-tls13')).toBe(true);
  });

  it('grades an RSA-1024 certificate B with a reissue recommendation', async () => {
    const s = await startHttpsServer(page(), { cert: certs.rsa1024.cert, key: certs.rsa1024.key, ciphers: 'DEFAULT:@SECLEVEL=0' });
    servers.push(s);
    const report = await scan(s);
    expect(report.sections.tls?.grade).toBe('B');
    expect(report.findings.find((x) => x.id === 'tls-key-weak')?.recommendation).toMatch(/certbot certonly .*--key-type ecdsa/);
  });
});
