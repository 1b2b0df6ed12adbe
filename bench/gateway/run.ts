/**
 * keyward gateway vs a bare node:http + undici passthrough vs the Portkey gateway, all in front of the
 * same fake upstream on 127.0.0.1, in one run; with them the policy floor (policy-floor.mjs), the least
 * a proxy can do to keep the same policies, to show what of keyward's cost the policies alone take.
 * Reports the latency each proxy adds over calling the upstream directly (p50, p99), throughput, and
 * time to the first streamed chunk, at concurrency 1, 16, 64.
 *
 *   node --import tsx bench/gateway/run.ts [--seconds 2] [--rounds 3] [--warmup 8] [--json]
 *
 * keyward runs with auth, per-user and per-IP limits, tokens per minute, user and global budgets and the
 * SQLite ledger all on, on the in-memory store, and again on Redis when redis-server is installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { hasProgram } from '../../test/helpers/programs.js';
import { freePort, startRedis, type TestRedis } from '../../test/helpers/redis-server.js';
import { redisFloor } from './redis-floor.js';
import { fakeOpenAiKey } from '../../test/gateway/helpers/keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PORTKEY = resolve(ROOT, 'bench/peers/node_modules/@portkey-ai/gateway/build/start-server.js');
const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] || process.env.BENCH_SECONDS || 2) || 2;
const JSON_OUT = args.includes('--json');
/** Each cell is measured in this many rounds, the targets taken in turn (rotating order), so a burst of other load on the machine falls on all of them alike. */
const ROUNDS = Math.max(1, Number(args[args.indexOf('--rounds') + 1] || 0) || 3);
/**
 * Seconds of load each target gets, plain and streaming, before anything is measured: V8 keeps
 * compiling a proxy's hot code for several seconds on two busy cores, and that one-time cost would
 * otherwise land on the first cells, more so for a proxy with more code than a dozen lines.
 */
const WARMUP = args.includes('--warmup') ? Math.max(0, Number(args[args.indexOf('--warmup') + 1]) || 0) : 8;
const CONCURRENCY = [1, 16, 64];
const key = fakeOpenAiKey();
const children: ChildProcess[] = [];

function spawnTarget(argv: string[], env: Record<string, string> = {}): Promise<{ port: number; token?: string; child: ChildProcess }> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, BENCH_PROVIDER_KEY: key, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)(?: (\S+))?/.exec(out);
      if (m) ok({ port: Number(m[1]), token: m[2], child });
    });
    child.once('exit', (code) => fail(new Error(`${argv.join(' ')} exited ${code}: ${err.slice(0, 2000)}`)));
  });
}

async function waitHttp(origin: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(origin);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${origin} did not come up`);
}

async function startPortkey(upstream: string): Promise<Target | undefined> {
  if (!existsSync(PORTKEY)) {
    process.stderr.write('installing the Portkey gateway into bench/peers …\n');
    const r = spawnSync('flock', ['/tmp/keyward-npm.lock', 'npm', 'install', '--ignore-scripts', '--prefix', 'bench/peers'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(PORTKEY)) {
      process.stderr.write('Portkey could not be installed; skipping it\n');
      return undefined;
    }
  }
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', resolve(ROOT, 'bench/gateway/loopback-only.mjs'), PORTKEY, `--port=${port}`, '--headless'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  const origin = `http://127.0.0.1:${port}`;
  await waitHttp(origin);
  return {
    name: 'portkey',
    origin,
    headers: { authorization: `Bearer ${key}`, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1` },
    pid: child.pid,
  };
}

/** keyward is measured as shipped (dist/, compiled by tsc): build it when src/ is newer. */
function buildIfStale(): void {
  const built = resolve(ROOT, 'dist/gateway/index.js');
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  if (existsSync(built) && statSync(built).mtimeMs >= newest(resolve(ROOT, 'src'))) return;
  process.stderr.write('building dist/ (tsc) …\n');
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the build failed; run npm run build to see why');
}

interface Target {
  name: string;
  origin: string;
  headers: Record<string, string>;
  /** The proxy's process, to measure its CPU time per request (robust on a busy machine). */
  pid?: number;
}

/** User + system CPU time of a process, in ms (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Cell {
  target: string;
  mode: 'plain' | 'stream';
  concurrency: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  /** Proxy CPU time per request, µs. */
  cpuUs?: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Sample {
  lat: number[];
  errors: number;
  elapsed: number;
  cpuMs?: number;
}

async function measure(t: Target, mode: 'plain' | 'stream', concurrency: number, seconds: number, warm: boolean): Promise<Sample> {
  const pool = new Pool(t.origin, { connections: concurrency, keepAliveTimeout: 30_000 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in one short sentence.' }], max_tokens: 64, ...(mode === 'stream' ? { stream: true } : {}) });
  const headers = { 'content-type': 'application/json', ...t.headers };
  const lat: number[] = [];
  let errors = 0;
  const one = async (record: boolean) => {
    const t0 = performance.now();
    try {
      const r = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
      let first = 0;
      for await (const _chunk of r.body) if (first === 0) first = performance.now();
      if (r.statusCode !== 200) throw new Error(String(r.statusCode));
      if (record) lat.push((mode === 'stream' ? first : performance.now()) - t0);
    } catch {
      errors++;
    }
  };
  // Open the connections; on the first round also long enough for the JIT to settle, or the first cells measure compilation.
  const warmEnd = performance.now() + (warm ? Math.max(1000, SECONDS * 500) : 150);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmEnd) await one(false);
  }));
  errors = 0;
  const cpu0 = cpuMs(t.pid);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await one(true);
  }));
  const elapsed = (performance.now() - start) / 1000;
  const cpu1 = cpuMs(t.pid);
  await pool.close();
  return { lat, errors, elapsed, cpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined };
}

/** One cell from its rounds: percentiles over every request, throughput and CPU over the whole time. */
function combine(t: Target, mode: 'plain' | 'stream', concurrency: number, samples: Sample[]): Cell {
  const lat = samples.flatMap((x) => x.lat).sort((a, b) => a - b);
  const elapsed = samples.reduce((n, x) => n + x.elapsed, 0);
  const cpu = samples.every((x) => x.cpuMs !== undefined) ? samples.reduce((n, x) => n + x.cpuMs!, 0) : undefined;
  return {
    target: t.name,
    mode,
    concurrency,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    rps: lat.length / elapsed,
    errors: samples.reduce((n, x) => n + x.errors, 0),
    cpuUs: cpu !== undefined && lat.length > 0 ? (cpu * 1000) / lat.length : undefined,
  };
}

const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '—');

/** A target's added latency over bare's, the upstream called directly being `d`. */
function addedVsBare(x: Cell, b: Cell, d: Cell): number {
  return (x.p50 - d.p50) / Math.max(b.p50 - d.p50, 0.01);
}

/** The cells where a target's added latency is over 1.25× bare's, or its throughput under 1/1.25 of bare's. */
function outsideTarget(name: string, get: (name: string, mode: string, c: number) => Cell | undefined): string[] {
  const out: string[] = [];
  for (const mode of ['plain', 'stream']) {
    for (const c of CONCURRENCY) {
      const d = get('direct', mode, c)!;
      const b = get('bare', mode, c)!;
      const x = get(name, mode, c)!;
      const added = addedVsBare(x, b, d);
      if (added > 1.25) out.push(`${mode} c=${c} added ${f(added)}×`);
      if (x.rps < b.rps / 1.25) out.push(`${mode} c=${c} req/s ${f(x.rps / b.rps)}×`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  let redis: TestRedis | undefined;
  buildIfStale();
  const up = await spawnTarget(['--import', 'tsx', 'bench/gateway/targets.ts']);
  const upstream = `http://127.0.0.1:${up.port}`;
  const targets: Target[] = [{ name: 'direct', origin: upstream, headers: { authorization: `Bearer ${key}` } }];
  const bare = await spawnTarget(['bench/gateway/proxies.mjs', 'passthrough', upstream]);
  targets.push({ name: 'bare', origin: `http://127.0.0.1:${bare.port}`, headers: { authorization: `Bearer ${key}` }, pid: bare.child.pid });
  const floor = await spawnTarget(['bench/gateway/proxies.mjs', 'floor', upstream]);
  targets.push({ name: 'floor', origin: `http://127.0.0.1:${floor.port}`, headers: { authorization: `Bearer ${floor.token}` }, pid: floor.child.pid });
  const kw = await spawnTarget(['bench/gateway/proxies.mjs', 'keyward', upstream]);
  targets.push({ name: 'keyward', origin: `http://127.0.0.1:${kw.port}`, headers: { authorization: `Bearer ${kw.token}` }, pid: kw.child.pid });
  if (hasProgram('redis-server')) {
    redis = await startRedis();
    const kr = await spawnTarget(['bench/gateway/proxies.mjs', 'keyward', upstream, redis.url]);
    targets.push({ name: 'keyward+redis', origin: `http://127.0.0.1:${kr.port}`, headers: { authorization: `Bearer ${kr.token}` }, pid: kr.child.pid });
  } else process.stderr.write('redis-server not installed: skipping keyward+redis (apt-get install -y redis-server)\n');
  const pk = await startPortkey(upstream);
  if (pk) targets.push(pk);

  if (WARMUP > 0) {
    process.stderr.write(`warming up each target for ${WARMUP}s\n`);
    for (const t of targets) {
      await measure(t, 'plain', 16, WARMUP / 2, false);
      await measure(t, 'stream', 16, WARMUP / 2, false);
    }
  }
  const cells: Cell[] = [];
  for (const mode of ['plain', 'stream'] as const) {
    for (const c of CONCURRENCY) {
      const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const t of order) samples.get(t)!.push(await measure(t, mode, c, SECONDS / ROUNDS, round === 0));
      }
      for (const t of targets) {
        const cell = combine(t, mode, c, samples.get(t)!);
        cells.push(cell);
        process.stderr.write(`  ${mode} c=${c} ${t.name}: p50 ${f(cell.p50)} ms, ${f(cell.rps, 0)} req/s${cell.errors ? `, ${cell.errors} errors` : ''}\n`);
      }
    }
  }

  const get = (name: string, mode: string, c: number) => cells.find((x) => x.target === name && x.mode === mode && x.concurrency === c);
  const lines: string[] = [];
  lines.push(`keyward gateway benchmark: ${SECONDS}s a cell in ${ROUNDS} rounds (targets in turn) after ${WARMUP}s of warm-up each, fake upstream on 127.0.0.1 (stream: p50 is time to first chunk)`);
  lines.push('');
  lines.push('| mode | conc | target | p50 ms | p99 ms | added p50 ms | req/s | proxy CPU µs/req | added vs bare | req/s vs bare | CPU vs bare | req/s vs portkey |');
  lines.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of ['plain', 'stream']) {
    for (const c of CONCURRENCY) {
      const d = get('direct', mode, c)!;
      const b = get('bare', mode, c)!;
      const p = get('portkey', mode, c);
      for (const t of targets) {
        const x = get(t.name, mode, c)!;
        const added = x.p50 - d.p50;
        const vsBare = t.name === 'direct' || t.name === 'bare' ? '' : `${f(addedVsBare(x, b, d))}×`;
        const rpsBare = t.name === 'direct' ? '' : `${f(x.rps / b.rps)}×`;
        const rpsPk = p && t.name.startsWith('keyward') ? `${f(x.rps / p.rps)}×` : '';
        const cpuBare = x.cpuUs !== undefined && b.cpuUs !== undefined && t.name !== 'bare' ? `${f(x.cpuUs / b.cpuUs)}×` : '';
        lines.push(`| ${mode} | ${c} | ${t.name} | ${f(x.p50)} | ${f(x.p99)} | ${t.name === 'direct' ? '' : f(added)} | ${f(x.rps, 0)} | ${x.cpuUs !== undefined ? f(x.cpuUs, 0) : ''} | ${vsBare} | ${rpsBare} | ${cpuBare} | ${rpsPk} |`);
      }
    }
  }
  lines.push('');
  lines.push('On a shared 2-core machine wall-clock figures swing with other load; proxy CPU per request (from /proc) is the steadier measure of what each proxy costs.');
  lines.push('Targets (issue 4): keyward added latency and throughput within 1.25× of bare at every concurrency (1.5× on Redis), ≥ 3× Portkey throughput, first chunk within 2 ms of direct.');
  for (const name of ['keyward', 'floor']) {
    const missed = outsideTarget(name, get);
    lines.push(`${name === 'floor' ? 'The policy floor' : 'keyward'} is outside 1.25× of bare in ${missed.length} of 12 checks of this run${missed.length ? `: ${missed.join(', ')}` : ''}.`);
  }
  if (redis) {
    // Measured with the proxies idle, after the cells.
    const floor = await redisFloor(redis.url);
    const bareAdded = get('bare', 'plain', 1)!.p50 - get('direct', 'plain', 1)!.p50;
    const room = bareAdded * 0.5;
    lines.push(
      `Redis floor at c=1: an exact admission is one round trip, p50 ${f(floor.admitMs, 3)} ms (a bare PING: ${f(floor.pingMs, 3)} ms); bare adds ${f(bareAdded, 3)} ms at plain c=1, so 1.5× leaves ${f(room, 3)} ms for all keyward does beyond bare, that round trip included: ${floor.pingMs > room ? 'even a bare PING takes longer, so no exact shared limit can meet the Redis target at c=1 here' : floor.admitMs > room ? "keyward's admission alone takes longer than that" : "room enough for keyward's admission"}.`,
    );
  }
  if (JSON_OUT) process.stdout.write(JSON.stringify({ seconds: SECONDS, cells }, null, 2) + '\n');
  else process.stdout.write(lines.join('\n') + '\n');
  if (redis) await redis.stop();
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

main()
  .then(cleanup, (err: unknown) => {
    cleanup();
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
