/**
 * `keyward secrets` and `keyward redact` as a user runs them: the built CLI on real files, stdin,
 * archives and git repositories in temp folders, with keys built from parts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEYWARD_MAIN, runKeyward } from './helpers/cli.js';
import { fakeAnthropicKey, fakeOpenAiKey, randomChars } from './helpers/fake-keys.js';
import { tempRepo } from './helpers/git-repo.js';
import { requireProgram } from './helpers/programs.js';
import { sarifErrors } from './helpers/sarif.js';

const REPO_ROOT = resolve(import.meta.dirname, '..');
let dir: string;

function put(name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A database URL with a password: a `high` finding, below `critical`. */
function dbUrl(): string {
  return `postgres://app:${randomChars(20)}@db.internal:5432/prod`;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('keyward secrets', () => {
  it('exits 0 and says so when a folder is clean', async () => {
    put('app.js', 'const key = process.env.OPENAI_API_KEY;\n');
    const r = await runKeyward(['secrets', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no secrets found.');
    expect(r.stdout).toContain('scanned 1 file');
  });

  it('exits 1 and reports provider, rule, file:line:col, the redacted key and its fingerprint, never the key', async () => {
    const key = fakeOpenAiKey();
    put('config.py', `import os\nOPENAI_API_KEY = "${key}"\n`);
    const r = await runKeyward(['secrets', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('OpenAI, openai-project-key');
    expect(r.stdout).toContain(`${join(dir, 'config.py')}:2:19`);
    expect(r.stdout).toContain(`sk-proj-…${key.slice(-4)}`);
    expect(r.stdout).toMatch(/sha256:[0-9a-f]{16}/);
    expect(r.stdout + r.stderr).not.toContain(key);
    expect(r.stdout).not.toMatch(/\u001b\[/); // piped: no color
  });

  it('colors the report with FORCE_COLOR and not with NO_COLOR', async () => {
    put('a.env', `K=${fakeOpenAiKey()}\n`);
    expect((await runKeyward(['secrets', dir], { env: { FORCE_COLOR: '1' } })).stdout).toMatch(/\u001b\[/);
    expect((await runKeyward(['secrets', dir], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).not.toMatch(/\u001b\[/);
  });

  it('applies --fail-on: a high finding fails at high and below, not at critical', async () => {
    put('.env.production', `DATABASE_URL=${dbUrl()}\n`);
    expect((await runKeyward(['secrets', dir, '--no-ignore'])).code).toBe(1);
    expect((await runKeyward(['secrets', dir, '--fail-on', 'high'])).code).toBe(1);
    const r = await runKeyward(['secrets', dir, '--fail-on', 'critical']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 secret: 1 high');
    expect((await runKeyward(['secrets', dir, '--fail-on', 'none'])).code).toBe(0);
  });

  it('writes JSON with the keyward.secrets/1 schema and the documented fields', async () => {
    const key = fakeAnthropicKey();
    put('claude.ts', `new Anthropic({ apiKey: '${key}' })\n`);
    const r = await runKeyward(['secrets', dir, '--format', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { schema: string; findings: Record<string, unknown>[] };
    expect(doc.schema).toBe('keyward.secrets/1');
    expect(doc.findings).toHaveLength(1);
    expect(doc.findings[0]).toMatchObject({
      rule: 'anthropic-api-key',
      provider: 'Anthropic',
      file: join(dir, 'claude.ts'),
      line: 1,
      column: 26,
      redacted: expect.stringMatching(new RegExp(`…${key.slice(-4)}$`)),
      fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
    });
    expect(r.stdout).not.toContain(key);
  });

  it('writes SARIF 2.1.0 that the official schema accepts, to a file with --output', async () => {
    const key = fakeOpenAiKey();
    put('a.env', `OPENAI_API_KEY=${key}\nDATABASE_URL=${dbUrl()}\n`);
    const out = join(dir, 'report.sarif');
    const r = await runKeyward(['secrets', join(dir, 'a.env'), '--format', 'sarif', '--output', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Report written to ${out}`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: { results: unknown[] }[] };
    expect(sarifErrors(doc)).toEqual([]);
    expect(doc.runs[0]!.results).toHaveLength(2);
    expect(readFileSync(out, 'utf8')).not.toContain(key);
  });

  it('reads standard input for -', async () => {
    const key = fakeOpenAiKey();
    const r = await runKeyward(['secrets', '-', '--format', 'json'], { input: `GET /v1/models\nAuthorization: Bearer ${key}\n` });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { findings: { file: string; line: number; column: number }[] };
    expect(doc.findings.map((f) => [f.file, f.line, f.column])).toEqual([['-', 2, 23]]);
  });

  it('skips binary files (listed with --verbose) and keeps going past an unreadable one', async () => {
    put('blob.bin', Buffer.concat([Buffer.from([0, 1, 2, 3]), Buffer.from(fakeOpenAiKey())]));
    put('ok.txt', 'nothing here\n');
    const r = await runKeyward(['secrets', '/proc/self/mem', dir, '--verbose']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("skipped '/proc/self/mem': cannot read it (EIO)");
    expect(r.stderr).toContain(`skipped '${join(dir, 'blob.bin')}' (binary file)`);
    expect(r.stdout).toMatch(/skipped 1 binary file, 1 unreadable file/);
  });

  it('finds keys inside an APK and stops a zip bomb with a KW_ARCHIVE error (exit 2)', async () => {
    put('app.apk', zipSync({ 'assets/config.json': strToU8(`{"openai":"${fakeOpenAiKey()}"}`) }));
    const found = await runKeyward(['secrets', join(dir, 'app.apk'), '--format', 'json']);
    expect((JSON.parse(found.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual([`${join(dir, 'app.apk')}!/assets/config.json`]);
    put('bomb.zip', zipSync({ 'zeros.txt': new Uint8Array(8 * 1024 * 1024) }, { level: 9 }));
    const r = await runKeyward(['secrets', join(dir, 'bomb.zip')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to expand .*bomb\.zip.*zip bomb/);
    expect(r.stderr).toContain('hint:');
    // An honest archive larger than --max-archive-mb is refused too, and --no-archives skips it.
    put('assets.zip', zipSync({ 'a.bin': new Uint8Array(1536 * 1024).fill(7), 'b.txt': strToU8('x') }, { level: 0 }));
    const limited = await runKeyward(['secrets', join(dir, 'assets.zip'), '--max-archive-mb', '1']);
    expect(limited.code).toBe(2);
    expect(limited.stderr).toMatch(/larger than 1 MiB|more than 1 MiB/);
    const skipped = await runKeyward(['secrets', join(dir, 'assets.zip'), '--no-archives']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain('skipped 1 archive (--no-archives)');
  });

  it('accepts findings through a baseline it can write, and still reports new ones', async () => {
    put('fixture.env', `K=${fakeOpenAiKey()}\n`);
    const baseline = join(dir, 'baseline.json');
    const w = await runKeyward(['secrets', dir, '--write-baseline', baseline]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('wrote 1 accepted fingerprint');
    expect((JSON.parse(readFileSync(baseline, 'utf8')) as { schema: string }).schema).toBe('keyward.baseline/1');
    const again = await runKeyward(['secrets', dir, '--baseline', baseline]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('1 accepted by the baseline');
    put('new.env', `K=${fakeOpenAiKey()}\n`);
    const withNew = await runKeyward(['secrets', dir, '--baseline', baseline, '--format', 'json']);
    expect(withNew.code).toBe(1);
    expect((JSON.parse(withNew.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual([join(dir, 'new.env')]);
    // A .keyward-baseline.json in the working directory applies unless --no-baseline.
    writeFileSync(join(dir, '.keyward-baseline.json'), readFileSync(baseline));
    expect((await runKeyward(['secrets', 'fixture.env'], { cwd: dir })).code).toBe(0);
    expect((await runKeyward(['secrets', 'fixture.env', '--no-baseline'], { cwd: dir })).code).toBe(1);
    rmSync(join(dir, '.keyward-baseline.json'));
    // Writing to an existing baseline adds to it; nothing accepted before is lost.
    rmSync(join(dir, 'fixture.env'));
    await runKeyward(['secrets', dir, '--write-baseline', baseline]);
    const rewritten = (JSON.parse(readFileSync(baseline, 'utf8')) as { fingerprints: { file?: string }[] }).fingerprints;
    expect(rewritten.map((e) => e.file).sort()).toEqual([join(dir, 'fixture.env'), join(dir, 'new.env')]);
  });

  it('scans git history with --git and reports the commit in JSON', async () => {
    const repo = tempRepo();
    try {
      const leak = repo.commit('add key', { 'settings.yaml': `openai:\n  key: ${fakeOpenAiKey()}\n` }, '2024-02-03T04:05:06Z');
      repo.commit('remove key', { 'settings.yaml': 'openai:\n  key: ${OPENAI_API_KEY}\n' });
      expect((await runKeyward(['secrets', repo.dir])).code).toBe(0); // the files are clean now
      const r = await runKeyward(['secrets', '--git', repo.dir, '--format', 'json']);
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as { findings: Record<string, unknown>[] };
      expect(doc.findings).toEqual([expect.objectContaining({ file: 'settings.yaml', line: 2, column: 8, commit: leak, date: expect.stringMatching(/^2024-02-03T04:05:06/) })]);
      const text = await runKeyward(['secrets', '--git', repo.dir]);
      expect(text.stdout).toContain(`in commit ${leak.slice(0, 12)}`);
      expect(text.stdout).toContain('scanned 2 commits');
      expect(text.stderr).toBe(''); // no progress bar when stderr is not a terminal
    } finally {
      repo.remove();
    }
  });

  it.skipIf(!requireProgram('script', 'bsdutils'))('shows a progress bar for a history scan on a terminal', async () => {
    const repo = tempRepo();
    try {
      for (let i = 0; i < 5; i++) repo.commit(`c${i}`, { 'f.txt': `${i}\n` });
      // script(1) gives the command a pseudo-terminal, as a person at a shell would have.
      const r = spawnSync('script', ['-qec', `${process.execPath} ${KEYWARD_MAIN} secrets --git ${repo.dir}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.stdout).toContain('scanning history');
      expect(r.stdout).toContain('5/5 commits');
      expect(r.stdout).toContain('no secrets found.');
      expect(r.status).toBe(0);
    } finally {
      repo.remove();
    }
  });

  it('answers usage mistakes with exit 2, the problem and a hint', async () => {
    const cases: [string[], RegExp][] = [
      [['secrets', join(dir, 'nope')], /cannot read '.*nope': no such file or folder/],
      [['secrets', dir, '--since', '2024-01-01'], /--since and --revs only apply to history scans/],
      [['secrets', dir, '--fail-on', 'severe'], /unknown severity 'severe'/],
      [['secrets', dir, '--format', 'xml'], /invalid/],
      [['secrets', dir, '--baseline', join(dir, 'missing.json')], /cannot read baseline/],
      [['secrets', '--git', dir], /not inside a git repository/],
    ];
    for (const [args, message] of cases) {
      const r = await runKeyward(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('says git is missing, with the package to install, when it is not on PATH', async () => {
    const r = await runKeyward(['secrets', '--staged', dir], { env: { PATH: dir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('keyward: git is not installed');
    expect(r.stderr).toContain('apt-get install git');
  });

  it('prints its options with --help and exits 0', async () => {
    const r = await runKeyward(['secrets', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-on <severity>');
    expect(r.stdout).toContain('install-hook');
  });

  it('finds nothing in the keyward repository itself (it must scan clean)', async () => {
    const r = await runKeyward(['secrets', '.'], { cwd: REPO_ROOT });
    expect(r.stdout).toContain('no secrets found.');
    expect(r.code).toBe(0);
  });
});

describe('keyward redact', () => {
  it('copies stdin to stdout line by line with every secret masked', async () => {
    const a = fakeOpenAiKey();
    const b = fakeAnthropicKey();
    const input = `starting\nusing key ${a}\nheaders: {"x-api-key":"${b}"}\ndone\n`;
    const r = await runKeyward(['redact'], { input });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('starting');
    expect(lines[1]).toBe(`using key sk-proj-…${a.slice(-4)}`);
    expect(lines[2]).not.toContain(b);
    expect(lines[2]).toContain(b.slice(-4));
    expect(lines[3]).toBe('done');
    expect(r.stdout).not.toContain(a);
  });

  it('refuses arguments with a usage error', async () => {
    const r = await runKeyward(['redact', 'app.log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: pipe the text in');
  });
});
