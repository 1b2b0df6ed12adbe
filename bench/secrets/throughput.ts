/**
 * Secrets engine throughput on a large tree of ordinary code, one core, files in memory:
 * keyward's scanText (one keyword pass, patterns only around hits), keyward's scanStream on the
 * same bytes as one stream, a naive engine that runs every rule's pattern over the whole text
 * (what the prefilter saves), and secretlint with its recommended preset, all in the same run.
 *
 *   node --import tsx bench/secrets/throughput.ts [--mb 24] [--runs 5]
 */
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { RULES, scanStream, scanText } from '../../src/secrets/index.js';
import { loadSecretlint } from './peers.js';
import { ordinaryCodeTree } from './tree.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '24' }, runs: { type: 'string', default: '5' } } });
const mb = Number(values.mb);
const runs = Number(values.runs);
if (!(mb > 0) || !(runs >= 1)) {
  console.error('usage: throughput [--mb N>0] [--runs N>=1]');
  process.exit(2);
}

const tree = ordinaryCodeTree(mb);
const secretlint = await loadSecretlint();

async function best(fn: () => Promise<number> | number, n = runs): Promise<{ ms: number; found: number }> {
  let ms = Infinity;
  let found = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    found = await fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, found };
}

const naiveRegexes = RULES.map((r) => new RegExp(r.pattern.source, r.pattern.flags.includes('g') ? r.pattern.flags : r.pattern.flags + 'g'));
const naive = (text: string) => {
  let n = 0;
  for (const re of naiveRegexes) {
    re.lastIndex = 0;
    while (re.exec(text)) n++;
  }
  return n;
};

const whole = tree.files.map((f) => f.text).join('\n');
function* pieces(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
const rows: [string, { ms: number; found: number }][] = [];
await best(() => tree.files.reduce((n, f) => n + scanText(f.text).length, 0), 1); // warm-up
rows.push(['keyward scanText (per file)', await best(() => tree.files.reduce((n, f) => n + scanText(f.text, { path: f.path }).length, 0))]);
rows.push([
  'keyward scanStream (one stream, incl. UTF-8 decoding)',
  await best(async () => {
    let n = 0;
    // 64 KiB pieces, as fs.createReadStream delivers a file.
    for await (const _m of scanStream(Readable.from(pieces(Buffer.from(whole), 65_536)))) n++;
    return n;
  }),
]);
rows.push(['every rule regex over all text', await best(() => tree.files.reduce((n, f) => n + naive(f.text), 0), Math.min(runs, 2))]);
rows.push([
  `secretlint ${secretlint.version} + preset-recommend`,
  await best(async () => {
    let n = 0;
    for (const f of tree.files) n += (await secretlint.scan(f.path, f.text)).length;
    return n;
  }, Math.min(runs, 3)),
]);

const peer = rows[rows.length - 1]![1].ms;
console.log(`\n${tree.files.length} files, ${(tree.bytes / 1e6).toFixed(1)} MB of ordinary code (node_modules sources); best of ${runs} runs; Node ${process.version}\n`);
console.log('| engine | time | MB/s | matches | vs secretlint |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, r] of rows) {
  console.log(`| ${name} | ${r.ms.toFixed(0)} ms | ${(tree.bytes / 1e6 / (r.ms / 1000)).toFixed(1)} | ${r.found} | ${(peer / r.ms).toFixed(1)}× |`);
}
