/**
 * A realistic local site for the full-scan bench: HTTPS with a test CA, good security headers, a
 * Next.js-like bundle (runtime, framework, app and page chunks, a build manifest with lazy pages,
 * webpack chunk map, source maps with sources) of about 2.5 MB, one key (built from parts) in a
 * lazy chunk, security.txt, and a plain-http port that redirects to HTTPS. Every other path is a
 * 404, optionally slow, as a dynamic app's 404 often is.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHttpsServer, testCertificates } from '../../test/helpers/certs.js';

export interface RealisticSite {
  /** `https://localhost:PORT/` */
  url: string;
  httpsPort: number;
  httpPort: number;
  rootCa: string;
  files: number;
  bytes: number;
  /** Delay of every unknown path (probe paths, missing chunks), ms; can be changed between runs. */
  setSlowMs(ms: number): void;
  close(): Promise<void>;
}

/** Pseudo-minified code: varied enough not to look like one repeated line, `size` characters long. */
function bundle(name: string, size: number): string {
  const parts: string[] = [`"use strict";(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([["${name}"],{`];
  let n = 0;
  let len = parts[0]!.length;
  while (len < size) {
    const id = randomBytes(3).toString('hex');
    const s = `${n}:function(e,t,r){var a${id}=r(${n % 97}),o=function(e){return e&&e.__esModule?e:{default:e}};t.render${id}=function(n){return(0,a${id}.jsx)("div",{className:"c-${id}",children:[n.title,"${id}"]})}},`;
    parts.push(s);
    len += s.length;
    n++;
  }
  parts.push('}]);');
  return parts.join('');
}

function sourceMap(file: string, sources: number): string {
  const names = Array.from({ length: sources }, (_, i) => `webpack://_N_E/./src/components/Part${i}.tsx`);
  const contents = names.map((_, i) => `import React from "react";\n\nexport function Part${i}({ title }: { title: string }) {\n  return <div className="part-${i}">{title}</div>;\n}\n`.repeat(20));
  return JSON.stringify({ version: 3, file, sources: names, sourcesContent: contents, names: [], mappings: 'AAAA;'.repeat(2000) });
}

export async function startRealisticSite(): Promise<RealisticSite> {
  const certs = await testCertificates();
  const key = 'sk-' + 'proj-' + randomBytes(44).toString('base64url').slice(0, 58) + 'T3Blbk' + 'FJ' + randomBytes(44).toString('base64url').slice(0, 58);
  const routes = new Map<string, { type: string; body: string }>();
  const js = (path: string, body: string) => routes.set(path, { type: 'application/javascript; charset=utf-8', body });
  const build = 'b7Kd1x';

  const pages = ['index', 'pricing', 'docs', 'blog', 'account', 'settings', 'chat', 'login'];
  js('/_next/static/chunks/webpack-4c1f.js', `(()=>{var r={};r.p="/_next/",r.u=function(e){return"static/chunks/"+e+"."+{101:"a1",102:"b2",103:"c3",104:"d4",105:"e5",106:"f6"}[e]+".js"}})();`);
  js('/_next/static/chunks/framework-2f0a.js', bundle('framework', 300_000) + '\n//# sourceMappingURL=framework-2f0a.js.map');
  routes.set('/_next/static/chunks/framework-2f0a.js.map', { type: 'application/json', body: sourceMap('framework-2f0a.js', 60) });
  js('/_next/static/chunks/main-9d3e.js', bundle('main', 110_000) + '\n//# sourceMappingURL=main-9d3e.js.map');
  routes.set('/_next/static/chunks/main-9d3e.js.map', { type: 'application/json', body: sourceMap('main-9d3e.js', 40) });
  js('/_next/static/chunks/pages/_app-77aa.js', bundle('app', 160_000));
  for (const p of pages) js(`/_next/static/chunks/pages/${p}-${p.length}f.js`, bundle(p, 45_000) + (p === 'chat' ? `\nconst client={apiKey:"${key}"};` : ''));
  for (const [id, h] of [[101, 'a1'], [102, 'b2'], [103, 'c3'], [104, 'd4'], [105, 'e5'], [106, 'f6']] as const) js(`/_next/static/chunks/${id}.${h}.js`, bundle(String(id), 30_000));
  js(
    `/_next/static/${build}/_buildManifest.js`,
    `self.__BUILD_MANIFEST={${pages.map((p) => `"/${p === 'index' ? '' : p}":["static/chunks/pages/${p}-${p.length}f.js"]`).join(',')},sortedPages:[]};self.__BUILD_MANIFEST_CB&&self.__BUILD_MANIFEST_CB();`,
  );
  js(`/_next/static/${build}/_ssgManifest.js`, 'self.__SSG_MANIFEST=new Set;self.__SSG_MANIFEST_CB&&self.__SSG_MANIFEST_CB();');
  routes.set('/.well-known/security.txt', { type: 'text/plain', body: 'Contact: mailto:security@example.invalid\nExpires: 2099-01-01T00:00:00Z\n' });
  const scripts = ['webpack-4c1f', 'framework-2f0a', 'main-9d3e', 'pages/_app-77aa', 'pages/index-5f'].map((s) => `<script src="/_next/static/chunks/${s}.js" defer></script>`).join('');
  routes.set('/', {
    type: 'text/html; charset=utf-8',
    body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Acme AI</title>${scripts}<script src="/_next/static/${build}/_buildManifest.js" defer></script><script src="/_next/static/${build}/_ssgManifest.js" defer></script></head><body><div id="__next"><h1>Acme AI</h1></div><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/","query":{},"buildId":"${build}"}</script></body></html>`,
  });

  const headers = {
    'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
    'content-security-policy': "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  };
  let slowMs = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = req.method === 'GET' ? routes.get(path) : undefined;
    req.resume();
    const send = () => {
      if (route) {
        res.writeHead(200, { 'content-type': route.type, ...headers });
        res.end(route.body);
      } else {
        res.writeHead(404, { 'content-type': 'text/html; charset=utf-8', ...headers });
        res.end('<!DOCTYPE html><html><head><title>404: This page could not be found</title></head><body><h1>404</h1></body></html>');
      }
    };
    if (!route && slowMs > 0) setTimeout(send, slowMs);
    else send();
  };
  const https = await startHttpsServer(handler, { cert: certs.valid.cert, key: certs.valid.key, alpnProtocols: ['http/1.1'] });
  const http = createServer((req, res) => {
    res.writeHead(301, { location: `https://localhost:${https.port}${req.url ?? '/'}` });
    res.end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const httpPort = (http.address() as AddressInfo).port;
  let bytes = 0;
  for (const r of routes.values()) bytes += Buffer.byteLength(r.body);
  return {
    url: `${https.localhostOrigin}/`,
    httpsPort: https.port,
    httpPort,
    rootCa: certs.rootCa,
    files: routes.size,
    bytes,
    setSlowMs: (ms) => {
      slowMs = ms;
    },
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await https.close();
    },
  };
}
