/**
 * Keys and direct AI calls in client-side code, found by walking real fixture sites on
 * 127.0.0.1 the way a browser would load them (and further: lazy chunks and source maps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicKey, html, js, last4, openaiKey, startSite } from './sites.js';
import { printable, runExposure, type ExposureRun } from './run.js';

describe('a Next.js-like site with keys only in lazy chunks', () => {
  const openai = openaiKey();
  const anthropic = anthropicKey();
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;

  beforeAll(async () => {
    site = await startSite({
      '/': {
        body: html(
          '<div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{},"page":"/","buildId":"BUILD1"}</script>',
          '<script src="/_next/static/chunks/webpack-5f1c.js" defer></script><script src="/_next/static/chunks/main-3a9b.js" defer></script><script src="/_next/static/BUILD1/_buildManifest.js" defer></script>',
        ),
      },
      '/_next/static/chunks/webpack-5f1c.js': js('(()=>{var r={};r.p="/_next/",r.u=function(e){return"static/chunks/"+(({311:"charts"})[e]||e)+"."+({311:"aa11",771:"bb22"})[e]+".js"}})();'),
      '/_next/static/chunks/main-3a9b.js': js('(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[179],{1:function(){console.log("main")}}]);'),
      '/_next/static/BUILD1/_buildManifest.js': js(
        'self.__BUILD_MANIFEST=function(s){return{"/":[s,"static/chunks/pages/index-1a.js"],"/settings":["static/chunks/pages/settings-9f.js"],sortedPages:["/","/settings"]}}("static/chunks/framework-00.js");self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();',
      ),
      '/_next/static/chunks/framework-00.js': js('/* react */'),
      '/_next/static/chunks/pages/index-1a.js': js('export default function Home(){return null}'),
      '/_next/static/chunks/pages/settings-9f.js': js(`"use strict";\n// settings page\nconst client = { apiKey: "${openai}" };\nexport default client;\n`),
      '/_next/static/chunks/charts.aa11.js': js('export const chart = 1;'),
      '/_next/static/chunks/771.bb22.js': js(`(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[771],{9:function(e,t){t.k="${anthropic}"}}]);`),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('reaches a chunk listed only in _buildManifest.js and reports its key with file URL and line', () => {
    const hit = run.exposure.secrets.find((s) => s.provider === 'OpenAI');
    expect(hit).toMatchObject({ where: 'script', url: `${site.origin}/_next/static/chunks/pages/settings-9f.js`, line: 3, ruleId: 'openai-project-key' });
    expect(run.exposure.files.find((f) => f.url.endsWith('/settings-9f.js'))?.via).toBe('next-build-manifest');
  });

  it('reaches a chunk named only by the webpack runtime chunk map', () => {
    expect(run.exposure.files.find((f) => f.url.endsWith('/771.bb22.js'))?.via).toBe('webpack-chunk-map');
    expect(run.exposure.files.find((f) => f.url.endsWith('/charts.aa11.js'))?.status).toBe(200);
    expect(run.exposure.secrets.find((s) => s.provider === 'Anthropic')?.url).toBe(`${site.origin}/_next/static/chunks/771.bb22.js`);
  });

  it('makes each key a critical finding naming the provider, the place, the redacted key and what to do now', () => {
    const keys = run.findings.filter((f) => f.id === 'key-in-client-code');
    expect(keys).toHaveLength(2);
    const f = keys.find((k) => k.secret?.provider === 'OpenAI')!;
    expect(f.severity).toBe('critical');
    expect(f.secret).toMatchObject({ rule: 'openai-project-key', redacted: `sk-proj-…${last4(openai)}`, revokeUrl: 'https://platform.openai.com/api-keys' });
    expect(f.secret!.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(f.location).toMatchObject({ url: `${site.origin}/_next/static/chunks/pages/settings-9f.js`, line: 3 });
    expect(f.title).toContain('OpenAI');
    expect(f.evidence).toContain(`settings-9f.js:3:`);
    expect(f.evidence).toContain(`sk-proj-…${last4(openai)}`);
    expect(f.recommendation).toMatch(/Revoke it now at https:\/\/platform\.openai\.com\/api-keys/);
    expect(f.recommendation).toContain('keyward gateway');
    expect(f.recommendation).toMatch(/Rotate/);
  });

  it('grades the exposure section F', () => {
    expect(run.tests['keys-in-client-code']).toMatchObject({ result: 'keys-in-client-code-found', pass: false });
    expect(run.grade.grade).toBe('F');
  });

  it('never prints a whole key', () => {
    const out = printable(run);
    expect(out).not.toContain(openai);
    expect(out).not.toContain(anthropic);
    expect(out).not.toContain(openai.slice(8, 40));
  });

  it('fetches no file twice', () => {
    const gets = site.requests.filter((r) => r.startsWith('GET /_next/'));
    expect(new Set(gets).size).toBe(gets.length);
  });
});

describe('a Vite-like site whose key is only in a source map', () => {
  const key = openaiKey();
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;
  const map = (sources: Record<string, string>) =>
    JSON.stringify({ version: 3, file: 'index.js', sources: Object.keys(sources), sourcesContent: Object.values(sources), names: [], mappings: 'AAAA;AACA' });

  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('<div id="app"></div>', '<script type="module" crossorigin src="/assets/index-1.js"></script><link rel="modulepreload" href="/assets/vendor-2.js">') },
      '/assets/index-1.js': js('import"./vendor-2.js";const a=()=>import("./Lazy-3.js");console.log("app",a);\n//# sourceMappingURL=index-1.js.map\n'),
      '/assets/index-1.js.map': js(map({ '../src/main.ts': 'import { ask } from "./api";\nask();\n', '../src/api.ts': `import OpenAI from "openai";\n\nconst KEY = "${key}";\nexport const ask = () => KEY;\n` })),
      '/assets/vendor-2.js': { ...js('export const v=1;'), headers: { SourceMap: '/maps/vendor-2.js.map' } },
      '/maps/vendor-2.js.map': js(JSON.stringify({ version: 3, sources: ['node_modules/vue/index.js'], names: [], mappings: 'AAAA' })),
      // No sourceMappingURL comment (a "hidden" map), but the map is deployed beside the chunk.
      '/assets/Lazy-3.js': js('export default function Lazy(){}'),
      '/assets/Lazy-3.js.map': js(map({ '../src/Lazy.vue': '<template><div/></template>\n' })),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('finds the key in sourcesContent and names the original source file and line', () => {
    expect(run.exposure.secrets).toHaveLength(1);
    expect(run.exposure.secrets[0]).toMatchObject({ where: 'source-map', url: `${site.origin}/assets/index-1.js.map`, source: '../src/api.ts', line: 3, column: 14 });
    const f = run.findings.find((x) => x.id === 'key-in-client-code')!;
    expect(f.location).toMatchObject({ url: `${site.origin}/assets/index-1.js.map`, file: '../src/api.ts', line: 3 });
    expect(f.title).toContain('a public source map');
  });

  it('follows sourceMappingURL comments, SourceMap headers, and guesses hidden maps', () => {
    const vias = Object.fromEntries(run.exposure.sourceMaps.map((m) => [new URL(m.url).pathname, m.via]));
    expect(vias).toEqual({ '/assets/index-1.js.map': 'source-map-comment', '/maps/vendor-2.js.map': 'source-map-header', '/assets/Lazy-3.js.map': 'source-map-guess' });
  });

  it('reports the exposed maps themselves, with sources, as a finding', () => {
    const f = run.findings.find((x) => x.id === 'source-map-exposed-with-sources');
    expect(f?.severity).toBe('medium');
    expect(f?.evidence).toContain('../src/api.ts');
    expect(run.tests['source-maps']?.result).toBe('source-maps-with-sources');
  });

  it('reaches modulepreload links and dynamic imports', () => {
    const via = Object.fromEntries(run.exposure.files.map((f) => [new URL(f.url).pathname, f.via]));
    expect(via['/assets/vendor-2.js']).toBe('modulepreload');
    expect(via['/assets/Lazy-3.js']).toBe('import');
  });

  it('never prints the key', () => {
    expect(printable(run)).not.toContain(key);
  });
});

describe('a site calling api.openai.com straight from the browser', () => {
  const anthropic = anthropicKey();
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;

  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('<main></main>', '<script src="/static/app.js"></script><script>window.__CFG={"REACT_APP_OPENAI_API_KEY":"chat-widget-' + '2024-public","VITE_ANTHROPIC_KEY":"' + anthropic + '"};</script>') },
      '/static/app.js': js(
        [
          'import OpenAI from "openai";',
          'const client = new OpenAI({ apiKey: localStorage.getItem("k"), dangerouslyAllowBrowser: true });',
          'export async function ask(q, userKey) {',
          '  return fetch("https://api.openai.com/v1/chat/completions", { method: "POST",',
          '    headers: { "Content-Type": "application/json", Authorization: `Bearer ${userKey}` },',
          '    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: q }] }) });',
          '}',
          'export const claude = (k) => fetch("https://api.anthropic.com/v1/messages", { headers: { "x-api-key": k, "anthropic-dangerous-direct-browser-access": "true" } });',
        ].join('\n'),
      ),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('reports dangerouslyAllowBrowser, the direct calls and the Anthropic browser header as critical, with no key visible', () => {
    expect(run.exposure.secrets.filter((s) => s.url.endsWith('/app.js'))).toEqual([]);
    const ids = run.findings.filter((f) => f.severity === 'critical').map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(['direct-ai-call-dangerously-allow-browser', 'direct-ai-call-provider-call-with-credential', 'direct-ai-call-anthropic-direct-browser-access']));
    const openai = run.findings.find((f) => f.id === 'direct-ai-call-provider-call-with-credential' && f.title.includes('OpenAI'));
    expect(openai?.location).toMatchObject({ url: `${site.origin}/static/app.js`, line: 4 });
    expect(run.findings.find((f) => f.id === 'direct-ai-call-dangerously-allow-browser')?.location?.line).toBe(2);
  });

  it('reports a credential inlined under a public env name', () => {
    const f = run.findings.find((x) => x.id === 'direct-ai-call-public-env-key-value');
    expect(f?.title).toContain('REACT_APP_OPENAI_API_KEY');
    expect(f?.evidence).not.toContain('widget-2024');
  });

  it('reports a recognised key under a public env name once, as the key', () => {
    expect(run.findings.filter((f) => f.secret?.provider === 'Anthropic')).toHaveLength(1);
    expect(run.findings.filter((f) => f.title.includes('VITE_ANTHROPIC_KEY'))).toEqual([]);
    expect(printable(run)).not.toContain(anthropic);
  });

  it('grades the exposure section F and says to go through a backend', () => {
    expect(run.grade.grade).toBe('F');
    expect(run.findings.find((f) => f.id.startsWith('direct-ai-call'))?.recommendation).toContain('keyward gateway');
  });

  it('sends nothing anywhere but the fixture site', () => {
    expect(run.exposure.files.every((f) => f.url.startsWith(site.origin))).toBe(true);
  });
});

describe('a clean site', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;
  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('<p>hello</p>', '<script src="/app.js"></script><script src="https://cdn.example.invalid/lib.js"></script>') },
      '/app.js': js('document.title = "ok";'),
      '/.well-known/security.txt': { type: 'text/plain', body: 'Contact: mailto:security@example.invalid\nExpires: 2099-01-01T00:00:00Z\n' },
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('has no exposure findings and earns the security.txt bonus', () => {
    expect(run.findings).toEqual([]);
    expect(run.tests['security-txt']).toMatchObject({ result: 'security-txt-present', pass: true });
    expect(run.grade).toEqual({ grade: 'A+', score: 105 });
  });

  it('never fetches a script from another site', () => {
    expect(run.exposure.files.map((f) => f.url)).not.toContain('https://cdn.example.invalid/lib.js');
  });

  it('runs more than 40 probes', () => {
    expect(run.exposure.probes.length).toBeGreaterThan(40);
    expect(run.exposure.probes.every((p) => !p.confirmed || p.id === 'security-txt')).toBe(true);
  });
});

describe('a Google API key in a Firebase web config', () => {
  // Built from parts: 'AIza' + 35 characters is the Google API key format.
  const googleKey = () => 'AI' + 'za' + 'Sy' + Array.from({ length: 33 }, (_, i) => 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-'[(i * 7 + 3) % 38]).join('');
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;
  const firebase = googleKey();

  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('', '<script src="/app.js"></script>') },
      '/app.js': js(`const firebaseConfig = {\n  apiKey: "${firebase}",\n  authDomain: "shop-1.firebaseapp.com",\n  projectId: "shop-1",\n  messagingSenderId: "1234"\n};\ninitializeApp(firebaseConfig);\n`),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('is reported as a key to restrict, not as a leaked secret that fails the site', () => {
    const f = run.findings.find((x) => x.id === 'firebase-web-key-in-client-code');
    expect(f).toMatchObject({ severity: 'medium', location: { url: `${site.origin}/app.js`, line: 2 } });
    expect(f?.secret).toBeUndefined();
    expect(f?.recommendation).toContain('Generative Language');
    expect(run.findings.find((x) => x.id === 'key-in-client-code')).toBeUndefined();
    expect(run.tests['keys-in-client-code']?.result).toBe('keys-in-client-code-public-web-key');
    expect(run.grade.grade).not.toBe('F');
    expect(printable(run)).not.toContain(firebase);
  });
});

describe('a keyward gateway token in client code', () => {
  // Built at run time: kw_ + a 12-hex id + _ + 43 base64url characters is the token's format.
  const id = 'f3a91c07d2b4';
  const token = 'kw' + `_${id}_` + Array.from({ length: 43 }, (_, i) => 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-'[(i * 11 + 5) % 38]).join('');
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;

  beforeAll(async () => {
    site = await startSite({
      '/': { body: html('', '<script src="/chat.js"></script>') },
      '/chat.js': js(`const gateway = "https://ai.example.com";\nconst token = "${token}";\nfetch(gateway + "/api/ai/chat", { method: "POST", headers: { authorization: "Bearer " + token } });\n`),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('is reported as a token to check the scope of, naming the command that rotates it, and does not fail the site', () => {
    const f = run.findings.find((x) => x.id === 'gateway-token-in-client-code');
    expect(f).toMatchObject({ severity: 'medium', location: { url: `${site.origin}/chat.js`, line: 2 } });
    expect(f?.title).toMatch(/^keyward gateway token in client-side JavaScript: kw_…\S{4} — make sure it may call only the app route$/);
    expect(f?.recommendation).toContain('--scopes app');
    expect(f?.recommendation).toContain(`keyward tokens revoke ${id}`);
    expect(f?.secret).toBeUndefined();
    expect(run.findings.find((x) => x.id === 'key-in-client-code')).toBeUndefined();
    expect(run.grade.grade).not.toBe('F');
    expect(printable(run)).not.toContain(token);
  });
});

describe('a tutorial page that shows browser AI calls as code samples', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  let run: ExposureRun;
  beforeAll(async () => {
    const sample = 'const client = new OpenAI({ apiKey: userKey, dangerouslyAllowBrowser: true });\nfetch("https://api.openai.com/v1/responses", { headers: { Authorization: "Bearer " + userKey } });';
    site = await startSite({
      '/': {
        body: html(
          `<h1>Do not do this</h1>\n<pre><code>${sample}</code></pre>\n<p>Use a backend instead.</p>\n<script>\nwindow.chat = () => new OpenAI({ apiKey: k, dangerouslyAllowBrowser: true });\n</script>`,
          '<script src="/docs/page-1.js"></script>',
        ),
      },
      // A docs site compiles its examples into strings of its page chunks.
      '/docs/page-1.js': js(`(self.c=self.c||[]).push([[1],{1:(e,t,r)=>{t.default=()=>(0,r.jsx)("code",{children:${JSON.stringify(sample)}})}}]);`),
    });
    run = await runExposure(`${site.origin}/`);
  });
  afterAll(() => site.close());

  it('ignores the samples in the HTML text and in compiled strings, and reports the page\'s own script at its line', () => {
    const calls = run.exposure.browserAiCalls;
    expect(calls.map((c) => c.kind)).toEqual(['dangerously-allow-browser']);
    expect(calls[0]).toMatchObject({ where: 'page', line: 6 });
  });
});
