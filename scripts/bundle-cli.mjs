/**
 * Bundles the `keyward scan` and `keyward demo` commands (run after `tsc -p tsconfig.build.json`):
 * dist/cli/scan.js and dist/cli/demo.js become single ES modules with their dependencies, plus
 * shared chunks under dist/cli/chunks/. A cold `keyward scan` then opens a handful of files
 * instead of ~150, which halves its start-up (the CLI must answer a loopback scan in < 300 ms).
 * The library (dist/index.js and the rest of dist/) stays as tsc emits it.
 *
 *   node scripts/bundle-cli.mjs
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** version.ts finds package.json relative to its own file, which a bundle moves: inline the value. */
const inlineVersion = {
  name: 'inline-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({ contents: `export const VERSION = ${JSON.stringify(version)};`, loader: 'ts' }));
  },
};

rmSync(join(root, 'dist/cli/chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { scan: 'src/cli/scan.ts', demo: 'src/cli/demo.ts' },
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the bundle one.
  banner: { js: "import { createRequire as __keywardRequire } from 'node:module'; const require = __keywardRequire(import.meta.url);" },
  plugins: [inlineVersion],
});
