/**
 * secretlint with its recommended preset, run in-process through its own core API (no CLI
 * start-up in the timings), installed into the private bench/peers package when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const PEERS = resolve(import.meta.dirname, '../peers');
const MODULES = resolve(PEERS, 'node_modules');

export interface PeerFinding {
  index: number;
  length: number;
  rule: string;
}

export type PeerScan = (path: string, text: string) => Promise<PeerFinding[]>;

function ensureInstalled(): void {
  if (existsSync(resolve(MODULES, '@secretlint/core')) && existsSync(resolve(MODULES, '@secretlint/secretlint-rule-preset-recommend'))) return;
  console.error('installing secretlint and its recommended preset into bench/peers …');
  execFileSync('flock', ['/tmp/keyward-npm.lock', 'npm', 'install', '--ignore-scripts', '--prefix', PEERS, 'secretlint@13', '@secretlint/secretlint-rule-preset-recommend@13'], { stdio: 'inherit' });
}

export async function loadSecretlint(): Promise<{ scan: PeerScan; version: string }> {
  ensureInstalled();
  const core = (await import(pathToFileURL(resolve(MODULES, '@secretlint/core/module/index.js')).href)) as {
    lintSource: (o: unknown) => Promise<{ messages: { range: [number, number]; ruleId: string }[] }>;
  };
  const loader = (await import(pathToFileURL(resolve(MODULES, '@secretlint/config-loader/module/index.js')).href)) as {
    loadPackagesFromConfigDescriptor: (o: unknown) => Promise<{ ok: boolean; config: unknown; errors?: unknown }>;
  };
  const loaded = await loader.loadPackagesFromConfigDescriptor({
    configDescriptor: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] },
    node_moduleDir: MODULES,
  });
  if (!loaded.ok) throw new Error(`secretlint config did not load: ${JSON.stringify(loaded.errors)}`);
  const { createRequire } = await import('node:module');
  const version = (createRequire(resolve(MODULES, 'x.js'))('secretlint/package.json') as { version: string }).version;
  const scan: PeerScan = async (path, text) => {
    const res = await core.lintSource({
      source: { filePath: resolve('/corpus', path), content: text, ext: path.slice(path.lastIndexOf('.')), contentType: 'text' },
      options: { config: loaded.config, maskSecrets: true },
    });
    return res.messages.map((m) => ({ index: m.range[0], length: m.range[1] - m.range[0], rule: m.ruleId }));
  };
  return { scan, version };
}
