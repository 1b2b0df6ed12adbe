/**
 * Bundles the `keyward scan` and `keyward demo` commands (run after `tsc -p tsconfig.build.json`):
 * dist/cli/scan.js and dist/cli/demo.js each become ONE ES module with their dependencies. A cold
 * `keyward scan` then opens one file instead of ~150 (the CLI must answer a loopback scan in
 * < 300 ms). No code splitting: Node 20's ESM loader costs a few ms of CPU per module file (resolve,
 * read, compile, link), more than V8's lazy pre-parse of the code a scan does not run; and without
 * splitting esbuild keeps every dynamic `import()` lazy (the module's code runs only when imported),
 * so `--sections headers` still does not evaluate the TLS or exposure code.
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

// Chunks of earlier builds that split the bundle.
rmSync(join(root, 'dist/cli/chunks'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { scan: 'src/cli/scan.ts', demo: 'src/cli/demo.ts' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: false,
  // Less text for V8 to scan at start-up (850 → 590 KB); names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the bundle one.
  banner: { js: "import { createRequire as __keywardRequire } from 'node:module'; const require = __keywardRequire(import.meta.url);" },
  plugins: [inlineVersion],
  // Only `--verify` asks a key's issuer (secrets/live.ts imports undici when it does): left out of
  // the bundle, it is read from node_modules then, and a scan that does not verify never reads it.
  external: ['undici'],
});
