/**
 * `npm run compare:secrets`: keyward's secrets engine beside secretlint (recommended preset) on
 * the same generated corpus (AI-provider keys, common secrets, an equal number of traps) and on
 * the same large tree of ordinary code. Prints recall, precision and MB/s for each.
 *
 *   node --import tsx scripts/compare-secrets.ts [--mb 16] [--per-pair 2] [--seed 3]
 */
import { parseArgs } from 'node:util';
import { loadSecretlint } from '../bench/secrets/peers.js';
import { ordinaryCodeTree } from '../bench/secrets/tree.js';
import { scanText } from '../src/secrets/index.js';
import { generateCorpus, isAiOrTrap, score, type Reported } from '../test/secrets-corpus/corpus.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '16' }, 'per-pair': { type: 'string', default: '2' }, seed: { type: 'string', default: '3' } } });
const mb = Number(values.mb);
const perPair = Number(values['per-pair']);
const seed = Number(values.seed);
if (!(mb > 0) || !(perPair > 0) || !Number.isInteger(seed)) {
  console.error('usage: compare-secrets [--mb N>0] [--per-pair N>0] [--seed INT]');
  process.exit(2);
}

const pct = (x: number) => (x * 100).toFixed(1) + '%';
const secretlint = await loadSecretlint();

// 1. Accuracy on the corpus.
const corpus = generateCorpus(seed, perPair);
const kw: Reported[] = [];
const sl: Reported[] = [];
for (const f of corpus) {
  for (const m of scanText(f.text, { path: f.path })) kw.push({ path: f.path, index: m.index, length: m.length, provider: m.provider });
  for (const m of await secretlint.scan(f.path, f.text)) sl.push({ path: f.path, index: m.index, length: m.length });
}
const rows: string[][] = [];
for (const [label, filter] of [['AI providers + traps', isAiOrTrap], ['all secrets + traps', () => true]] as const) {
  const a = score(corpus, kw, filter);
  const b = score(corpus, sl, filter);
  rows.push([label, 'keyward', pct(a.recall), pct(a.precision), `${a.found}/${a.planted}`, String(a.falsePositives)]);
  rows.push(['', `secretlint ${secretlint.version}`, pct(b.recall), pct(b.precision), `${b.found}/${b.planted}`, String(b.falsePositives)]);
}
console.log(`\nCorpus: ${corpus.length} files (${corpus.filter((f) => f.set === 'positive').length} with keys, ${corpus.filter((f) => f.set === 'trap').length} traps), seed ${seed}\n`);
table(['corpus', 'tool', 'recall', 'precision', 'found', 'false pos.'], rows);

// 2. Throughput on a large tree of ordinary code, one core, in-process, files already in memory.
const tree = ordinaryCodeTree(mb);
/** Best of `runs` timings: the least disturbed by other work on the machine. */
const time = async (fn: () => Promise<number> | number, runs = 3) => {
  let best = Infinity;
  let n = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    n = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, n };
};
await time(() => tree.files.slice(0, 200).reduce((n, f) => n + scanText(f.text, { path: f.path }).length, 0), 1); // warm-up
const kwRun = await time(() => tree.files.reduce((n, f) => n + scanText(f.text, { path: f.path }).length, 0), 5);
const slRun = await time(async () => {
  let n = 0;
  for (const f of tree.files) n += (await secretlint.scan(f.path, f.text)).length;
  return n;
});
const mbps = (ms: number) => tree.bytes / 1e6 / (ms / 1000);
console.log(`\nTree: ${tree.files.length} files of ordinary code, ${(tree.bytes / 1e6).toFixed(1)} MB (node_modules sources), one core, best of 5 (keyward) and 3 (secretlint) runs\n`);
table(
  ['tool', 'time', 'MB/s', 'findings', 'vs secretlint'],
  [
    ['keyward', `${kwRun.ms.toFixed(0)} ms`, mbps(kwRun.ms).toFixed(1), String(kwRun.n), `${(slRun.ms / kwRun.ms).toFixed(1)}×`],
    [`secretlint ${secretlint.version}`, `${slRun.ms.toFixed(0)} ms`, mbps(slRun.ms).toFixed(1), String(slRun.n), '1.0×'],
  ],
);

function table(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of body) console.log(line(r));
}
