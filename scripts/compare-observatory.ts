/**
 * `npm run compare:observatory`: serves 80+ header configurations on 127.0.0.1 (ports 80 and
 * 443, because the Observatory uses no others; names under .keyward.test resolve to loopback
 * inside the process), scans each with the MDN HTTP Observatory's own `scan()` and with
 * keyward's `scanSite`, and prints both letters side by side with the agreement rate.
 * Every difference must be one docs/scoring.md explains (`differs` in the configuration).
 *
 * The Observatory only trusts extra CAs through NODE_EXTRA_CA_CERTS, which Node reads at
 * start-up, so the script generates its CA, then runs the comparison in a child process.
 * Exit status: 0 when agreement ≥ 95% and every difference is a documented one, else 1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanSite, type ScanReport } from '../src/scan/scan-site.js';
import { ALL_CONFIGS, handleHttp, handleHttps, hostOf, refusesTls, SUFFIX } from './observatory/configs.js';
import { generateSiteCertificates, listenLoopback80And443, resolveToLoopback, type SiteCertificates } from './observatory/loopback.js';
import { ensureObservatory, loadObservatory, type ObservatoryScan } from './observatory/peer.js';

const TARGET = 0.95;
const CHILD_ENV = 'KEYWARD_COMPARE_OBSERVATORY_DIR';
const json = process.argv.includes('--json');

interface Row {
  n: number;
  name: string;
  host: string;
  observatory: { grade: string; score: number } | { error: string };
  keyward: { grade: string; score: number } | { error: string };
  same: boolean;
  differs?: string;
  /** Tests whose results differ, `test: observatory → keyward`. */
  testDiffs: string[];
  demonstrates?: boolean;
}

async function parent(): Promise<number> {
  ensureObservatory();
  const certs = await generateSiteCertificates([`*${SUFFIX}`, SUFFIX.slice(1)]);
  const dir = mkdtempSync(join(tmpdir(), 'keyward-compare-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), certs.caPem);
    writeFileSync(join(dir, 'cert.pem'), certs.certPem);
    writeFileSync(join(dir, 'key.pem'), certs.keyPem);
    const script = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), [CHILD_ENV]: dir },
    });
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gradeOf = (r: Row['observatory']): string => ('grade' in r ? r.grade : 'error');

async function child(dir: string): Promise<number> {
  const certs: SiteCertificates = {
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
  resolveToLoopback(SUFFIX);
  const ports = await listenLoopback80And443(handleHttp, handleHttps, certs, refusesTls);
  const observatoryScan = await loadObservatory();
  const rows: Row[] = [];
  try {
    for (const [i, config] of ALL_CONFIGS.entries()) {
      const host = hostOf(i);
      let obs: ObservatoryScan | undefined;
      let kw: ScanReport | undefined;
      let obsError: string | undefined;
      let kwError: string | undefined;
      try {
        obs = await observatoryScan(host);
      } catch (err) {
        obsError = (err as Error).message;
      }
      try {
        kw = await scanSite(host, { allowPrivate: true, resolve: ['*:80:127.0.0.1', '*:443:127.0.0.1'], ca: certs.caPem, sections: ['headers'] });
      } catch (err) {
        kwError = (err as Error).message;
      }
      const headers = kw?.sections.headers;
      const observatory = obs ? { grade: obs.scan.grade, score: obs.scan.score } : { error: obsError ?? 'no result' };
      const keyward = headers ? { grade: headers.grade, score: headers.score } : { error: kwError ?? 'no headers section' };
      const testDiffs: string[] = [];
      if (obs && kw) {
        for (const [test, t] of Object.entries(obs.tests)) {
          const mine = kw.tests[test];
          if (!mine || mine.result !== t.result) testDiffs.push(`${test}: ${t.result} (${t.scoreModifier}) → ${mine?.result ?? 'none'} (${mine?.scoreModifier ?? 0})`);
        }
      }
      rows.push({ n: i + 1, name: config.name, host, observatory, keyward, same: gradeOf(observatory) === gradeOf(keyward), ...(config.differs ? { differs: config.differs } : {}), ...(config.demonstrates ? { demonstrates: true } : {}), testDiffs });
    }
  } finally {
    await ports.close();
  }

  const demos = rows.filter((r) => r.demonstrates);
  const main = rows.filter((r) => !r.demonstrates);
  const same = main.filter((r) => r.same).length;
  const rate = same / main.length;
  const unexplained = rows.filter((r) => !r.same && !r.differs);
  if (json) {
    process.stdout.write(JSON.stringify({ configurations: main.length, sameLetter: same, agreement: rate, target: TARGET, rows: main, demonstrations: demos }, null, 2) + '\n');
  } else {
    const cell = (r: Row['observatory']): string => ('grade' in r ? `${r.grade.padEnd(2)} ${String(r.score).padStart(3)}` : 'error ');
    const out: string[] = [];
    out.push(`  #  ${'configuration'.padEnd(46)} Observatory  keyward   same`);
    const printRow = (r: Row): void => {
      out.push(`${String(r.n).padStart(3)}  ${r.name.slice(0, 46).padEnd(46)} ${cell(r.observatory).padEnd(11)}  ${cell(r.keyward).padEnd(8)}  ${r.same ? 'yes' : 'NO'}${r.differs ? `  (documented: ${r.differs})` : ''}`);
      if (!r.same || r.testDiffs.length > 0) for (const d of r.testDiffs) out.push(`       ${d}`);
      for (const side of [r.observatory, r.keyward]) if ('error' in side) out.push(`       error: ${side.error}`);
    };
    main.forEach(printRow);
    out.push('');
    out.push('Documented differences, demonstrated (chosen to differ, so not counted in the rate):');
    demos.forEach(printRow);
    out.push('');
    out.push(`Same letter on ${same} of ${main.length} configurations: ${(rate * 100).toFixed(1)}% (target ≥ ${TARGET * 100}%).`);
    const differing = main.length - same;
    out.push(`Differences: ${differing}, of which documented in docs/scoring.md: ${differing - unexplained.filter((r) => !r.demonstrates).length}; unexplained anywhere: ${unexplained.length}.`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return rate >= TARGET && unexplained.length === 0 ? 0 : 1;
}

const dir = process.env[CHILD_ENV];
process.exitCode = dir ? await child(dir) : await parent();
