/**
 * `keyward scan` as a user runs it: the built CLI against sites this test serves on 127.0.0.1.
 * Build first (`npx tsc -p tsconfig.build.json`; `npm test` does).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSite, type ScanReport } from '../../src/scan/scan-site.js';
import { runKeyward } from '../helpers/cli.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startHttpsServer, testCertificates, type TestHttpsServer } from '../helpers/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-scan-cli-'));
let weak: TestServer;
let strong: TestServer;
let slow: TestServer;
let https: TestHttpsServer;
let expired: TestHttpsServer;
let rootCaFile: string;

const STRONG_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

beforeAll(async () => {
  weak = await startHttpServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('x-powered-by', '<script>alert("pwned")</script>');
    res.end('<!doctype html><title>weak</title>');
  });
  strong = await startHttpServer((req, res) => {
    for (const [k, v] of Object.entries(STRONG_HEADERS)) res.setHeader(k, v);
    res.end('<!doctype html><title>strong</title>');
  });
  slow = await startHttpServer(() => undefined); // never answers
  const certs = await testCertificates();
  https = await startHttpsServer(undefined, { cert: certs.valid.cert, key: certs.valid.key });
  expired = await startHttpsServer(undefined, { cert: certs.expired.cert, key: certs.expired.key });
  rootCaFile = join(dir, 'root-ca.pem');
  writeFileSync(rootCaFile, certs.rootCa);
});

afterAll(async () => {
  for (const s of [weak, strong, slow, https, expired]) await s?.close();
});

const volatile = (r: ScanReport) => ({ ...r, scannedAt: '', durationMs: 0 });

describe('keyward scan', () => {
  it('prints the grade, the score and every finding with its fix, in plain text when not a terminal', async () => {
    const r = await runKeyward(['scan', weak.origin]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Grade F\s+score \d+/);
    expect(r.stdout).toContain('[csp-not-implemented]');
    expect(r.stdout).toContain('fix: ');
    expect(r.stdout).toContain('add_header');
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('prints with --json exactly what scanSite returns', async () => {
    const r = await runKeyward(['scan', '--json', strong.origin]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as ScanReport;
    expect(printed.schema).toBe('keyward.scan/1');
    const library = await scanSite(strong.origin, { allowPrivate: true });
    expect(volatile(printed)).toEqual(volatile(library));
    expect(Object.keys(printed)).toEqual(expect.arrayContaining(['url', 'grade', 'score', 'sections', 'findings', 'tests']));
    expect(printed.sections.headers).toEqual({ grade: expect.any(String), score: expect.any(Number) });
  });

  it('scans several sites and prints one JSON array in the order given, failures in place', async () => {
    const r = await runKeyward(['scan', '--json', '-c', '3', strong.origin, weak.origin, 'http://127.0.0.1:1/']);
    expect(r.code).toBe(2);
    const printed = JSON.parse(r.stdout) as Array<{ input: string; grade?: string; error?: { code: string } }>;
    expect(printed.map((p) => p.input)).toEqual([strong.origin, weak.origin, 'http://127.0.0.1:1/']);
    expect(printed[2].error?.code).toBe('KW_UNREACHABLE');
    expect(r.stderr).toContain('http://127.0.0.1:1/: cannot connect to 127.0.0.1:1: connection refused');
  });

  it('reads --file and prints a summary table after the reports', async () => {
    const file = join(dir, 'urls.txt');
    writeFileSync(file, `# staging sites\n${weak.origin}\n\n${strong.origin}  # the good one\n`);
    const r = await runKeyward(['scan', '--file', file]);
    expect(r.code).toBe(0);
    const table = r.stdout.slice(r.stdout.lastIndexOf('site '));
    expect(table.split('\n')[0]).toMatch(/^site\s+grade\s+score\s+headers/);
    expect(table).toContain(weak.origin);
    expect(table.indexOf(weak.origin)).toBeLessThan(table.indexOf(strong.origin));
  });

  it('exits 1 when a grade is below --fail-under, 0 when not', async () => {
    const below = await runKeyward(['scan', '--fail-under', 'B', weak.origin]);
    expect(below.code).toBe(1);
    expect(below.stderr).toMatch(/grades F, below --fail-under B/);
    const ok = await runKeyward(['scan', '--fail-under', 'f', weak.origin]);
    expect(ok.code).toBe(0);
  });

  it.each([
    [['scan'], 'no site to scan'],
    [['scan', '--fail-under', 'Z', 'example.com'], "--fail-under 'Z' is not a grade"],
    [['scan', '--concurrency', '0', 'example.com'], '--concurrency must be a whole number'],
    [['scan', '--resolve', 'example.com:443', 'example.com'], "--resolve 'example.com:443'"],
    [['scan', '--ca', '/nonexistent/ca.pem', 'example.com'], 'cannot read the CA file /nonexistent/ca.pem: ENOENT'],
    [['scan', '--file', '/nonexistent/urls.txt'], 'cannot read the URL list'],
    [['scan', 'ftp://example.com/'], 'cannot scan a ftp: URL'],
  ])('exits 2 with a clear message on bad usage: %j', async (args, message) => {
    const r = await runKeyward(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('exits 2 naming a timeout', async () => {
    const r = await runKeyward(['scan', '--timeout', '1', slow.origin]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did not answer within 1 s|time bound/);
  });

  it('grades a site with an expired certificate F and says so first, exit 0', async () => {
    const r = await runKeyward(['scan', '--ca', rootCaFile, expired.localhostOrigin]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    // Right under the title, before the grade: it cannot be missed.
    expect(lines[1]).toContain('CERTIFICATE REFUSED: bad certificate at localhost');
    expect(lines[1]).toContain('the certificate has expired');
    expect(r.stdout).toMatch(/Grade F/);
    expect(r.stdout).toMatch(/tls F/);
    const firstFinding = lines.find((l) => /^ {2}(CRITICAL|HIGH|MEDIUM|LOW|INFO) /.test(l));
    expect(firstFinding).toMatch(/^ {2}CRITICAL .*\[tls-certificate-rejected\]$/);
  });

  it('exits 1 for a bad certificate under --fail-under, and 2 naming the problem with --strict-tls', async () => {
    const below = await runKeyward(['scan', '--ca', rootCaFile, '--fail-under', 'D', expired.localhostOrigin]);
    expect(below.code).toBe(1);
    expect(below.stderr).toContain('grades F, below --fail-under D');
    const strict = await runKeyward(['scan', '--strict-tls', '--ca', rootCaFile, expired.localhostOrigin]);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain('bad certificate at localhost');
    expect(strict.stderr).toContain('the certificate has expired');
  });

  it('puts the refused certificate in --json and --html', async () => {
    const file = join(dir, 'expired.html');
    const r = await runKeyward(['scan', '--json', '--html', file, '--ca', rootCaFile, expired.localhostOrigin]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as ScanReport;
    expect(printed).toMatchObject({ grade: 'F', sections: { tls: { grade: 'F' } }, certificateError: expect.stringContaining('the certificate has expired') });
    expect(printed.findings[0]).toMatchObject({ id: 'tls-certificate-rejected', severity: 'critical', section: 'tls' });
    expect(readFileSync(file, 'utf8')).toContain('Certificate refused: bad certificate at localhost');
  });

  it('trusts a private CA with --ca or NODE_EXTRA_CA_CERTS, and not without', async () => {
    const without = await runKeyward(['scan', '--json', https.localhostOrigin]);
    expect(without.code).toBe(0);
    expect(JSON.parse(without.stdout)).toMatchObject({ grade: 'F', certificateError: expect.stringContaining('unknown authority') });
    const strict = await runKeyward(['scan', '--strict-tls', https.localhostOrigin]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('unknown authority');
    const withCa = await runKeyward(['scan', '--json', '--ca', rootCaFile, https.localhostOrigin]);
    expect(withCa.code).toBe(0);
    expect(JSON.parse(withCa.stdout)).toMatchObject({ https: true, status: 200 });
    expect(JSON.parse(withCa.stdout)).not.toHaveProperty('certificateError');
    const withEnv = await runKeyward(['scan', '--json', https.localhostOrigin], { env: { NODE_EXTRA_CA_CERTS: rootCaFile } });
    expect(withEnv.code).toBe(0);
    expect(JSON.parse(withEnv.stdout)).not.toHaveProperty('certificateError');
  });

  it('scans a name before its DNS exists with --resolve', async () => {
    const r = await runKeyward(['scan', '--json', '--resolve', `shop.staging.test:${strong.port}:127.0.0.1`, `http://shop.staging.test:${strong.port}/`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ finalUrl: `http://shop.staging.test:${strong.port}/`, status: 200 });
  });

  it('writes one self-contained HTML page with everything escaped', async () => {
    const file = join(dir, 'report.html');
    const r = await runKeyward(['scan', '--html', file, weak.origin, strong.origin]);
    expect(r.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(weak.origin);
    expect(html).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toMatch(/<(script|link)\b|src=|@import/i);
  });

  it('gathers and grades only the sections asked for with --sections', async () => {
    const r = await runKeyward(['scan', '--json', '--sections', 'headers', strong.origin]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as ScanReport;
    expect(Object.keys(printed.sections)).toEqual(['headers']);
    expect(printed.findings.every((f) => f.section === 'headers')).toBe(true);
    const bad = await runKeyward(['scan', '--sections', 'headers,dns', strong.origin]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown section 'dns'");
  });

  it('prints its options with --help and exits 0', async () => {
    const r = await runKeyward(['scan', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-under <grade>');
    expect(r.stdout).toContain('--resolve <host:port:address>');
    expect(r.stdout).toContain('--strict-tls');
  });
});

describe('keyward demo', () => {
  it('scans its own weak site, finds the made-up key without printing it whole, and exits 0', async () => {
    const r = await runKeyward(['demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Grade F');
    expect(r.stdout).toMatch(/CRITICAL .*OpenAI/);
    expect(r.stdout).not.toMatch(/sk-proj-[A-Za-z0-9_-]{20,}/);
  });
});
