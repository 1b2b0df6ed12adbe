/** The renderers: they show what the report says, in color only when asked, and escape everything in HTML. */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/scan/report/html.js';
import { renderJson } from '../../src/scan/report/json.js';
import { renderSummary } from '../../src/scan/report/summary.js';
import { renderTerminal } from '../../src/scan/report/terminal.js';
import type { ScanReport } from '../../src/scan/scan-site.js';

function report(overrides: Partial<ScanReport> = {}): ScanReport {
  return {
    schema: 'keyward.scan/1',
    keyward: '0.0.0',
    input: 'shop.example',
    url: 'https://shop.example/',
    finalUrl: 'https://www.shop.example/',
    status: 200,
    https: true,
    redirects: [
      { url: 'https://shop.example/', status: 301, location: 'https://www.shop.example/' },
      { url: 'https://www.shop.example/', status: 200 },
    ],
    grade: 'F',
    score: 40,
    sections: { headers: { grade: 'C', score: 55 }, exposure: { grade: 'F', score: 0 } },
    findings: [
      {
        id: 'key-in-client-code',
        severity: 'critical',
        title: 'OpenAI project API key exposed in client-side JavaScript',
        evidence: 'const KEY = "sk-proj-…WXYZ"',
        recommendation: 'Revoke it now.\nMove the call behind keyward gateway.',
        section: 'exposure',
        location: { url: 'https://www.shop.example/assets/app.js', line: 12 },
        secret: { rule: 'openai-project-key', provider: 'OpenAI', redacted: 'sk-proj-…WXYZ', fingerprint: 'sha256:0011' },
      },
      { id: 'csp-not-implemented', severity: 'medium', title: 'No Content-Security-Policy', recommendation: 'Send: Content-Security-Policy: …', section: 'headers', docs: 'https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP' },
    ],
    tests: {},
    scannedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 12,
    ...overrides,
  };
}

describe('terminal report', () => {
  it('shows the grade, each section, every finding with where it was seen and its fix, worst first', () => {
    const text = renderTerminal(report(), { color: false });
    expect(text).toContain('keyward scan https://shop.example/ → https://www.shop.example/');
    expect(text).toMatch(/Grade F\s+score 40/);
    expect(text).toContain('headers C 55  ·  exposure F 0');
    expect(text.indexOf('CRITICAL')).toBeLessThan(text.indexOf('MEDIUM'));
    expect(text).toContain('where: https://www.shop.example/assets/app.js:12');
    expect(text).toContain('fix: Revoke it now.\n' + ' '.repeat(12) + 'Move the call behind keyward gateway.');
    expect(text).toContain('2 findings: 1 critical, 1 medium');
    expect(text).not.toContain('\x1b[');
  });

  it('uses colors only when asked', () => {
    expect(renderTerminal(report(), { color: true })).toContain('\x1b[');
  });

  it('says when a site is served over plain HTTP and why HTTPS failed', () => {
    const text = renderTerminal(report({ https: false, httpsError: 'cannot connect to shop.example:443: connection refused', findings: [] }), { color: false });
    expect(text).toContain('served over plain HTTP: HTTPS failed (cannot connect to shop.example:443: connection refused)');
    expect(text).toContain('No findings.');
  });
});

describe('summary, JSON and HTML', () => {
  const failed = { input: 'down.example', error: { code: 'KW_UNREACHABLE', message: 'cannot connect to down.example:443: connection refused', hint: 'is the server running?' } };

  it('tabulates several sites in order, with failures in place', () => {
    const table = renderSummary([{ input: 'shop.example', report: report() }, failed], { color: false }).split('\n');
    expect(table[0]).toMatch(/^site\s+grade\s+score\s+headers\s+exposure\s+critical\s+high\s+other$/);
    expect(table[1]).toMatch(/^shop\.example\s+F\s+40\s+C\s+F\s+1\s+0\s+1$/);
    expect(table[2]).toMatch(/^down\.example\s+error\s+.*connection refused$/);
  });

  it('prints one object for one site and an array, in order, for several', () => {
    expect(JSON.parse(renderJson([{ input: 'shop.example', report: report() }], { array: false }))).toEqual(report());
    const both = JSON.parse(renderJson([{ input: 'shop.example', report: report() }, failed], { array: true })) as unknown[];
    expect(both).toEqual([report(), { schema: 'keyward.scan/1', input: 'down.example', error: failed.error }]);
  });

  it('writes one self-contained page and escapes what came from the site', () => {
    const hostile = report({ finalUrl: 'https://x.example/"><script>alert(1)</script>', findings: [{ ...report().findings[1], evidence: "<img src=x onerror=alert('e')>", docs: 'javascript:alert(1)' }] });
    const html = renderHtml([{ input: 'x', report: hostile }, failed]);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(&#39;e&#39;)&gt;');
    expect(html).not.toMatch(/<script|<img|href="javascript:/i);
    expect(html).toContain("default-src 'none'; style-src 'unsafe-inline'");
    expect(html).toContain('Scan failed: cannot connect to down.example:443: connection refused');
  });
});

describe('the CLI grade list', () => {
  it('is the grader’s list, best first', async () => {
    const { GRADES } = await import('../../src/scan/grade.js');
    const cli = await import('node:fs').then((fs) => fs.readFileSync(new URL('../../src/cli/scan.ts', import.meta.url), 'utf8'));
    const listed = /const GRADES = (\[[^\]]+\])/.exec(cli)?.[1];
    expect(JSON.parse((listed ?? '[]').replace(/'/g, '"'))).toEqual([...GRADES]);
  });
});
