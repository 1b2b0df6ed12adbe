import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { auditProject } from '../../src/audit/index.js';
import type { Finding } from '../../src/finding.js';
import { anthropicKey, daysAgo, openaiKey, projectsForEachTest, type Project } from './project.js';

const project = projectsForEachTest();

/** A .gitignore that keeps .env files and build output out of git, as the docs recommend. */
const GITIGNORE = '.env\n.env.*\n!.env.example\ndist/\n';

async function audit(p: Project, checks?: string[], now?: Date): Promise<Finding[]> {
  const r = await auditProject(p.dir, { checks, now });
  return r.findings;
}

/** No finding, evidence or title ever carries a key, whole or a long piece of it (24 characters). */
function expectNoWholeKey(findings: Finding[], ...keys: string[]): void {
  const all = JSON.stringify(findings);
  for (const k of keys) for (let i = 0; i + 24 <= k.length; i += 8) expect(all).not.toContain(k.slice(i, i + 24));
}

describe('.env file mode and owner (env-file-mode)', () => {
  it('reports a world-readable .env as high, with the chmod that fixes it', async () => {
    const p = project({ '.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o644 }, '.gitignore': GITIGNORE });
    const [f, ...rest] = await audit(p, ['env-file-mode']);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ id: 'env-file-mode', severity: 'high', location: { file: '.env' } });
    expect(f!.title).toContain('mode 644');
    expect(f!.recommendation).toContain('chmod 600 .env');
  });

  it('reports a group-readable .env.local as medium', async () => {
    const p = project({ '.env.local': { content: 'A=b\n', mode: 0o640 }, '.gitignore': GITIGNORE });
    expect(await audit(p, ['env-file-mode'])).toMatchObject([{ id: 'env-file-mode', severity: 'medium', location: { file: '.env.local' } }]);
  });

  it('accepts mode 600 and 400, and ignores .env.example', async () => {
    const p = project({
      '.env': { content: 'A=b\n', mode: 0o600 },
      'apps/web/.env.production': { content: 'A=b\n', mode: 0o400 },
      '.env.example': { content: 'OPENAI_API_KEY=\n', mode: 0o644 },
      '.env.vault': { content: 'DOTENV_VAULT_PRODUCTION="encrypted"\n', mode: 0o644 },
      '.gitignore': GITIGNORE,
    });
    expect(await audit(p, ['env-file-mode'])).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('reports a .env owned by another user', async () => {
    const p = project({ '.env': { content: 'A=b\n', mode: 0o600 }, '.gitignore': GITIGNORE });
    chownSync(p.path('.env'), 65534, 65534);
    const [f] = await audit(p, ['env-file-mode']);
    expect(f).toMatchObject({ id: 'env-file-owner', severity: 'medium' });
    expect(f!.title).toContain('uid 65534');
  });
});

describe('.env listed in .gitignore (env-file-ignored)', () => {
  it('reports a .env that no .gitignore hides', async () => {
    const p = project({ '.env': { content: 'A=b\n', mode: 0o600 }, '.gitignore': 'dist/\n' });
    const [f] = await audit(p, ['env-file-ignored']);
    expect(f).toMatchObject({ id: 'env-file-ignored', severity: 'high', location: { file: '.env' } });
    expect(f!.recommendation).toContain('!.env.example');
  });

  it('honours .gitignore files in sub-folders and the templates stay committable', async () => {
    const p = project({
      'apps/api/.env': { content: 'A=b\n', mode: 0o600 },
      'apps/api/.gitignore': '.env\n',
      '.env.example': 'A=\n',
      '.gitignore': 'dist/\n',
    });
    expect(await audit(p, ['env-file-ignored'])).toEqual([]);
  });
});

describe('.env tracked by git, now or in history (env-file-tracked, env-file-history)', () => {
  it('reports a tracked .env as critical and names the commit that added it', async () => {
    const p = project({ '.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o600 } }).gitInit();
    const sha = p.commit('first commit', daysAgo(30));
    const findings = await audit(p, ['env-file-tracked']);
    expect(findings).toMatchObject([{ id: 'env-file-tracked', severity: 'critical', location: { file: '.env', commit: sha } }]);
    expect(findings[0]!.title).toContain(sha.slice(0, 12));
    expect(findings[0]!.recommendation).toContain('git rm --cached .env');
  });

  it('finds a .env committed in an old commit and since removed, names the commit and says the key must be rotated', async () => {
    const key = openaiKey();
    const p = project({ 'README.md': '# app\n' }).gitInit();
    p.commit('init', daysAgo(400));
    p.write({ '.env': { content: `# local settings\nDEBUG=1\nOPENAI_API_KEY=${key}\n`, mode: 0o600 } });
    const leak = p.commit('add config', daysAgo(365));
    p.git(['rm', '-q', '--cached', '.env']);
    p.write({ '.gitignore': GITIGNORE });
    p.commit('stop tracking .env', daysAgo(300));
    p.write({ 'src/index.ts': 'export {};\n' });
    p.commit('work', daysAgo(10));

    const findings = await audit(p, ['env-file-history', 'env-file-tracked', 'env-file-ignored']);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f).toMatchObject({ id: 'env-file-history', severity: 'critical', location: { file: '.env', line: 3, commit: leak }, secret: { provider: 'OpenAI' } });
    expect(f.title).toContain(leak.slice(0, 12));
    expect(f.title).toMatch(/rotate/i);
    expect(f.recommendation).toMatch(/revoke it and create a new one/);
    expect(f.secret!.redacted).toMatch(/^sk-proj-.*…/);
    expect(f.secret!.redacted).toContain(key.slice(-4));
    expectNoWholeKey(findings, key);
  });

  it('finds a .env that lived only on another branch, in a sub-folder', async () => {
    const p = project({ 'README.md': '# app\n', '.gitignore': GITIGNORE }).gitInit();
    p.commit('init', daysAgo(100));
    p.git(['checkout', '-q', '-b', 'experiment']);
    p.write({ 'services/bot/.env.staging': `ANTHROPIC_API_KEY=${anthropicKey()}\n` });
    const sha = p.commit('try staging', daysAgo(90), ['-f', 'services/bot/.env.staging']);
    p.git(['checkout', '-q', 'main']);
    const findings = await audit(p, ['env-file-history']);
    expect(findings).toMatchObject([{ id: 'env-file-history', severity: 'critical', location: { file: 'services/bot/.env.staging', commit: sha }, secret: { provider: 'Anthropic' } }]);
  });

  it('still reports a committed .env in which no key is recognised, naming the commit', async () => {
    const p = project({ 'README.md': '# app\n', '.gitignore': GITIGNORE }).gitInit();
    p.write({ '.env.production': 'LOG_LEVEL=debug\nFEATURES=chat,search\n' });
    const sha = p.commit('prod', daysAgo(50), ['-f', '.env.production', 'README.md', '.gitignore']);
    p.git(['rm', '-q', '--cached', '.env.production']);
    p.commit('untrack', daysAgo(49), ['README.md']);
    const [f] = await audit(p, ['env-file-history']);
    expect(f).toMatchObject({ id: 'env-file-history', severity: 'medium', location: { file: '.env.production', commit: sha } });
    expect(f!.title).toContain(`commit ${sha.slice(0, 12)}`);
    expect(f!.recommendation).toMatch(/rotate each key/);
  });

  it('audits one app of a monorepo: paths relative to the app, history of its own files only', async () => {
    const p = project({ 'README.md': '# mono\n' }).gitInit();
    p.write({ 'apps/web/.env': `OPENAI_API_KEY=${openaiKey()}\n`, 'apps/api/.env': `ANTHROPIC_API_KEY=${anthropicKey()}\n` });
    const sha = p.commit('both envs', daysAgo(40));
    const findings = await auditProject(p.path('apps/web'), { checks: ['env-file-tracked', 'env-file-history'] });
    expect(findings.findings.map((f) => `${f.id}:${f.location!.file}:${f.location!.commit}`).sort()).toEqual([`env-file-history:.env:${sha}`, `env-file-tracked:.env:${sha}`]);
  });

  it('finds a .env made by renaming the committed template', async () => {
    const p = project({ '.env.example': 'OPENAI_API_KEY=\nLOG_LEVEL=info\nPORT=3000\nHOST=localhost\n' }).gitInit();
    p.commit('template', daysAgo(30));
    p.git(['mv', '.env.example', '.env']);
    p.commit('use the template', daysAgo(25));
    p.write({ '.env': `OPENAI_API_KEY=${openaiKey()}\nLOG_LEVEL=info\nPORT=3000\nHOST=localhost\n` });
    const sha = p.commit('configure', daysAgo(20));
    expect(await audit(p, ['env-file-history'])).toMatchObject([{ id: 'env-file-history', severity: 'critical', location: { file: '.env', line: 1, commit: sha } }]);
  });

  it('does not count committed templates (.env.example), unless a real key was pasted into one', async () => {
    const p = project({ '.env.example': 'OPENAI_API_KEY=\n', '.gitignore': GITIGNORE }).gitInit();
    p.commit('template', daysAgo(5));
    expect(await audit(p, ['env-file-history', 'env-file-tracked'])).toEqual([]);
    p.write({ '.env.example': `OPENAI_API_KEY=${openaiKey()}\n` });
    const sha = p.commit('oops', daysAgo(4));
    p.write({ '.env.example': 'OPENAI_API_KEY=\n' });
    p.commit('fix', daysAgo(3));
    expect(await audit(p, ['env-file-history', 'env-file-tracked'])).toMatchObject([{ id: 'env-file-history', severity: 'critical', location: { file: '.env.example', line: 1, commit: sha } }]);
  });
});

describe('keys behind public env prefixes (public-env-key)', () => {
  it('reports a real key behind NEXT_PUBLIC_ in .env.local as critical, redacted', async () => {
    const key = openaiKey();
    const p = project({ '.env.local': { content: `NEXT_PUBLIC_SITE_URL=https://example.test\nNEXT_PUBLIC_OPENAI_API_KEY=${key}\n`, mode: 0o600 }, '.gitignore': GITIGNORE });
    const findings = await audit(p, ['public-env-key']);
    expect(findings).toMatchObject([{ id: 'public-env-key', severity: 'critical', location: { file: '.env.local', line: 2 }, secret: { provider: 'OpenAI' } }]);
    expect(findings[0]!.title).toContain('Next.js');
    expectNoWholeKey(findings, key);
  });

  it('knows every framework prefix', async () => {
    const names = ['VITE_', 'REACT_APP_', 'EXPO_PUBLIC_', 'PUBLIC_', 'NUXT_PUBLIC_', 'GATSBY_', 'VUE_APP_'].map((p) => `${p}ANTHROPIC_API_KEY`);
    const p = project({ '.env': { content: names.map((n) => `${n}=${anthropicKey()}`).join('\n') + '\n', mode: 0o600 }, '.gitignore': GITIGNORE });
    const findings = await audit(p, ['public-env-key']);
    expect(findings.map((f) => f.location?.line).sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(findings.every((f) => f.severity === 'critical')).toBe(true);
  });

  it('reports an AI key name behind a public prefix in a template, and leaves public-by-design keys alone', async () => {
    const p = project({
      '.env.example': 'VITE_OPENAI_API_KEY=\nNEXT_PUBLIC_SUPABASE_ANON_KEY=\nNEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=\nVITE_API_URL=\n',
      '.gitignore': GITIGNORE,
    });
    expect(await audit(p, ['public-env-key'])).toMatchObject([{ severity: 'medium', location: { file: '.env.example', line: 1 } }]);
  });

  it('reports next.config env and vite.config define blocks that copy secrets into the client', async () => {
    const p = project({
      'next.config.mjs': `export default {\n  reactStrictMode: true,\n  env: {\n    OPENAI_API_KEY: process.env.OPENAI_API_KEY,\n    APP_NAME: 'demo',\n  },\n};\n`,
      'vite.config.ts': `import { defineConfig } from 'vite';\nexport default defineConfig({\n  define: {\n    'process.env': process.env,\n    __VERSION__: JSON.stringify('1.0'),\n  },\n});\n`,
      'packages/ui/vite.config.js': `export default { define: { 'process.env.NODE_ENV': '"production"', 'import.meta.env.ANTHROPIC_API_KEY': JSON.stringify(process.env.ANTHROPIC_API_KEY) } };\n`,
    });
    const findings = await audit(p, ['public-env-key']);
    const byFile = Object.fromEntries(findings.map((f) => [f.location!.file, f]));
    expect(Object.keys(byFile).sort()).toEqual(['next.config.mjs', 'packages/ui/vite.config.js', 'vite.config.ts']);
    expect(byFile['next.config.mjs']).toMatchObject({ severity: 'critical', location: { line: 4 } });
    expect(byFile['next.config.mjs']!.title).toContain('OPENAI_API_KEY');
    expect(byFile['vite.config.ts']!.title).toContain('whole environment');
    expect(byFile['packages/ui/vite.config.js']!.title).toContain('ANTHROPIC_API_KEY');
  });

  it('reports secrets in the extra block of an Expo app config, which ships inside the app', async () => {
    const p = project({ 'app.json': JSON.stringify({ expo: { name: 'chat', extra: { apiUrl: 'https://api.example.test', openaiApiKey: 'set-at-build' } } }, null, 2) });
    const findings = await audit(p, ['public-env-key']);
    expect(findings).toMatchObject([{ id: 'public-env-key', severity: 'high', location: { file: 'app.json' } }]);
    expect(findings[0]!.title).toContain('openaiApiKey');
  });

  it('leaves config blocks with only public values alone', async () => {
    const p = project({ 'vite.config.ts': `export default { define: { 'process.env.NODE_ENV': JSON.stringify(process.env.NODE_ENV), __APP__: '"x"' } };\n` });
    expect(await audit(p, ['public-env-key'])).toEqual([]);
  });

  it('reports code that reads AI-key names behind public prefixes', async () => {
    const p = project({
      'src/lib/ai.ts': `export const key = import.meta.env.VITE_OPENAI_API_KEY;\nexport const url = import.meta.env.VITE_API_URL;\n`,
      'app/page.tsx': `const k = process.env.NEXT_PUBLIC_ANTHROPIC_KEY;\n`,
      'src/routes/+page.svelte': `<script>\n  import { PUBLIC_GEMINI_API_KEY } from '$env/static/public';\n</script>\n`,
      'src/main.js': `const t = process.env.VUE_APP_OPENAI_TOKEN;\n`,
    });
    const findings = await audit(p, ['public-env-key']);
    expect(findings.map((f) => `${f.location!.file}:${f.location!.line}`).sort()).toEqual(['app/page.tsx:1', 'src/lib/ai.ts:1', 'src/main.js:1', 'src/routes/+page.svelte:2']);
    expect(findings.every((f) => f.severity === 'high')).toBe(true);
  });
});

describe('a keyward gateway token shipped to the client', () => {
  // Built at run time: kw_ + a 12-hex id + _ + 43 base64url characters.
  const id = 'c4e19a0f7b32';
  const token = 'kw' + `_${id}_` + Array.from({ length: 43 }, (_, i) => 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-'[(i * 11 + 5) % 38]).join('');

  it('is a scope to check (medium), not a leaked key, wherever it is shipped: env file, config block, build output, app package', async () => {
    const p = project({
      '.env.local': { content: `NEXT_PUBLIC_KEYWARD_TOKEN=${token}\nNEXT_PUBLIC_KEYWARD_URL=https://ai.example.test\n`, mode: 0o600 },
      '.gitignore': GITIGNORE,
      'vite.config.ts': `export default { define: { __KW__: JSON.stringify("${token}") } };\n`,
      'app/chat.tsx': 'export const t = process.env.NEXT_PUBLIC_KEYWARD_TOKEN;\n',
      'dist/assets/chat-1a.js': `const t="${token}";`,
    });
    const apk = zipSync({ 'assets/index.android.bundle': strToU8(`__d(function(){var t="${token}"});`) });
    mkdirSync(p.path('android/app/build/outputs/apk/release'), { recursive: true });
    writeFileSync(p.path('android/app/build/outputs/apk/release/app-release.apk'), apk);
    const findings = await audit(p, ['public-env-key', 'build-output-key']);
    expect(findings.map((f) => `${f.id} ${f.location!.file}:${f.location!.line ?? ''}`).sort()).toEqual([
      'build-output-key android/app/build/outputs/apk/release/app-release.apk!/assets/index.android.bundle:1',
      'build-output-key dist/assets/chat-1a.js:1',
      'public-env-key .env.local:1',
      'public-env-key vite.config.ts:1',
    ]);
    // Code that reads the variable is how such an app works: nothing to say without the token itself.
    for (const f of findings) {
      expect(f.severity).toBe('medium');
      expect(f.secret).toBeUndefined();
      expect(f.title).toMatch(/make sure it may call only the app route/);
      expect(f.recommendation).toContain('--scopes app');
    }
    // Where the token itself was read, the advice names the command that rotates it.
    expect(findings.find((f) => f.location!.file === '.env.local')!.recommendation).toContain(`keyward tokens revoke ${id}`);
    expectNoWholeKey(findings, token);
  });
});

describe('keys in build output (build-output-key)', () => {
  it('scans git-ignored build folders and reports each key as critical', async () => {
    const k1 = openaiKey();
    const k2 = anthropicKey();
    const p = project({
      '.gitignore': GITIGNORE + '.next/\nbuild/\n',
      'dist/assets/index-4f3a.js': `var a=1;function x(){return fetch("/api",{headers:{Authorization:"Bearer ${k1}"}})}`,
      '.next/static/chunks/pages/chat-12ab.js': `self.__k="${k2}";`,
      'build/static/js/main.js.map': JSON.stringify({ version: 3, sourcesContent: [`const key = "${k1}";`] }),
      'public/config.json': '{"api":"/api"}',
      'src/index.ts': 'export const api = "/api";\n',
    }).gitInit();
    p.commit('code', daysAgo(3));
    const findings = await audit(p, ['build-output-key']);
    expect(findings.map((f) => f.location!.file).sort()).toEqual(['.next/static/chunks/pages/chat-12ab.js', 'build/static/js/main.js.map', 'dist/assets/index-4f3a.js']);
    expect(findings.every((f) => f.severity === 'critical' && f.id === 'build-output-key' && f.secret)).toBe(true);
    expectNoWholeKey(findings, k1, k2);
  });

  it('scans mobile bundles wherever they sit, and inside app packages', async () => {
    const key = anthropicKey();
    const p = project({ 'android/app/src/main/assets/index.android.bundle': `__d(function(){var k="${openaiKey()}"});` });
    const apk = zipSync({ 'AndroidManifest.xml': strToU8('<manifest/>'), 'assets/index.android.bundle': strToU8(`__d(function(){var k="${key}"});`) });
    mkdirSync(p.path('android/app/build/outputs/apk/release'), { recursive: true });
    writeFileSync(p.path('android/app/build/outputs/apk/release/app-release.apk'), apk);
    const findings = await audit(p, ['build-output-key']);
    expect(findings.map((f) => f.location!.file).sort()).toEqual([
      'android/app/build/outputs/apk/release/app-release.apk!/assets/index.android.bundle',
      'android/app/src/main/assets/index.android.bundle',
    ]);
    expect(findings.every((f) => f.severity === 'critical')).toBe(true);
    expectNoWholeKey(findings, key);
  });

  it('skips a file over the size limit with a warning that names it', async () => {
    const p = project({ 'dist/huge.js.map': 'x'.repeat(4096) + `"${openaiKey()}"`, 'dist/small.js': `var k="${openaiKey()}";` });
    const r = await auditProject(p.dir, { checks: ['build-output-key'], maxFileBytes: 2048 });
    expect(r.findings.map((f) => f.location!.file)).toEqual(['dist/small.js']);
    expect(r.warnings).toEqual(['dist/huge.js.map: skipped, larger than 2 KiB (4 KiB)']);
  });

  it('goes on with a warning when an app package is a zip bomb or damaged', async () => {
    const p = project({ 'dist/app.apk': 'PK\x03\x04 not really a zip', 'dist/main.js': `var k="${openaiKey()}";` });
    writeFileSync(p.path('dist/bomb.apk'), zipSync({ 'assets/data.bin': new Uint8Array(8 * 1024 * 1024) }, { level: 9 }));
    const r = await auditProject(p.dir, { checks: ['build-output-key'] });
    expect(r.findings.map((f) => f.location!.file)).toEqual(['dist/main.js']);
    expect(r.warnings.join('\n')).toMatch(/dist\/bomb\.apk.*zip bomb/);
    expect(r.warnings.join('\n')).toMatch(/dist\/app\.apk: not scanned \(.*not a readable zip/);
  });
});

describe('AI SDKs and provider calls in browser code (client-ai-call)', () => {
  it('reports dangerouslyAllowBrowser and the SDK import in a component', async () => {
    const p = project({
      'src/components/Chat.tsx': `import OpenAI from 'openai';\n\nconst client = new OpenAI({\n  apiKey: getKey(),\n  dangerouslyAllowBrowser: true,\n});\n`,
    });
    const findings = await audit(p, ['client-ai-call']);
    expect(findings.map((f) => f.location!.line).sort()).toEqual([1, 5]);
    expect(findings.every((f) => f.severity === 'high' && f.title.includes('components folder'))).toBe(true);
  });

  it('reports a direct call to the Anthropic API from a "use client" file', async () => {
    const p = project({
      'app/chat/page.tsx': `'use client';\nexport async function ask(key: string) {\n  return fetch('https://api.anthropic.com/v1/messages', {\n    method: 'POST',\n    headers: { 'x-api-key': key, 'anthropic-dangerous-direct-browser-access': 'true' },\n  });\n}\n`,
    });
    const findings = await audit(p, ['client-ai-call']);
    expect(findings.length).toBeGreaterThanOrEqual(2);
    expect(findings.map((f) => f.title).join('\n')).toMatch(/anthropic-dangerous-direct-browser-access/);
    expect(findings.map((f) => f.title).join('\n')).toMatch(/Anthropic API called with a key/);
    expect(findings[0]!.title).toContain('"use client"');
  });

  it('reports SDK use in the src/ of a Vite app', async () => {
    const p = project({ 'vite.config.ts': 'export default {};\n', 'index.html': '<div id=app></div>', 'src/ai.ts': `import Anthropic from '@anthropic-ai/sdk';\nexport const a = new Anthropic({ apiKey: k });\n` });
    const findings = await audit(p, ['client-ai-call']);
    expect(findings).toMatchObject([{ severity: 'high', location: { file: 'src/ai.ts', line: 1 } }]);
  });

  it('leaves server code alone: API routes, route handlers, "use server", server folders', async () => {
    const server = `import OpenAI from 'openai';\nconst openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });\nexport async function POST() { return fetch('https://api.openai.com/v1/chat/completions', { headers: { Authorization: 'Bearer ' + process.env.OPENAI_API_KEY } }); }\n`;
    const p = project({
      'pages/api/chat.ts': server,
      'app/api/chat/route.ts': server,
      'app/actions.ts': `'use server';\n${server}`,
      'src/server/ai.ts': server,
      'src/components/Chat.tsx': `import type OpenAI from 'openai';\nexport function Chat() { return fetch('/api/chat'); }\n`,
      'pages/summary.tsx': `import OpenAI from 'openai';\nexport async function getServerSideProps() { const o = new OpenAI(); return { props: {} }; }\nexport default function Page() { return null; }\n`,
    });
    expect(await audit(p, ['client-ai-call'])).toEqual([]);
  });
});

describe('keys leaking into logs and error trackers (log-leak)', () => {
  it('reports logging the whole environment and whole request headers', async () => {
    const p = project({
      'server.js': [
        `console.log('env', process.env);`,
        `const dump = JSON.stringify(process.env);`,
        `app.use((req, res, next) => { logger.info({ msg: 'in' }, req.headers); next(); });`,
        `console.log(req.headers.host);`,
        `console.log(Object.keys(process.env));`,
        `app.use(morgan(':method :url :req[authorization]'));`,
      ].join('\n'),
      'worker.py': `import os, logging\nlogging.info(os.environ)\n`,
    });
    const findings = await audit(p, ['log-leak']);
    expect(findings.map((f) => `${f.id}@${f.location!.file}:${f.location!.line}`).sort()).toEqual([
      'log-env@server.js:1',
      'log-env@server.js:2',
      'log-env@worker.py:2',
      'log-headers@server.js:3',
      'log-headers@server.js:6',
    ]);
  });

  it('reports Sentry with sendDefaultPii and no beforeSend, and accepts it with a scrubber', async () => {
    const p = project({
      'src/sentry.server.ts': `Sentry.init({\n  dsn: process.env.SENTRY_DSN,\n  sendDefaultPii: true,\n});\n`,
      'src/instrument.ts': `Sentry.init({ dsn: 'x', sendDefaultPii: true, beforeSend(event) { delete event.request?.headers; return event; } });\n`,
      'web/dd.ts': `datadogLogs.init({ clientToken: 't', forwardConsoleLogs: 'all' });\n`,
      'tracer.js': `require('dd-trace').init({ headerTags: ['user-agent', 'authorization'] });\n`,
    });
    const findings = await audit(p, ['log-leak']);
    expect(findings.map((f) => `${f.severity}@${f.location!.file}`).sort()).toEqual(['high@src/sentry.server.ts', 'high@tracer.js', 'medium@web/dd.ts']);
  });
});

describe('key age (key-age)', () => {
  const now = new Date('2026-11-01T00:00:00Z');

  it('warns when keyward.config.json records a key put in more than 90 days ago', async () => {
    const p = project({
      '.env': { content: `OPENAI_API_KEY=${openaiKey()}\nANTHROPIC_API_KEY=${anthropicKey()}\n`, mode: 0o600 },
      '.gitignore': GITIGNORE,
      'keyward.config.json': JSON.stringify({ keys: [{ name: 'OPENAI_API_KEY', createdAt: '2026-06-01' }, { name: 'ANTHROPIC_API_KEY', createdAt: '2026-10-01' }, { name: 'GATEWAY_POOL_KEY_1', createdAt: '2026-01-01' }] }),
    });
    const findings = await audit(p, ['key-age'], now);
    expect(findings.map((f) => f.title).sort()).toEqual([
      'GATEWAY_POOL_KEY_1 is 304 days old (put in 2026-01-01, per keyward.config.json)',
      'OPENAI_API_KEY in .env is 153 days old (put in 2026-06-01, per keyward.config.json)',
    ]);
    expect(findings.every((f) => f.id === 'key-age' && /Rotate it/.test(f.recommendation))).toBe(true);
  });

  it('honours a rotation period from the config', async () => {
    const p = project({
      '.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o600 },
      '.gitignore': GITIGNORE,
      'keyward.config.json': JSON.stringify({ audit: { rotationDays: 30 }, keys: [{ name: 'OPENAI_API_KEY', createdAt: '2026-09-15' }] }),
    });
    expect(await audit(p, ['key-age'], now)).toMatchObject([{ id: 'key-age', severity: 'medium' }]);
  });

  it('uses the git date at which the variable last changed when nothing is recorded', async () => {
    const p = project({ 'deploy/.env.production': `OPENAI_API_KEY=${openaiKey()}\nLOG_LEVEL=info\n` }).gitInit();
    const old = p.commit('prod config', new Date('2026-05-01T12:00:00Z'));
    p.write({ 'deploy/.env.production': (await import('node:fs')).readFileSync(p.path('deploy/.env.production'), 'utf8').replace('info', 'debug') });
    p.commit('more logs', new Date('2026-10-20T12:00:00Z'));
    const findings = await audit(p, ['key-age'], now);
    expect(findings).toMatchObject([{ id: 'key-age', location: { file: 'deploy/.env.production', line: 1, commit: old } }]);
    expect(findings[0]!.title).toContain('last changed 183 days ago');
  });

  it('ignores the git date once the key in the file was rotated after that commit', async () => {
    const p = project({ 'deploy/.env.production': `OPENAI_API_KEY=${openaiKey()}\n` }).gitInit();
    p.commit('prod config', new Date('2026-05-01T12:00:00Z'));
    p.write({ 'deploy/.env.production': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mtime: new Date('2026-10-25T00:00:00Z') } });
    expect(await audit(p, ['key-age'], now)).toEqual([]);
  });

  it('falls back to the age of an untouched .env file, and says nothing of a fresh one', async () => {
    const p = project({
      '.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o600, mtime: new Date('2026-06-15T00:00:00Z') },
      'api/.env': { content: `OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o600, mtime: new Date('2026-10-15T00:00:00Z') },
      '.gitignore': GITIGNORE,
    });
    const findings = await audit(p, ['key-age'], now);
    expect(findings).toMatchObject([{ id: 'key-age', location: { file: '.env' } }]);
    expect(findings[0]!.title).toContain('at least 139 days old');
  });
});

describe('CI configs that print secrets (ci-secret-leak)', () => {
  it('reports echo of a secret, an env dump and debug logging, never showing a key', async () => {
    const key = openaiKey();
    const p = project({
      '.github/workflows/deploy.yml': [
        'on: push',
        'jobs:',
        '  deploy:',
        '    runs-on: ubuntu-latest',
        '    env:',
        '      ACTIONS_STEP_DEBUG: true',
        '      OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}',
        '    steps:',
        '      - run: echo "key is ${{ secrets.OPENAI_API_KEY }}"',
        '      - run: |',
        '          set -x',
        '          echo "$OPENAI_API_KEY" | base64',
        '          printenv | sort',
        '      - run: echo "${{ toJSON(secrets) }}" > /dev/null',
        `      - run: printenv; curl -H "Authorization: Bearer ${key}" https://api.openai.com/v1/models`,
      ].join('\n'),
      '.gitlab-ci.yml': 'variables:\n  CI_DEBUG_TRACE: "true"\n',
    });
    const findings = await audit(p, ['ci-secret-leak']);
    expect(findings.map((f) => `${f.severity}@${f.location!.file}:${f.location!.line}`).sort()).toEqual([
      'critical@.github/workflows/deploy.yml:14',
      'high@.github/workflows/deploy.yml:13',
      'high@.github/workflows/deploy.yml:15',
      'high@.github/workflows/deploy.yml:9',
      'high@.gitlab-ci.yml:2',
      'medium@.github/workflows/deploy.yml:11',
      'medium@.github/workflows/deploy.yml:6',
    ]);
    expectNoWholeKey(findings, key);
  });

  it('accepts secrets passed properly: masks, stdin pipes, GITHUB_ENV, env mappings', async () => {
    const p = project({
      '.github/workflows/ci.yml': [
        'on: push',
        'jobs:',
        '  test:',
        '    runs-on: ubuntu-latest',
        '    env:',
        '      OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}',
        '    steps:',
        '      - run: echo "::add-mask::$OPENAI_API_KEY"',
        '      - run: echo "${{ secrets.REGISTRY_TOKEN }}" | docker login ghcr.io -u me --password-stdin',
        '      - run: echo "DEPLOY_KEY=${{ secrets.DEPLOY_KEY }}" >> "$GITHUB_ENV"',
        '      - run: echo "building $GITHUB_SHA"',
        '      - run: npm test',
      ].join('\n'),
    });
    expect(await audit(p, ['ci-secret-leak'])).toEqual([]);
  });
});

describe('a clean project', () => {
  it('gives no finding at all', async () => {
    const key = openaiKey();
    const p = project({
      '.gitignore': GITIGNORE + 'node_modules/\n.next/\n',
      '.env': { content: `OPENAI_API_KEY=${key}\nNEXT_PUBLIC_SITE_URL=https://example.test\n`, mode: 0o600 },
      '.env.example': 'OPENAI_API_KEY=\nNEXT_PUBLIC_SITE_URL=\n',
      'package.json': JSON.stringify({ name: 'app', dependencies: { next: '15', openai: '6' } }),
      'next.config.mjs': `export default { env: { NEXT_PUBLIC_BUILD: 'abc' } };\n`,
      'app/api/chat/route.ts': `import OpenAI from 'openai';\nconst openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });\nexport async function POST(req: Request) { console.log('chat', req.method); return Response.json(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [] })); }\n`,
      'app/chat/page.tsx': `'use client';\nexport default function Chat() { return fetch('/api/chat', { method: 'POST' }); }\n`,
      'src/components/Button.tsx': `export const Button = () => null;\n`,
      'instrumentation.ts': `Sentry.init({ dsn: process.env.SENTRY_DSN, beforeSend: scrub });\n`,
      '.next/static/chunks/app.js': 'self.x=function(){return fetch("/api/chat")};',
      'node_modules/openai/index.js': `// a dependency may mention dangerouslyAllowBrowser: true and console.log(process.env)\n`,
      '.github/workflows/ci.yml': 'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    env:\n      OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}\n    steps:\n      - run: npm test\n',
      'keyward.config.json': JSON.stringify({ keys: [{ name: 'OPENAI_API_KEY', createdAt: daysAgo(10).toISOString() }] }),
    }).gitInit();
    p.commit('app', daysAgo(20));
    const r = await auditProject(p.dir);
    expect(r.findings).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.filesSeen).toBeGreaterThanOrEqual(12);
  });
});

describe('false positives the code checks avoid', () => {
  it('ignores comments, tests, fixtures, build output and docs-like mentions', async () => {
    const p = project({
      'src/lib/notes.ts': [
        '// Never pass dangerouslyAllowBrowser: true to the OpenAI client.',
        '/* console.log(process.env) would leak every key */',
        ' * import { PUBLIC_OPENAI_KEY } from "$env/static/public" is what not to do',
        "export const rule = 'dangerouslyAllowBrowser: true is forbidden';",
      ].join('\n'),
      'src/server.test.ts': 'console.log(process.env);\nconst k = import.meta.env.VITE_OPENAI_API_KEY;\n',
      'test/fixtures/app/src/components/Chat.tsx': `import OpenAI from 'openai';\nnew OpenAI({ dangerouslyAllowBrowser: true });\n`,
      'dist/cli.js': 'console.log(process.env); new OpenAI({ dangerouslyAllowBrowser: true });\n',
    });
    expect(await audit(p, ['client-ai-call', 'log-leak', 'public-env-key'])).toEqual([]);
  });

  it('still reports the same code when it runs in the app', async () => {
    const p = project({
      'src/lib/ai.ts': "import OpenAI from 'openai';\nexport const c = new OpenAI({ apiKey: k, dangerouslyAllowBrowser: true }); // for the demo\n",
      'src/server.ts': 'console.log(process.env);\n',
    });
    expect((await audit(p, ['client-ai-call', 'log-leak'])).map((f) => `${f.id}@${f.location!.file}:${f.location!.line}`).sort()).toEqual(['client-ai-call@src/lib/ai.ts:2', 'log-env@src/server.ts:1']);
  });
});

describe('files that must not be read', () => {
  it('never reads through a symbolic link or blocks on a FIFO, in a git work tree or not', async () => {
    const { execFileSync } = await import('node:child_process');
    const { symlinkSync } = await import('node:fs');
    for (const withGit of [true, false]) {
      const p = project({ '.gitignore': 'dist/\n', 'src/a.ts': 'console.log(process.env);\n', 'dist/index.html': '<p>hi</p>' });
      if (withGit) p.gitInit();
      symlinkSync('/dev/zero', p.path('src/zero.ts'));
      symlinkSync('/dev/zero', p.path('dist/zero.js'));
      execFileSync('mkfifo', [p.path('src/pipe.ts')]);
      execFileSync('mkfifo', [p.path('dist/pipe.js')]);
      const r = await auditProject(p.dir);
      expect(r.findings.map((f) => `${f.id}@${f.location?.file}`)).toEqual(['log-env@src/a.ts']);
      expect(r.warnings).toEqual([]);
    }
  });
});

describe('documentation', () => {
  it('documents every check, and every finding links to its section of docs/audit.md', async () => {
    const { readFileSync } = await import('node:fs');
    const { CHECK_IDS } = await import('../../src/audit/checks/index.js');
    const doc = readFileSync(new URL('../../docs/audit.md', import.meta.url), 'utf8');
    const headings = new Set([...doc.matchAll(/^### (\S+)$/gm)].map((m) => m[1]));
    for (const id of CHECK_IDS) expect(headings, id).toContain(id);
    const p = project({
      '.env': { content: `NEXT_PUBLIC_OPENAI_API_KEY=${openaiKey()}\n`, mode: 0o644, mtime: daysAgo(400) },
      'dist/a.js': `var k="${anthropicKey()}";`,
      'src/components/A.tsx': `const c = new OpenAI({ dangerouslyAllowBrowser: true });\n`,
      'server.js': 'console.log(process.env);\nconsole.log(req.headers);\nSentry.init({ dsn: "x" });\n',
      '.github/workflows/a.yml': 'jobs:\n  a:\n    steps:\n      - run: printenv\n',
    }).gitInit();
    p.commit('all', daysAgo(200));
    const findings = await audit(p);
    expect(new Set(findings.map((f) => f.id)).size).toBeGreaterThanOrEqual(10);
    for (const f of findings) {
      const anchor = /docs\/audit\.md#(.+)$/.exec(f.docs ?? '')?.[1];
      expect(headings, `${f.id}: ${f.docs}`).toContain(anchor);
    }
  });
});

describe("the project's own secret rules (.keyward-rules.json)", () => {
  const token = () => `acme_svc_${openaiKey().replace(/[^A-Za-z0-9]/g, '').slice(-32)}`;
  const rules = JSON.stringify({ schema: 'keyward.rules/1', rules: [{ id: 'acme-service-token', provider: 'Acme', title: 'Acme service token', severity: 'high', keywords: ['acme_svc_'], pattern: 'acme_svc_[A-Za-z0-9]{32}' }] });

  it('finds a key of the project\'s own kind in build output and behind a public prefix, and not with rules: false', async () => {
    const t = token();
    const p = project({
      '.keyward-rules.json': rules,
      'dist/assets/app-1a.js': `fetch(u,{headers:{"x-acme":"${t}"}});\n`,
      '.env.local': { content: `VITE_ACME=${t}\n`, mode: 0o600 },
      '.gitignore': GITIGNORE,
    });
    const found = await audit(p, ['public-env-key', 'build-output-key']);
    expect(found.map((f) => [f.id, f.secret?.rule, f.location?.file]).sort()).toEqual([
      ['build-output-key', 'acme-service-token', 'dist/assets/app-1a.js'],
      ['public-env-key', 'acme-service-token', '.env.local'],
    ]);
    expectNoWholeKey(found, t);
    const without = await auditProject(p.dir, { checks: ['build-output-key'], rules: false });
    expect(without.findings).toEqual([]);
  });

  it('stops with the rule and the field when the file has a mistake', async () => {
    const p = project({ '.keyward-rules.json': rules.replace('"high"', '"urgent"') });
    await expect(auditProject(p.dir, { checks: ['build-output-key'] })).rejects.toThrow(/rule 'acme-service-token': 'severity' must be one of/);
  });
});
