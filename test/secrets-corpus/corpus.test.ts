import { describe, expect, it } from 'vitest';
import { scanText } from '../../src/secrets/index.js';
import { generateCorpus, isAiOrTrap, score, type Reported } from './corpus.js';

describe('secrets corpus', () => {
  const files = generateCorpus(1, 2);
  const reported: Reported[] = files.flatMap((f) =>
    scanText(f.text, { path: f.path }).map((m) => ({ path: f.path, index: m.index, length: m.length, provider: m.provider })),
  );
  const pct = (x: number) => (x * 100).toFixed(2) + '%';

  it('holds as many trap files as files with keys, in every kind of file', () => {
    expect(files.filter((f) => f.set === 'trap').length).toBe(files.filter((f) => f.set === 'positive').length);
    expect(files.length).toBeGreaterThan(1000);
  });

  it('finds ≥ 99% of AI-provider keys with ≥ 99% precision (AI keys + traps)', () => {
    const s = score(files, reported, isAiOrTrap);
    console.log(`AI providers: recall ${pct(s.recall)} (${s.found}/${s.planted}), precision ${pct(s.precision)} (${s.falsePositives} false of ${s.reported}), misattributed ${s.misattributed}`, s.missedKinds.size ? Object.fromEntries(s.missedKinds) : '');
    expect(s.recall).toBeGreaterThanOrEqual(0.99);
    expect(s.precision).toBeGreaterThanOrEqual(0.99);
    expect(s.misattributed).toBe(0);
  });

  it('finds the common non-AI secrets too, and reports nothing at all in the trap files', () => {
    const all = score(files, reported);
    console.log(`all providers: recall ${pct(all.recall)} (${all.found}/${all.planted}), precision ${pct(all.precision)}`, all.missedKinds.size ? Object.fromEntries(all.missedKinds) : '');
    expect(all.recall).toBeGreaterThanOrEqual(0.99);
    // The corpus is seeded, so any miss is a regression to look at, not bad luck.
    expect(Object.fromEntries(all.missedKinds)).toEqual({});
    const trapHits = reported.filter((r) => r.path.startsWith('trap/'));
    expect(trapHits.map((r) => `${r.path} ${files.find((f) => f.path === r.path)!.text.slice(r.index, r.index + 12)}…`)).toEqual([]);
  });
});
