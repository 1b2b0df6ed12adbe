/** End to end: the exposure section through `scanSite` and the built `keyward scan` command. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSite } from '../../../src/scan/scan-site.js';
import { runKeyward } from '../../helpers/cli.js';
import { html, js, last4, openaiKey, startSite } from './sites.js';

describe('scanning a site that leaks a key in a lazy chunk', () => {
  const key = openaiKey();
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('<div id="root"></div>', '<script type="module" src="/assets/index-a1.js"></script>') },
      '/assets/index-a1.js': js('const Chat=()=>import("./Chat-b2.js");export{Chat};'),
      '/assets/Chat-b2.js': js(`export const client = { apiKey: "${key}" };\n`),
    });
  });
  afterAll(() => site.close());

  it('grades the whole scan F and reports the key in the exposure section', async () => {
    const report = await scanSite(`${site.origin}/`, { allowPrivate: true });
    expect(report.grade).toBe('F');
    expect(report.sections.exposure?.grade).toBe('F');
    const f = report.findings.find((x) => x.id === 'key-in-client-code');
    expect(f).toMatchObject({ section: 'exposure', severity: 'critical', location: { url: `${site.origin}/assets/Chat-b2.js`, line: 1 } });
    // Worst first: the exposed key leads the report.
    expect(report.findings[0]?.severity).toBe('critical');
    expect(report.tests['keys-in-client-code']).toMatchObject({ result: 'keys-in-client-code-found', section: 'exposure' });
    expect(JSON.stringify(report)).not.toContain(key);
  });

  it('prints the redacted key, where it is and what to do, never the key, from the CLI', async () => {
    const text = await runKeyward(['scan', `${site.origin}/`]);
    expect(text.stdout).toContain(`sk-proj-…${last4(key)}`);
    expect(text.stdout).toContain('/assets/Chat-b2.js:1:');
    expect(text.stdout).toContain('keyward gateway');
    expect(text.stdout + text.stderr).not.toContain(key);

    const json = await runKeyward(['scan', `${site.origin}/`, '--json', '--fail-under', 'C']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { grade: string; findings: Array<{ id: string; section: string }> };
    expect(report.grade).toBe('F');
    expect(report.findings.filter((x) => x.section === 'exposure').map((x) => x.id)).toContain('key-in-client-code');
    expect(json.stdout).not.toContain(key);
  });

  it("with --verify asks the key's issuer and says in the finding that the key is live; nobody is asked without it", async () => {
    const issuer = await startSite({ '/v1/models': (req) => (req.headers.authorization === `Bearer ${key}` ? { type: 'application/json', body: '{"data":[]}' } : { status: 401, body: '' }) });
    try {
      const json = await runKeyward(['scan', `${site.origin}/`, '--json', '--verify', '--verify-url', `openai=${issuer.origin}/v1`]);
      const report = JSON.parse(json.stdout) as { findings: Array<{ id: string; evidence?: string; secret?: { live?: { verdict: string; detail: string } } }> };
      const leak = report.findings.find((x) => x.id === 'key-in-client-code')!;
      expect(leak.secret?.live).toEqual({ verdict: 'live', detail: 'the provider accepts this key (answered 200)' });
      expect(leak.evidence).toContain('live: LIVE: the provider accepts this key');
      expect(issuer.requests).toEqual(['GET /v1/models']);
      const text = await runKeyward(['scan', `${site.origin}/`, '--verify', '--verify-url', `openai=${issuer.origin}/v1`]);
      expect(text.stdout).toContain('live: LIVE');
      expect(text.stdout + text.stderr + json.stdout + json.stderr).not.toContain(key);
      await runKeyward(['scan', `${site.origin}/`, '--json']);
      expect(issuer.requests).toHaveLength(2);
      const refused = await runKeyward(['scan', `${site.origin}/`, '--verify-url', `openai=${issuer.origin}/v1`]);
      expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(/--verify-url only applies with --verify/)]);
    } finally {
      await issuer.close();
    }
  });
});

describe('scanning a catch-all single-page app', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeAll(async () => {
    site = await startSite({ '/assets/app.js': js('console.log("spa")') }, { fallback: { body: html('<div id="app"></div>', '<script src="/assets/app.js"></script>') } });
  });
  afterAll(() => site.close());

  it('reports no exposed file and grades exposure A', async () => {
    const report = await scanSite(`${site.origin}/`, { allowPrivate: true });
    const exposure = report.findings.filter((f) => f.section === 'exposure');
    expect(exposure.map((f) => f.id)).toEqual(['security-txt-missing']);
    expect(report.sections.exposure).toEqual({ grade: 'A+', score: 100 });
  });
});
