/**
 * `npm run bench`: every benchmark, one after the other (never at once: they measure time on a
 * shared 2-core machine), each beside its peer tool in the same run. Pass names to run some:
 *   npm run bench -- scan secrets
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const BENCHES: Record<string, { file: string; about: string }[]> = {
  scan: [
    { file: 'bench/scan/scan-vs-observatory.ts', about: 'site scan vs the MDN HTTP Observatory (library and cold CLI)' },
    { file: 'bench/scan/full-scan.ts', about: 'full scan of a realistic local site (headers, TLS, probes, scripts, maps)' },
  ],
  tls: [{ file: 'bench/tls/probe.ts', about: 'TLS probe vs sslscan on the same loopback fixtures' }],
  secrets: [{ file: 'bench/secrets/throughput.ts', about: 'secrets engine throughput vs secretlint on ordinary code' }],
  audit: [{ file: 'bench/audit/audit-50k.ts', about: 'keyward audit on a generated 50 000-file project vs secretlint' }],
  gateway: [{ file: 'bench/gateway/run.ts', about: 'gateway added latency vs a bare passthrough and Portkey' }],
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !Object.hasOwn(BENCHES, w));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const [name, list] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  for (const { file, about } of list) {
    console.log(`\n## ${name}: ${about}\n   node --import tsx ${file}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      failed += 1;
      console.error(`${file} exited with ${r.status ?? r.signal}`);
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
