/**
 * The MDN HTTP Observatory as a peer (bench/peers, never a dependency of keyward): installed
 * with its install script skipped (it downloads lists from the internet), given a small HSTS
 * preload file of our own, and its `scan()` imported directly (its npx wrapper overwrites
 * NODE_EXTRA_CA_CERTS). Shared by scripts/compare-observatory.ts and bench/scan.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO = resolve(import.meta.dirname, '../..');
export const PEERS_DIR = resolve(REPO, 'bench/peers');
export const OBSERVATORY_DIR = resolve(PEERS_DIR, 'node_modules/@mdn/mdn-http-observatory');

/** The HSTS preload entries the Observatory will know: none of the loopback test names. */
const PRELOAD = { 'preloaded.example': { includeSubDomains: true, includeSubDomainsForPinning: true, mode: 'force-https', pinned: false } };

export interface ObservatoryScan {
  scan: { grade: string; score: number; statusCode: number; testsPassed: number; testsFailed: number };
  tests: Record<string, { result: string; scoreModifier: number; pass: boolean }>;
}

/** Installs the Observatory into bench/peers if it is missing and writes its preload file. */
export function ensureObservatory(): void {
  if (!existsSync(resolve(OBSERVATORY_DIR, 'package.json'))) {
    process.stderr.write('Installing @mdn/mdn-http-observatory into bench/peers (install scripts skipped)…\n');
    execFileSync('flock', ['/tmp/keyward-npm.lock', 'npm', 'install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', PEERS_DIR, '@mdn/mdn-http-observatory'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  const preload = resolve(OBSERVATORY_DIR, 'conf/hsts-preload.json');
  if (!existsSync(preload)) writeFileSync(preload, JSON.stringify(PRELOAD, null, 2));
}

/** The Observatory's own `scan(hostname)` (ports 80 and 443 only). */
export async function loadObservatory(): Promise<(host: string) => Promise<ObservatoryScan>> {
  const mod = (await import(pathToFileURL(resolve(OBSERVATORY_DIR, 'src/index.js')).href)) as { scan: (host: string) => Promise<ObservatoryScan> };
  return mod.scan;
}
