/**
 * keyward's site scan beside the MDN HTTP Observatory, on the same loopback targets, in one run:
 * median time a scan through each library (keyward headers-only = the Observatory's work;
 * keyward full = headers + TLS + exposure probes), and each CLI from a cold start.
 *
 *   node --import tsx bench/scan/scan-vs-observatory.ts [--runs N]
 *
 * The Observatory always talks to ports 80 and 443, so the targets bind 127.0.0.1:80/443 (run
 * as root, as here). Both tools trust the test CA through NODE_EXTRA_CA_CERTS: the script
 * re-runs itself with it set. Nothing leaves 127.0.0.1.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(import.meta.dirname, '../..');
const PEERS = join(ROOT, 'bench/peers');
const OBSERVATORY = join(PEERS, 'node_modules/@mdn/mdn-http-observatory');
const KEYWARD_CLI = join(ROOT, 'dist/cli/main.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const CLI_RUNS = Math.max(3, Math.round(RUNS / 2));

if (!process.env.KW_BENCH_CERTS) {
  // Parent: make the certificates, then run the bench with the test CA trusted by Node itself.
  const { testCertificates } = await import('../../test/helpers/certs.js');
  const certs = await testCertificates();
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-scan-'));
  writeFileSync(join(dir, 'ca.pem'), certs.rootCa);
  writeFileSync(join(dir, 'cert.pem'), certs.valid.cert);
  writeFileSync(join(dir, 'key.pem'), certs.valid.key);
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, KW_BENCH_CERTS: dir, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
  });
  process.exit(child.status ?? 1);
}

const certDir = process.env.KW_BENCH_CERTS;
ensurePeers();
ensureBuilt();

type ObservatoryScan = (host: string) => Promise<{ scan: { grade: string; score: number } }>;
const { scan: observatoryScan } = (await import(join(OBSERVATORY, 'src/scanner/index.js'))) as { scan: ObservatoryScan };
const { scanSite } = await import('../../src/scan/scan-site.js');

const WEAK: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', server: 'nginx/1.18.0', 'x-powered-by': 'Express' };
const STRONG: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
const page = '<!doctype html><html><head><title>bench</title><script src="/app.js"></script></head><body><h1>bench</h1></body></html>';

function site(headers: Record<string, string>): RequestListener {
  return (req, res) => {
    if (req.url === '/' || req.url === '/app.js') {
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      if (req.url === '/app.js') res.setHeader('content-type', 'text/javascript');
      return res.end(req.url === '/' ? page : 'console.log("app");');
    }
    res.statusCode = 404;
    res.end('not found');
  };
}

interface Target {
  name: string;
  http: RequestListener;
  https?: RequestListener;
}

const TARGETS: Target[] = [
  { name: 'http only, weak headers', http: site(WEAK) },
  {
    name: 'https + redirect, strong headers',
    http: (req, res) => {
      res.writeHead(301, { location: `https://127.0.0.1${req.url ?? '/'}` });
      res.end();
    },
    https: site(STRONG),
  },
];

async function listen(server: Server, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', fail);
          ok();
        });
      });
      return;
    } catch (err) {
      // Another script (compare:observatory) may hold the port for a while: wait for it.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 60) throw new Error(`cannot bind 127.0.0.1:${port}: ${(err as Error).message} (needs root and a free port)`, { cause: err });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up (first-scan costs: module init, TLS session set-up)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

function timeCli(args: string[]): Promise<number> {
  return new Promise((ok, fail) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      if (code !== 0 && code !== 1) return fail(new Error(`${args.join(' ')} exited ${code}: ${out.slice(0, 200)}`));
      ok(ms);
    });
  });
}

async function timeCliRuns(runs: number, args: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeCli(args));
  return median(times);
}

const rows: string[][] = [];
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const ratio = (peer: number, ours: number) => `${(peer / ours).toFixed(2)}×`;

for (const target of TARGETS) {
  const http = createHttpServer(target.http);
  const https = target.https
    ? createHttpsServer({ cert: readFileSync(join(certDir, 'cert.pem')), key: readFileSync(join(certDir, 'key.pem')) }, target.https)
    : undefined;
  await listen(http, 80);
  if (https) await listen(https, 443);
  try {
    const obs = await observatoryScan('127.0.0.1');
    const kwHeaders = await scanSite('127.0.0.1', { allowPrivate: true, sections: ['headers'] });
    const tObs = await timeIt(RUNS, () => observatoryScan('127.0.0.1'));
    const tHeaders = await timeIt(RUNS, () => scanSite('127.0.0.1', { allowPrivate: true, sections: ['headers'] }));
    const tFull = await timeIt(RUNS, () => scanSite('127.0.0.1', { allowPrivate: true }));
    const cObs = await timeCliRuns(CLI_RUNS, [join(OBSERVATORY, 'src/scan.js'), '127.0.0.1']);
    const cHeaders = await timeCliRuns(CLI_RUNS, [KEYWARD_CLI, 'scan', '--json', '--sections', 'headers', '127.0.0.1']);
    const cFull = await timeCliRuns(CLI_RUNS, [KEYWARD_CLI, 'scan', '--json', '127.0.0.1']);
    rows.push([target.name, 'library, headers only', fmt(tObs), fmt(tHeaders), ratio(tObs, tHeaders), `${obs.scan.grade} / ${kwHeaders.sections.headers?.grade ?? '-'}`]);
    rows.push([target.name, 'library, full scan', fmt(tObs), fmt(tFull), ratio(tObs, tFull), '']);
    rows.push([target.name, 'CLI cold, headers only', fmt(cObs), fmt(cHeaders), ratio(cObs, cHeaders), '']);
    rows.push([target.name, 'CLI cold, full scan', fmt(cObs), fmt(cFull), ratio(cObs, cFull), cFull < 300 ? 'under 300 ms' : 'over 300 ms']);
  } finally {
    await close(http);
    await close(https);
  }
}

const header = ['target', 'measure', 'Observatory', 'keyward', 'speed-up', 'note (grades: Observatory / keyward headers)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
console.log(
  `keyward scan vs MDN HTTP Observatory — medians of ${RUNS} library runs and ${CLI_RUNS} cold CLI runs, loopback, ${process.platform} node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} (absolute times grow with load; the ratios are measured side by side)`,
);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log('speed-up = Observatory time / keyward time (above 1× means keyward is faster). Observatory CLI = its src/scan.js (its npx wrapper adds another Node start).');

function ensurePeers(): void {
  if (!existsSync(join(OBSERVATORY, 'package.json'))) {
    console.error('installing the MDN HTTP Observatory into bench/peers (scripts skipped)…');
    execFileSync('flock', ['/tmp/keyward-npm.lock', 'npm', 'install', '--ignore-scripts', '--prefix', PEERS, '@mdn/mdn-http-observatory'], { stdio: 'inherit' });
  }
  // Its install script would download the HSTS preload list; give it an empty one instead.
  const preload = join(OBSERVATORY, 'conf/hsts-preload.json');
  if (!existsSync(preload)) writeFileSync(preload, '{}\n');
}

/** The CLI as users get it: tsc output plus the bundled scan command (scripts/bundle-cli.mjs). */
function ensureBuilt(): void {
  if (!existsSync(KEYWARD_CLI)) execFileSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
