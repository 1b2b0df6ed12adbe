/**
 * Exposed files, directory listings and catch-all sites: a real git repository and .env served
 * by a careless static server, a single-page app that answers 200 for every path, and an
 * Apache-like server with listings and status pages.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type TestServer } from '../../helpers/http-server.js';
import { requireProgram } from '../../helpers/programs.js';
import { printable, runExposure, type ExposureRun } from './run.js';
import { html, js, last4, openaiKey, startSite } from './sites.js';

describe.skipIf(!requireProgram('git', 'git'))('a site deployed with its .git/ and .env', () => {
  const key = openaiKey();
  let dir: string;
  let server: TestServer;
  let run: ExposureRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-exposed-'));
    writeFileSync(join(dir, 'index.html'), html('<h1>shop</h1>', '<script src="/app.js"></script>'));
    writeFileSync(join(dir, 'app.js'), 'console.log("shop");\n');
    writeFileSync(join(dir, '.env'), `# production\nNODE_ENV=production\nDATABASE_URL=postgres://shop@db/shop\nOPENAI_API_KEY=${key}\n`);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=fixture', '-c', 'user.email=fixture@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'ignore' });
    git('init', '-q');
    git('add', 'index.html', 'app.js');
    git('commit', '-q', '-m', 'first');
    // A static server that serves dotfiles: the mistake this check exists for.
    const app = express();
    app.use(express.static(dir, { dotfiles: 'allow' }));
    server = await listen(app.listen(0, '127.0.0.1'));
    run = await runExposure(`${server.origin}/`);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('confirms the repository by the content of .git/HEAD, .git/config, .git/index and the reflog', () => {
    const confirmed = run.exposure.probes.filter((p) => p.confirmed).map((p) => p.id);
    expect(confirmed).toEqual(expect.arrayContaining(['git-head', 'git-config', 'git-index', 'git-logs-head', 'env']));
    expect(run.exposure.probes.find((p) => p.id === 'git-head')?.evidence).toBe('ref: refs/heads/main');
    const git = run.findings.filter((x) => x.location?.url?.includes('/.git/'));
    expect(git).toHaveLength(1);
    const f = git[0];
    expect(f?.id).toBe('exposed-file-git-head');
    expect(f?.severity).toBe('high');
    expect(f?.evidence).toContain('GET /.git/config');
    expect(f?.recommendation).toMatch(/deny/);
  });

  it('reports the .env as an exposed file with its values masked', () => {
    const f = run.findings.find((x) => x.id === 'exposed-file-env');
    expect(f).toMatchObject({ severity: 'high', location: { url: `${server.origin}/.env` } });
    expect(f?.evidence).toContain('NODE_ENV=…');
    expect(f?.evidence).not.toContain('production');
  });

  it('scans the exposed .env and reports the key in it as critical, with its line', () => {
    const f = run.findings.find((x) => x.id === 'secret-in-exposed-file');
    expect(f).toMatchObject({ severity: 'critical', location: { url: `${server.origin}/.env`, line: 4 }, secret: { provider: 'OpenAI', redacted: `sk-proj-…${last4(key)}` } });
    expect(f?.recommendation).toMatch(/Stop serving \/\.env/);
    expect(run.grade.grade).toBe('F');
    expect(printable(run)).not.toContain(key);
  });

  it('does not mistake unrelated missing paths for hits', () => {
    const confirmed = run.exposure.probes.filter((p) => p.confirmed).map((p) => p.id);
    expect(confirmed).not.toContain('svn-entries');
    expect(confirmed).not.toContain('aws-credentials');
    expect(confirmed).not.toContain('listing-git');
  });
});

describe('a single-page app that answers 200 with its index for every path', () => {
  let fixed: Awaited<ReturnType<typeof startSite>>;
  let varying: Awaited<ReturnType<typeof startSite>>;
  let runFixed: ExposureRun;
  let runVarying: ExposureRun;
  const index = html('<div id="root"></div>', '<script type="module" src="/assets/index-77.js"></script>');

  beforeAll(async () => {
    fixed = await startSite({ '/assets/index-77.js': js('import("./Page-1.js");') }, { fallback: { body: index } });
    // Some SPAs embed a per-request nonce: no two answers hash alike, so content must decide.
    let n = 0;
    varying = await startSite(
      { '/assets/index-77.js': js('console.log(1)') },
      { fallback: () => ({ body: index.replace('<div id="root">', `<div id="root" data-request="${++n}" data-path="x">`) }) },
    );
    [runFixed, runVarying] = await Promise.all([runExposure(`${fixed.origin}/`), runExposure(`${varying.origin}/`)]);
  });
  afterAll(async () => {
    await fixed.close();
    await varying.close();
  });

  it('reports no exposed file, listing or debug page', () => {
    for (const run of [runFixed, runVarying]) {
      expect(run.exposure.probes.filter((p) => p.confirmed && p.id !== 'security-txt')).toEqual([]);
      expect(run.findings.filter((f) => f.id.startsWith('exposed-file') || f.id === 'directory-listing' || f.severity !== 'info')).toEqual([]);
    }
  });

  it('learns the catch-all answer first and rejects probes that match it', () => {
    expect(runFixed.exposure.catchAll).toMatchObject({ status: 200 });
    const rejected = new Set(runFixed.exposure.probes.map((p) => p.rejected));
    expect([...rejected]).toEqual(['catch-all']);
  });

  it('rejects by content when every answer differs', () => {
    expect(runVarying.exposure.probes.every((p) => p.rejected === 'content')).toBe(true);
  });

  it('does not scan the index page again when a chunk URL answers with it', () => {
    expect(runFixed.exposure.files.find((f) => f.url.endsWith('/Page-1.js'))?.error).toBe('an HTML page instead of a script');
  });
});

describe('an Apache-like server with listings and status pages', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;
  const listing = (path: string) => `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN"><html><head><title>Index of ${path}</title></head><body><h1>Index of ${path}</h1><table><tr><td><a href="db.sql">db.sql</a></td></tr></table></body></html>`;

  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('<p>legacy</p>', '<script src="/js/app.js"></script>') },
      '/js/app.js': js('var x = 1;'),
      '/js/': { body: listing('/js') },
      '/uploads/': { body: listing('/uploads') },
      '/server-status': { body: '<html><head><title>Apache Status</title></head><body><h1>Apache Server Status for 127.0.0.1 (via 127.0.0.1)</h1><dl><dt>Server Version: Apache/2.4.62</dt></dl></body></html>' },
      '/phpinfo.php': { body: '<!DOCTYPE html><html><head><title>PHP 8.2.7 - phpinfo()</title></head><body><h1 class="p">PHP Version 8.2.7</h1></body></html>' },
      '/.DS_Store': { type: 'application/octet-stream', body: Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('Bud1'), Buffer.alloc(32)]) },
      '/backup.sql': { type: 'application/sql', body: '-- MySQL dump 10.13  Distrib 8.0.36\nCREATE TABLE `users` (id int);\n' },
      '/.well-known/security.txt': { type: 'text/plain', body: 'Contact: mailto:security@example.invalid\nExpires: 2020-01-01T00:00:00Z\n' },
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('finds directory listings, including the directory of the page\'s own scripts', () => {
    expect(run.exposure.directoryListings.map((l) => new URL(l.url).pathname).sort()).toEqual(['/js/', '/uploads/']);
    const f = run.findings.find((x) => x.id === 'directory-listing');
    expect(f?.title).toContain('Apache/nginx autoindex');
    expect(f?.recommendation).toContain('autoindex off');
  });

  it('confirms status pages, phpinfo, .DS_Store and a SQL dump by their content', () => {
    const ids = run.findings.filter((f) => f.id.startsWith('exposed-file-')).map((f) => f.id).sort();
    expect(ids).toEqual(['exposed-file-backup-sql', 'exposed-file-ds-store', 'exposed-file-phpinfo', 'exposed-file-server-status']);
    expect(run.tests['exposed-files']?.result).toBe('exposed-files-high');
    expect(run.grade.grade).not.toBe('A+');
  });

  it('reports an expired security.txt', () => {
    expect(run.findings.find((f) => f.id === 'security-txt-expired')?.severity).toBe('low');
  });
});

describe('bounds', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeAll(async () => {
    const routes: Record<string, ReturnType<typeof js>> = {};
    const tags: string[] = [];
    for (let i = 0; i < 30; i++) {
      routes[`/c/${i}.js`] = js(`export const v${i} = "${'x'.repeat(2000)}";`);
      tags.push(`<script src="/c/${i}.js"></script>`);
    }
    site = await startSite({ '/': { body: html('', tags.join('')) }, ...routes });
  });
  afterAll(() => site.close());

  it('fetches at most maxFiles scripts and maps and says what it left out', async () => {
    const run = await runExposure(`${site.origin}/`, { limits: { maxFiles: 10 } });
    expect(run.exposure.budget.files).toBe(10);
    expect(run.exposure.budget.stoppedBy).toBe('files');
    expect(run.exposure.budget.skipped).toBeGreaterThan(0);
    expect(site.requests.filter((r) => /^GET \/c\/\d+\.js(\.map)?$/.test(r)).length).toBeLessThanOrEqual(10);
    const f = run.findings.find((x) => x.id === 'client-code-partly-scanned');
    expect(f?.severity).toBe('info');
    expect(f?.title).toContain('the 10-file bound');
    expect(run.tests['keys-in-client-code']?.result).toBe('keys-in-client-code-none');
  });

  it('stops at the total byte bound', async () => {
    const run = await runExposure(`${site.origin}/`, { limits: { maxTotalBytes: 8000 } });
    expect(run.exposure.budget.stoppedBy).toBe('bytes');
    expect(run.exposure.budget.bytes).toBeLessThanOrEqual(8000);
  });
});

describe('odd and hostile servers', () => {
  it('treats a site that redirects every unknown path to its home page as a catch-all', async () => {
    const page = html('<p>home</p>');
    const site = await startSite({ '/': { body: page } }, { fallback: { status: 302, headers: { location: '/' }, body: '' } });
    try {
      const run = await runExposure(`${site.origin}/`);
      expect(run.exposure.probes.filter((p) => p.confirmed)).toEqual([]);
      expect(run.exposure.probes.find((p) => p.id === 'env')?.rejected).toBe('catch-all');
    } finally {
      await site.close();
    }
  });

  it('gives up on a probe path that never answers, within the request bound, and still judges the rest', async () => {
    const site = await startSite({
      '/': { body: html('<p>home</p>') },
      '/.env': { body: '', hang: true },
      '/.git/HEAD': { type: 'text/plain', body: 'ref: refs/heads/main\n' },
    });
    try {
      const run = await runExposure(`${site.origin}/`, { requestTimeoutMs: 400 });
      expect(run.exposure.probes.find((p) => p.id === 'env')).toMatchObject({ confirmed: false, rejected: 'error' });
      expect(run.exposure.probes.find((p) => p.id === 'env')?.error).toMatch(/did not answer/);
      expect(run.exposure.probes.find((p) => p.id === 'git-head')?.confirmed).toBe(true);
    } finally {
      await site.close();
    }
  });

  it('treats a soft-404 page that echoes the asked path as the catch-all answer', async () => {
    const site = await startSite(
      { '/': { body: html('<p>home</p>') } },
      { fallback: (req) => ({ type: 'text/plain', body: `Sorry=the page ${req.url} is not here\n` }) },
    );
    try {
      const run = await runExposure(`${site.origin}/`);
      expect(run.exposure.probes.find((p) => p.id === 'env')).toMatchObject({ confirmed: false, rejected: 'catch-all' });
      expect(run.findings.filter((f) => f.id.startsWith('exposed-file'))).toEqual([]);
    } finally {
      await site.close();
    }
  });

  it('does not count a probe that redirects to another site', async () => {
    const other = await startSite({ '/.env': { type: 'text/plain', body: 'A=1\nB=2\n' } });
    const site = await startSite({ '/': { body: html('<p>home</p>') }, '/.env': { status: 302, headers: { location: `${other.origin}/.env` }, body: '' } });
    try {
      const run = await runExposure(`${site.origin}/`);
      expect(run.exposure.probes.find((p) => p.id === 'env')).toMatchObject({ confirmed: false, rejected: 'status' });
    } finally {
      await site.close();
      await other.close();
    }
  });
});
