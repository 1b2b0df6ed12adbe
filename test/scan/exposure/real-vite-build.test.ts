/**
 * A real Vite production build, the way keys really leak: `import.meta.env.VITE_OPENAI_API_KEY`
 * is inlined by the bundler into a lazily loaded chunk. The built site is served as a static
 * host would (dotted folders included) and scanned.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type TestServer } from '../../helpers/http-server.js';
import { printable, runExposure, type ExposureRun } from './run.js';
import { last4, openaiKey } from './sites.js';

async function viteSite(dir: string, options: { sourcemap: boolean; manifest: boolean }): Promise<TestServer> {
  const outDir = join(dir, options.sourcemap ? 'dist-maps' : 'dist');
  await build({ root: dir, logLevel: 'silent', configFile: false, envDir: dir, build: { outDir, sourcemap: options.sourcemap, manifest: options.manifest, emptyOutDir: true } });
  const app = express();
  app.use(express.static(outDir, { dotfiles: 'allow' }));
  return listen(app.listen(0, '127.0.0.1'));
}

describe('a real Vite build with the key in a lazy chunk', () => {
  const key = openaiKey();
  let dir: string;
  let withMaps: TestServer;
  let plain: TestServer;
  let run: ExposureRun;
  let runPlain: ExposureRun;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-vite-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><title>chat</title></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>');
    writeFileSync(join(dir, 'src/main.js'), "document.querySelector('#app').textContent = 'chat';\ndocument.addEventListener('click', async () => {\n  const { ask } = await import('./chat.js');\n  await ask('hello');\n});\n");
    writeFileSync(
      join(dir, 'src/chat.js'),
      "export async function ask(q) {\n  return fetch('https://api.openai.com/v1/chat/completions', {\n    method: 'POST',\n    headers: { Authorization: `Bearer ${import.meta.env.VITE_OPENAI_API_KEY}` },\n    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] }),\n  });\n}\n",
    );
    writeFileSync(join(dir, '.env'), `VITE_OPENAI_API_KEY=${key}\n`);
    [withMaps, plain] = [await viteSite(dir, { sourcemap: true, manifest: true }), await viteSite(dir, { sourcemap: false, manifest: false })];
    [run, runPlain] = await Promise.all([runExposure(`${withMaps.origin}/`), runExposure(`${plain.origin}/`)]);
  });
  afterAll(async () => {
    await withMaps?.close();
    await plain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the inlined key in the lazy chunk that only a dynamic import names', () => {
    for (const r of [run, runPlain]) {
      const f = r.findings.find((x) => x.id === 'key-in-client-code');
      expect(f?.secret).toMatchObject({ provider: 'OpenAI', redacted: `sk-proj-…${last4(key)}` });
      expect(f?.location?.url).toMatch(/\/assets\/chat-[\w-]+\.js$/);
      expect(r.grade.grade).toBe('F');
      expect(printable(r)).not.toContain(key);
    }
  });

  it('reports the direct call to api.openai.com built in the bundle', () => {
    expect(runPlain.findings.map((f) => f.id)).toContain('direct-ai-call-provider-call-with-credential');
  });

  it('reports the source maps and reads the build manifest when they are deployed', () => {
    expect(run.findings.find((f) => f.id === 'source-map-exposed-with-sources')?.evidence).toContain('src/chat.js');
    expect(run.exposure.files.find((f) => f.url.endsWith('/.vite/manifest.json'))?.error).toBeUndefined();
    expect(runPlain.findings.find((f) => f.id.startsWith('source-map'))).toBeUndefined();
  });
});
