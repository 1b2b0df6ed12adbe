/**
 * The TLS probe against sslscan on the same loopback fixtures, in one run: median wall time a
 * target (keyward's gatherTls in-process; sslscan as a process, as users run it), keyward's
 * client CPU time, handshakes, and the ratio.
 *
 *   node --import tsx bench/tls/probe.ts [--runs N]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createFetchContext } from '../../src/scan/fetch/context.js';
import { gatherTls } from '../../src/scan/tls/gather.js';
import { startHttpsServer, testCertificates } from '../../test/helpers/certs.js';
import { hasProgram } from '../../test/helpers/programs.js';
import { TLS_FIXTURES } from '../../test/helpers/tls-fixtures.js';

const run = promisify(execFile);
const BENCHED = ['modern', 'node-default', 'legacy-tls10-11', 'expired'];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 5) : 5;
  const withSslscan = hasProgram('sslscan');
  if (!withSslscan) console.log('sslscan is not installed (apt-get install -y sslscan): keyward alone.\n');
  const certs = await testCertificates();
  const rows: string[][] = [];
  for (const name of BENCHED) {
    const fx = TLS_FIXTURES.find((f) => f.name === name)!;
    const server = await startHttpsServer(undefined, fx.server(certs));
    const wall: number[] = [];
    const cpu: number[] = [];
    const peer: number[] = [];
    let handshakes = 0;
    try {
      for (let i = 0; i < runs + 1; i++) {
        const ctx = createFetchContext({ allowPrivate: true, resolve: [`localhost:${server.port}:127.0.0.1`], ca: certs.rootCa });
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const facts = await gatherTls(ctx, new URL(`https://localhost:${server.port}/`));
        const t1 = performance.now();
        const c = process.cpuUsage(c0);
        ctx.close();
        handshakes = facts.handshakes;
        if (i === 0) continue; // warm-up: secure contexts and root store
        wall.push(t1 - t0);
        // Includes the fixture server's share: it runs in this process.
        cpu.push((c.user + c.system) / 1000);
        if (withSslscan) {
          const s0 = performance.now();
          await run('sslscan', ['--no-colour', '--sni-name=localhost', `127.0.0.1:${server.port}`], { maxBuffer: 16 << 20 });
          peer.push(performance.now() - s0);
        }
      }
    } finally {
      await server.close();
    }
    const kw = median(wall);
    const ss = median(peer);
    rows.push([name, String(handshakes), kw.toFixed(0), median(cpu).toFixed(0), withSslscan ? ss.toFixed(0) : '-', withSslscan ? `${(kw / ss).toFixed(2)}×` : '-']);
  }
  const header = ['fixture', 'handshakes', 'keyward ms', 'CPU ms (incl. server)', 'sslscan ms', 'keyward/sslscan'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(`TLS probe, median of ${runs} run(s) a target, loopback`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
