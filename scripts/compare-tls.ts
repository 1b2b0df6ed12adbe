/**
 * `npm run compare:tls`: the TLS fixtures of test/helpers/tls-fixtures.ts, each probed by
 * sslscan (Debian package) and by keyward's TLS probe in the same run, side by side:
 * protocols, accepted suites, weak suites, certificate facts, and the time each took.
 * Differences are explained in docs/scoring.md ("TLS").
 *
 *   node --import tsx scripts/compare-tls.ts [--runs N]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hasProgram } from '../test/helpers/programs.js';
import { startHttpsServer, testCertificates } from '../test/helpers/certs.js';
import { TLS_FIXTURES } from '../test/helpers/tls-fixtures.js';
import { CHECKS } from '../src/scan/checks/index.js';
import { createFetchContext } from '../src/scan/fetch/context.js';
import { TLS_VERSIONS, type TlsFacts } from '../src/scan/tls/facts.js';
import { gatherTls } from '../src/scan/tls/gather.js';
import { rateTls } from '../src/scan/tls/grade.js';
import type { ScanFacts, TestResult } from '../src/scan/types.js';

const run = promisify(execFile);

interface Seen {
  protocols: string[];
  suites: Set<string>;
  /** Suites without forward secrecy or in CBC mode. */
  weak: Set<string>;
  key: string;
  signature: string;
  expired: boolean;
  selfSigned: boolean;
  /** Smallest DHE group seen, bits ('-' without DHE). */
  minDh: string;
}

const VERSION_OF: Record<string, string> = { TLSv1: '1.0', 'TLSv1.1': '1.1', 'TLSv1.2': '1.2', 'TLSv1.3': '1.3' };
const isWeakName = (name: string): boolean => !/^TLS_/.test(name) && (!/^(ECDHE|DHE)-/.test(name) || !/GCM|CHACHA20|CCM/.test(name));

function fromKeyward(tls: TlsFacts): Seen {
  const leaf = tls.chain[0];
  return {
    protocols: TLS_VERSIONS.filter((v) => tls.protocols[v].accepted).map((v) => VERSION_OF[v]!),
    suites: new Set(tls.suites.map((s) => `${VERSION_OF[s.protocol]} ${s.name}`)),
    weak: new Set(tls.suites.filter((s) => !s.forwardSecrecy || !s.aead).map((s) => `${VERSION_OF[s.protocol]} ${s.name}`)),
    // sslscan gives an EC key's security strength (128 for P-256); compare in those units.
    key: leaf ? (leaf.keyType === 'ec' ? `EC-${Math.floor(leaf.keyBits / 2)}` : `${leaf.keyType.toUpperCase()}-${leaf.keyBits}`) : '?',
    signature: leaf?.signatureAlgorithm.name ?? '?',
    expired: leaf ? Date.parse(leaf.notAfter) < Date.parse(tls.checkedAt) : false,
    selfSigned: leaf?.selfSigned ?? false,
    minDh: minOf(tls.suites.flatMap((x) => (x.ephemeral?.type === 'DH' ? [x.ephemeral.size] : []))),
  };
}

function fromSslscan(xml: string): Seen {
  const protocols = [...xml.matchAll(/<protocol type="tls" version="([\d.]+)" enabled="1"/g)].map((m) => m[1]!);
  const suites = new Set<string>();
  const weak = new Set<string>();
  for (const m of xml.matchAll(/<cipher status="(?:preferred|accepted)" sslversion="TLSv([\d.]+)" bits="\d+" cipher="([^"]+)"/g)) {
    const key = `${m[1] === '1.0' ? '1.0' : m[1]} ${m[2]}`;
    suites.add(key);
    if (isWeakName(m[2]!)) weak.add(key);
  }
  const short = /<certificate type="short">([\s\S]*?)<\/certificate>/.exec(xml)?.[1] ?? '';
  const pk = /<pk error="false"[^>]*?type="(\w+)"[^>]*?bits="(\d+)"/.exec(short);
  return {
    protocols,
    suites,
    weak,
    key: pk ? `${pk[1] === 'EC' || pk[1] === 'ECDSA' ? 'EC' : pk[1]}-${pk[2]}` : '?',
    signature: /<signature-algorithm>([^<]+)<\/signature-algorithm>/.exec(short)?.[1]?.trim() ?? '?',
    expired: /<expired>true<\/expired>/.test(short),
    selfSigned: /<self-signed>true<\/self-signed>/.test(short),
    minDh: minOf([...xml.matchAll(/ dhebits="(\d+)"/g)].map((m) => Number(m[1]))),
  };
}

const minOf = (xs: number[]): string => (xs.length > 0 ? String(Math.min(...xs)) : '-');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<number> {
  if (!hasProgram('sslscan')) {
    console.error('sslscan is not installed: apt-get install -y sslscan');
    return 2;
  }
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 1) : 3;
  const certs = await testCertificates();
  const rows: string[][] = [];
  const differences: string[] = [];
  const agree = { protocols: 0, suites: 0, key: 0, dh: 0, signature: 0, expired: 0, selfSigned: 0, letter: 0 };
  const kwTimes: number[] = [];
  const ssTimes: number[] = [];

  for (const fx of TLS_FIXTURES) {
    const server = await startHttpsServer(undefined, fx.server(certs));
    try {
      let kwFacts: TlsFacts | undefined;
      let xml = '';
      for (let i = 0; i < runs; i++) {
        const ctx = createFetchContext({ allowPrivate: true, resolve: [`localhost:${server.port}:127.0.0.1`], ...(fx.trustTestCa === false ? {} : { ca: certs.rootCa }) });
        let t = performance.now();
        kwFacts = await gatherTls(ctx, new URL(`https://localhost:${server.port}/`));
        kwTimes.push(performance.now() - t);
        ctx.close();
        t = performance.now();
        // Async: the fixture server runs in this process and must keep answering.
        xml = (await run('sslscan', ['--xml=-', '--no-colour', '--sni-name=localhost', '--show-certificate', `127.0.0.1:${server.port}`], { maxBuffer: 16 << 20 })).stdout;
        ssTimes.push(performance.now() - t);
      }
      const kw = fromKeyward(kwFacts!);
      const ss = fromSslscan(xml);
      const facts: ScanFacts = {
        target: { input: fx.name, url: `https://localhost:${server.port}/`, host: 'localhost' },
        final: { url: `https://localhost:${server.port}/`, status: 200, headers: {}, rawHeaders: [], body: '', bodyTruncated: false, chain: [] },
        https: true,
        tls: kwFacts!,
      };
      const tests = Object.assign({}, ...CHECKS.filter((c) => c.section === 'tls').map((c) => c.run(facts).tests)) as Record<string, TestResult>;
      const rating = rateTls(tests);

      const same = {
        protocols: kw.protocols.join(',') === ss.protocols.join(','),
        suites: kw.suites.size === ss.suites.size && [...kw.suites].every((s) => ss.suites.has(s)),
        key: kw.key === ss.key,
        dh: kw.minDh === ss.minDh,
        signature: kw.signature === ss.signature,
        expired: kw.expired === ss.expired,
        selfSigned: kw.selfSigned === ss.selfSigned,
        letter: rating.sslLabs === fx.expect,
      };
      for (const k of Object.keys(agree) as Array<keyof typeof agree>) if (same[k]) agree[k]++;
      if (!same.suites) {
        const onlyKw = [...kw.suites].filter((s) => !ss.suites.has(s));
        const onlySs = [...ss.suites].filter((s) => !kw.suites.has(s));
        differences.push(`${fx.name}: suites only keyward saw: ${onlyKw.join(', ') || '-'}; only sslscan saw: ${onlySs.join(', ') || '-'}`);
      }
      if (!same.protocols) differences.push(`${fx.name}: protocols keyward ${kw.protocols.join(',')} vs sslscan ${ss.protocols.join(',')}`);
      if (!same.key || !same.signature) differences.push(`${fx.name}: key/signature keyward ${kw.key} ${kw.signature} vs sslscan ${ss.key} ${ss.signature}`);
      if (!same.letter) differences.push(`${fx.name}: keyward rated ${rating.sslLabs}, the fixture expects ${fx.expect}`);
      const mark = (b: boolean): string => (b ? '=' : '≠');
      rows.push([
        fx.name,
        `${kw.protocols.join(',')} ${mark(same.protocols)} ${ss.protocols.join(',')}`,
        `${kw.suites.size} ${mark(same.suites)} ${ss.suites.size}`,
        `${kw.weak.size} / ${ss.weak.size}`,
        `${kw.key} ${mark(same.key)}`,
        `${kw.minDh} ${mark(same.dh)} ${ss.minDh}`,
        `${kw.signature} ${mark(same.signature)}`,
        `${kw.expired ? 'yes' : 'no'} ${mark(same.expired)}`,
        `${kw.selfSigned ? 'yes' : 'no'} ${mark(same.selfSigned)}`,
        `${rating.sslLabs} (${rating.grade})${same.letter ? '' : ` ≠ ${fx.expect}`}`,
        `${kwFacts!.handshakes}`,
      ]);
    } finally {
      await server.close();
    }
  }

  const header = ['fixture', 'protocols kw = sslscan', 'suites kw = ss', 'weak kw/ss', 'key', 'DHE bits', 'signature', 'expired', 'self-signed', 'keyward grade', 'handshakes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(header.map((h, i) => pad(h, widths[i]!)).join(' | '));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(r.map((c, i) => pad(c, widths[i]!)).join(' | '));
  const n = TLS_FIXTURES.length;
  console.log(`\nagreement over ${n} fixtures: protocols ${agree.protocols}/${n}, accepted suites ${agree.suites}/${n}, key ${agree.key}/${n}, DHE group ${agree.dh}/${n}, signature ${agree.signature}/${n}, expired ${agree.expired}/${n}, self-signed ${agree.selfSigned}/${n}`);
  console.log(`keyward's letter as the fixture expects: ${agree.letter}/${n} (sslscan gives no grade)`);
  const kwMed = median(kwTimes);
  const ssMed = median(ssTimes);
  console.log(`median time a target (${runs} run(s) each): keyward ${kwMed.toFixed(0)} ms (library, in-process), sslscan ${ssMed.toFixed(0)} ms (process) — keyward/sslscan ${(kwMed / ssMed).toFixed(2)}×`);
  if (differences.length > 0) {
    console.log('\ndifferences:');
    for (const d of differences) console.log(`  ${d}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
