/**
 * `keyward demo` (what `npm start` runs): starts a deliberately weak site on 127.0.0.1, scans
 * it with `keyward scan`'s engine and prints the report. The site's OpenAI key is made up at
 * run time (never a real key, never written in this file) and shows up redacted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

function fakeOpenAiKey(): string {
  const part = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
  // The shape of an OpenAI project key, including its base64 "OpenAI" marker, built from parts.
  return 'sk-' + 'proj-' + part(58) + 'T3Blbk' + 'FJ' + part(58);
}

function weakSite(key: string): Server {
  const page = `<!doctype html>
<html><head><title>Acme AI chat</title>
<script>window.analytics = { id: "demo" };</script>
<script src="https://cdn.example.net/widget.js"></script>
</head><body><div id="chat"></div><script src="/assets/app.js"></script></body></html>`;
  const app = `// A chat widget that calls OpenAI straight from the browser: the mistake keyward exists for.
const OPENAI_API_KEY = "${key}";
export async function ask(question) {
  const res = await fetch("https://api.openai.com/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + OPENAI_API_KEY },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] }),
  });
  return res.json();
}
`;
  return createServer((req, res) => {
    res.setHeader('Server', 'nginx/1.18.0');
    res.setHeader('X-Powered-By', 'Express 4.17.1');
    res.setHeader('X-XSS-Protection', '1; mode=block');
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.url === '/' || req.url === '/index.html') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Content-Security-Policy', "script-src 'self' 'unsafe-inline' https:");
      res.setHeader('Set-Cookie', 'session=d3m0s3ss10n; Path=/');
      res.end(page);
    } else if (req.url === '/assets/app.js') {
      res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
      res.end(app);
    } else {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain');
      res.end('not found');
    }
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('Usage: keyward demo\n\nStarts a deliberately weak site on 127.0.0.1, scans it and prints the report.\n');
    return 0;
  }
  const server = weakSite(fakeOpenAiKey());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  try {
    process.stdout.write(`keyward demo: a deliberately weak site is running at ${url} (weak headers, an OpenAI key made up for this run in its JavaScript).\nScanning it as \`keyward scan ${url}\` would:\n\n`);
    const { scanSite } = await import('../scan/scan-site.js');
    const { renderTerminal } = await import('../scan/report/terminal.js');
    const report = await scanSite(url, { allowPrivate: true });
    process.stdout.write(renderTerminal(report, { color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
    process.stdout.write('\nTry it on your own site: npx keyward scan https://your-site.example\n');
    return 0;
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
