import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYWARD_MAIN, runKeyward, type RunResult } from '../helpers/cli.js';
import { anthropicKey, daysAgo, openaiKey, projectsForEachTest, type Project } from './project.js';

const project = projectsForEachTest();

const GITIGNORE = '.env\n.env.*\n!.env.example\ndist/\n';

/** Output never carries a key, whole or a long piece of it (24 characters). */
function expectNoKeyPiece(output: string, key: string): void {
  for (let i = 0; i + 24 <= key.length; i += 8) expect(output).not.toContain(key.slice(i, i + 24));
}

/** Root reads everything, so unreadable-file tests run the CLI as `nobody` when the tests run as root. */
const AS_ROOT = process.getuid?.() === 0;

/** Whether `nobody` can reach a path: every folder above it searchable by others, the file readable. */
function othersCanReach(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o004) === 0) return false;
    for (let d = dirname(path); ; d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) return false;
      if (dirname(d) === d) return true;
    }
  } catch {
    return false;
  }
}
/** As root, the permission tests run the CLI as `nobody`, which needs to reach node and the built CLI. */
const CAN_DROP_ROOT = !AS_ROOT || (othersCanReach(process.execPath) && othersCanReach(KEYWARD_MAIN) && othersCanReach(resolve(import.meta.dirname, '../../node_modules/commander/package.json')));
if (!CAN_DROP_ROOT) console.warn(`skipping the permission tests: running as root and user 'nobody' cannot reach ${KEYWARD_MAIN} (a folder above it is not searchable by others)`);
function runAsUser(args: string[]): Promise<RunResult> {
  if (!AS_ROOT) return runKeyward(args);
  return new Promise((resolve, reject) => {
    // git refuses repositories of another user unless safe.directory says otherwise (command-line config counts).
    const env = { ...process.env, NO_COLOR: '1', HOME: '/tmp', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' };
    const child = spawn(process.execPath, [KEYWARD_MAIN, ...args], { env, uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function leaky(): { p: Project; key: string } {
  const key = openaiKey();
  const p = project({
    '.gitignore': GITIGNORE,
    '.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o600 },
    'dist/assets/app.js': `var k="${key}";`,
    'server.js': 'app.use((req, res, next) => { console.log(req.headers); next(); });\n',
  });
  return { p, key };
}

describe('keyward audit (command line)', () => {
  it('prints findings with their fixes, the key redacted, and exits 1', async () => {
    const { p, key } = leaky();
    const r = await runKeyward(['audit', p.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('CRITICAL');
    expect(r.stdout).toContain('dist/assets/app.js:1');
    expect(r.stdout).toContain(key.slice(-4));
    expect(r.stdout).toMatch(/fix +Everything in this folder is shipped/);
    expect(r.stdout).toMatch(/2 findings: 1 critical, 1 medium/);
    expectNoKeyPiece(r.stdout + r.stderr, key);
  });

  it('audits the current folder by default', async () => {
    const { p } = leaky();
    const r = await runKeyward(['audit'], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('dist/assets/app.js');
  });

  it('writes JSON with the keyward.audit/1 schema', async () => {
    const { p, key } = leaky();
    const r = await runKeyward(['audit', p.dir, '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { schema: string; summary: Record<string, number>; findings: Record<string, unknown>[] };
    expect(report.schema).toBe('keyward.audit/1');
    expect(report.summary).toMatchObject({ total: 2, critical: 1, medium: 1 });
    expect(report.findings[0]).toMatchObject({ id: 'build-output-key', severity: 'critical', provider: 'OpenAI', file: 'dist/assets/app.js', line: 1 });
    expect(report.findings[0]!.fingerprint).toMatch(/^sha256:/);
    expectNoKeyPiece(r.stdout, key);
  });

  it('writes SARIF 2.1.0 with a result per finding', async () => {
    const { p } = leaky();
    const r = await runKeyward(['audit', p.dir, '--format', 'sarif']);
    const sarif = JSON.parse(r.stdout) as { version: string; runs: { results: { ruleId: string; locations: unknown[] }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.results.map((x) => x.ruleId).sort()).toEqual(['log-headers', 'openai-project-key']);
  });

  it('exits 0 when every finding is below --fail-on', async () => {
    const p = project({ '.gitignore': GITIGNORE, 'server.js': 'console.log(req.headers);\n' });
    expect((await runKeyward(['audit', p.dir, '--fail-on', 'high'])).code).toBe(0);
    expect((await runKeyward(['audit', p.dir, '--fail-on', 'medium'])).code).toBe(1);
  });

  it('runs only the checks named by --check', async () => {
    const { p } = leaky();
    const r = await runKeyward(['audit', p.dir, '--check', 'log-leak', '--format', 'json']);
    expect((JSON.parse(r.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id)).toEqual(['log-headers']);
  });

  it('says a clean project is clean and exits 0', async () => {
    const p = project({ '.gitignore': GITIGNORE, '.env': { content: `ANTHROPIC_API_KEY=${anthropicKey()}\n`, mode: 0o600 }, 'src/index.ts': 'export {};\n' });
    const r = await runKeyward(['audit', p.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no findings in /m);
  });
});

describe('keyward audit on keyward itself', () => {
  it('finds nothing in this repository (a security tool keeps its own keys right)', async () => {
    const r = await runKeyward(['audit', resolve(import.meta.dirname, '../..'), '--format', 'json']);
    expect((JSON.parse(r.stdout) as { findings: unknown[] }).findings).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe('keyward audit on bad input', () => {
  it('names a folder that does not exist, with a hint, and exits 2', async () => {
    const r = await runKeyward(['audit', '/nonexistent/keyward-audit-project']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("folder '/nonexistent/keyward-audit-project' does not exist");
    expect(r.stderr).toContain('hint:');
    expect(r.stderr).not.toMatch(/unexpected error|at \w+ \(/);
  });

  it.skipIf(!CAN_DROP_ROOT)('says so when the project folder itself cannot be read', async () => {
    const p = project({ 'a.txt': 'x' });
    chmodSync(p.dir, 0o311);
    const r = await runAsUser(['audit', p.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/folder '.*' cannot be read \(EACCES, permission denied\)/);
    expect(r.stderr).toContain('hint:');
  });

  it('refuses a file where a folder is expected', async () => {
    const p = project({ 'a.txt': 'x' });
    const r = await runKeyward(['audit', p.path('a.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a file, not a folder');
    expect(r.stderr).toContain('keyward secrets');
  });

  it('rejects an unknown format, severity or check', async () => {
    for (const args of [['--format', 'xml'], ['--fail-on', 'severe'], ['--check', 'nope'], ['--rotation-days', '-3']]) {
      const r = await runKeyward(['audit', '.', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid|Allowed choices|use one of|unknown check|whole number/);
    }
  });

  it('explains a malformed keyward.config.json', async () => {
    const p = project({ 'keyward.config.json': '{ "keys": [ { "name": "OPENAI_API_KEY", "createdAt": "last spring" } ] }' });
    const r = await runKeyward(['audit', p.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('keys[0].createdAt must be an ISO date');
    expect(r.stderr).toContain('hint:');
  });

  it.skipIf(!CAN_DROP_ROOT)('goes on past unreadable files and folders, naming them', async () => {
    const p = project({
      '.gitignore': GITIGNORE,
      'dist/app.js': `var k="${openaiKey()}";`,
      'dist/secret.js': 'var a = 1;',
      'private/notes.md': 'x',
    });
    chmodSync(p.dir, 0o755);
    chmodSync(p.path('dist/secret.js'), 0o000);
    chmodSync(p.path('private'), 0o000);
    const r = await runAsUser(['audit', p.dir, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dist/secret.js: skipped, cannot be read (EACCES');
    expect(r.stderr).toMatch(/private: skipped, cannot be read \(EACCES/);
    expect((JSON.parse(r.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id)).toContain('build-output-key');
    chmodSync(p.path('private'), 0o755);
  });

  it.skipIf(!CAN_DROP_ROOT)('goes on past unreadable files and folders in a git work tree too', async () => {
    const p = project({ '.gitignore': GITIGNORE, 'src/a.ts': 'console.log(process.env);\n', 'src/b.ts': 'export {};\n', 'private/notes.md': 'x' }).gitInit();
    p.commit('init', daysAgo(3), ['.gitignore', 'src']);
    chmodSync(p.dir, 0o755);
    chmodSync(p.path('src/b.ts'), 0o000);
    chmodSync(p.path('private'), 0o000);
    const r = await runAsUser(['audit', p.dir, '--format', 'json']);
    chmodSync(p.path('private'), 0o755);
    expect(r.stderr).not.toContain('git refuses');
    expect(r.stderr).toContain('src/b.ts: skipped, cannot be read (EACCES');
    expect(r.stderr).toMatch(/private: skipped, cannot be read \(EACCES/);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual(['src/a.ts']);
  });

  it('says so when a .gitignore cannot be read, is binary or is a folder', async () => {
    if (CAN_DROP_ROOT) {
      const unreadable = project({ '.gitignore': GITIGNORE, 'src/a.ts': 'export {};\n' });
      chmodSync(unreadable.dir, 0o755);
      chmodSync(unreadable.path('.gitignore'), 0o000);
      const r1 = await runAsUser(['audit', unreadable.dir]);
      expect(r1.code).not.toBe(2);
      expect(r1.stderr).toContain('.gitignore cannot be read (EACCES');
    }

    const binary = project({ 'src/a.ts': 'export {};\n' });
    writeFileSync(binary.path('.gitignore'), Buffer.from([0x2e, 0x65, 0x6e, 0x76, 0x00, 0xff, 0xfe, 0x0a]));
    const r2 = await runKeyward(['audit', binary.dir]);
    expect(r2.stderr).toContain('.gitignore is not a text file');

    const folder = project({ '.gitignore/oops': '.env\n', '.env': { content: 'A=b\n', mode: 0o600 } });
    const r3 = await runKeyward(['audit', folder.dir]);
    expect(r3.stderr).toContain('.gitignore is a folder, not a file');
    expect(r3.stdout).toContain('.env is not listed in .gitignore');
  });

  it('finishes on symbolic link loops and links out of the tree', async () => {
    const p = project({ '.gitignore': GITIGNORE, 'src/a.ts': 'console.log(process.env);\n' });
    symlinkSync('.', p.path('src/self'));
    symlinkSync(p.path('loop-b'), p.path('loop-a'));
    symlinkSync(p.path('loop-a'), p.path('loop-b'));
    symlinkSync('/', p.path('root-link'));
    mkdirSync(p.path('deep/er'), { recursive: true });
    symlinkSync('../..', p.path('deep/er/up'));
    const r = await runKeyward(['audit', p.dir, '--format', 'json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { findings: { file: string }[] }).findings.map((f) => f.file)).toEqual(['src/a.ts']);

    const loop = project();
    symlinkSync(loop.path('x'), loop.path('y'));
    symlinkSync(loop.path('y'), loop.path('x'));
    const r2 = await runKeyward(['audit', loop.path('x')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('symbolic link that loops');
  });

  it('never prints a key from git history whole', async () => {
    const key = anthropicKey();
    const p = project({ 'README.md': '# x\n' }).gitInit();
    p.write({ '.env': `ANTHROPIC_API_KEY=${key}\n` });
    p.commit('oops', daysAgo(200));
    for (const format of ['text', 'json', 'sarif']) {
      const r = await runKeyward(['audit', p.dir, '--format', format]);
      expect(r.code).toBe(1);
      expectNoKeyPiece(r.stdout + r.stderr, key);
      expect(r.stdout).toContain(key.slice(-4));
    }
  });
});
