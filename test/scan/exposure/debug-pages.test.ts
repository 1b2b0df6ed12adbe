/**
 * Debug pages and stack traces, provoked by a 404, an undecodable path and a malformed JSON
 * body. Express is the real thing (its default error handler outside production); the other
 * frameworks answer with the fixed texts of their own debug pages.
 */
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type TestServer } from '../../helpers/http-server.js';
import { printable, runExposure } from './run.js';
import { html, openaiKey, startSite } from './sites.js';

interface Case {
  framework: string;
  kind: 'debugger' | 'debug-page' | 'stack-trace';
  trigger: string;
  status: number;
  body: string;
}

const CASES: Case[] = [
  {
    framework: 'Django',
    kind: 'debug-page',
    trigger: 'not-found',
    status: 404,
    body: html(
      '<div id="summary"><h1>Page not found <span>(404)</span></h1></div><div id="info"><p>Using the URLconf defined in <code>shop.urls</code>, Django tried these URL patterns, in this order:</p></div>' +
        '<div id="explanation"><p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p></div>',
    ),
  },
  {
    framework: 'Werkzeug/Flask',
    kind: 'debugger',
    trigger: 'not-found',
    status: 500,
    body: '<!doctype html><html><head><title>ZeroDivisionError: division by zero // Werkzeug Debugger</title></head><body><div class="debugger"><h1>ZeroDivisionError</h1><p class="errormsg">division by zero</p><h2 class="traceback">Traceback <em>(most recent call last)</em></h2></div></body></html>',
  },
  {
    framework: 'Laravel',
    kind: 'debug-page',
    trigger: 'not-found',
    status: 500,
    body: html('<div class="trace">ErrorException: Undefined variable $cart in /var/www/app/Http/Controllers/CartController.php:14\n#0 /var/www/vendor/laravel/framework/src/Illuminate\\Foundation\\Bootstrap\\HandleExceptions.php(255)</div>'),
  },
  {
    framework: 'Rails',
    kind: 'debug-page',
    trigger: 'not-found',
    status: 404,
    body: html('<header><h1>Routing Error</h1></header><div id="container"><h2 style="margin-top: 30px">No route matches [GET] &quot;/keyward&quot;</h2><p><code>Rails.root: /srv/shop</code></p></div>'),
  },
  {
    framework: 'Spring',
    kind: 'stack-trace',
    trigger: 'not-found',
    status: 500,
    body: '{"timestamp":"2026-01-01T00:00:00.000+00:00","status":500,"error":"Internal Server Error","trace":"java.lang.IllegalStateException: no cart\\n\\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)\\n","path":"/keyward"}',
  },
  {
    framework: 'ASP.NET',
    kind: 'debug-page',
    trigger: 'not-found',
    status: 500,
    body: "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.<hr width=100% size=1 color=silver></h1><h2><i>Runtime Error</i></h2><b> Stack Trace: </b></body></html>",
  },
];

describe.each(CASES)('a $framework site with debug output on', (c) => {
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeAll(async () => {
    site = await startSite({ '/': { body: html('<p>home</p>') } }, { notFound: { status: c.status, type: c.body.startsWith('{') ? 'application/json' : 'text/html', body: c.body } });
  });
  afterAll(() => site.close());

  it(`recognises the ${c.framework} ${c.kind} and reports it once`, async () => {
    const run = await runExposure(`${site.origin}/`);
    expect(run.exposure.debugPages).toHaveLength(1);
    expect(run.exposure.debugPages[0]).toMatchObject({ framework: c.framework, kind: c.kind, trigger: c.trigger, status: c.status });
    const f = run.findings.find((x) => x.id === (c.kind === 'debugger' ? 'debugger-exposed' : c.kind === 'debug-page' ? 'debug-mode-on' : 'stack-trace-exposed'));
    expect(f?.severity).toBe(c.kind === 'debugger' ? 'critical' : c.kind === 'debug-page' ? 'high' : 'medium');
    expect(f?.recommendation).not.toMatch(/^Turn debug output off/);
  });
});

describe('a real Express app outside production', () => {
  let server: TestServer;
  const key = openaiKey();
  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.get('/', (_req, res) => {
      res.type('html').send(html('<p>api</p>'));
    });
    app.post('/', (req, res) => {
      res.json({ ok: req.body !== undefined });
    });
    app.get('/boom', () => {
      throw new Error(`upstream refused key ${key.slice(0, 3)}`);
    });
    server = await listen(app.listen(0, '127.0.0.1'));
  });
  afterAll(() => server.close());

  it('shows a stack trace for a malformed JSON body, and keyward reports it', async () => {
    const run = await runExposure(`${server.origin}/`);
    expect(run.exposure.debugPages).toEqual([
      expect.objectContaining({ framework: 'Express/Node.js', kind: 'stack-trace', trigger: 'malformed-body', status: 400 }),
    ]);
    const f = run.findings.find((x) => x.id === 'stack-trace-exposed');
    expect(f?.title).toContain('POST with malformed JSON');
    expect(f?.recommendation).toContain('NODE_ENV=production');
    expect(printable(run)).not.toContain(key);
  });

  it('reports nothing once the app runs in production mode', async () => {
    const app = express();
    app.set('env', 'production');
    app.use(express.json());
    app.get('/', (_req, res) => {
      res.type('html').send(html('<p>api</p>'));
    });
    const prod = await listen(app.listen(0, '127.0.0.1'));
    try {
      const run = await runExposure(`${prod.origin}/`);
      expect(run.exposure.debugPages).toEqual([]);
    } finally {
      await prod.close();
    }
  });
});

describe('a debug page that prints settings', () => {
  const key = openaiKey();
  let site: Awaited<ReturnType<typeof startSite>>;
  beforeAll(async () => {
    const body = html(
      `<p>Using the URLconf defined in <code>shop.urls</code>, Django tried these URL patterns:</p>\n<table id="settings"><tr><td>OPENAI_API_KEY</td><td class="code"><pre>'${key}'</pre></td></tr></table>`,
    );
    site = await startSite({ '/': { body: html('<p>home</p>') } }, { notFound: { status: 404, body } });
  });
  afterAll(() => site.close());

  it('reports the key it shows as a secret in an exposed page, redacted', async () => {
    const run = await runExposure(`${site.origin}/`);
    const f = run.findings.find((x) => x.id === 'secret-in-exposed-file');
    expect(f).toMatchObject({ severity: 'critical', secret: { provider: 'OpenAI' }, location: { line: 2 } });
    expect(run.findings.filter((x) => x.secret)).toHaveLength(1);
    expect(printable(run)).not.toContain(key);
  });
});
