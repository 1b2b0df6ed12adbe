import { describe, expect, it } from 'vitest';
import { ExampleRandom } from './examples.js';
import { KeywordMatcher, type KeywordSpec } from './prefilter.js';

/** Every occurrence, the slow obvious way: one indexOf loop per keyword. */
function naive(text: string, specs: readonly KeywordSpec[]): string[] {
  const out: string[] = [];
  const lower = text.toLowerCase();
  for (const s of specs) {
    const hay = s.caseSensitive ? text : lower;
    const needle = s.caseSensitive ? s.text : s.text.toLowerCase();
    for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + 1)) out.push(`${s.rule}@${at}`);
  }
  return [...new Set(out)].sort();
}

function viaAutomaton(text: string, specs: readonly KeywordSpec[]): string[] {
  const out: string[] = [];
  new KeywordMatcher(specs).scan(text, 0, text.length, (rule, start) => out.push(`${rule}@${start}`));
  return [...new Set(out)].sort();
}

describe('the keyword prefilter', () => {
  it('finds every occurrence of every keyword in one pass, overlapping and nested ones included', () => {
    const specs: KeywordSpec[] = [
      { text: 'sk-', caseSensitive: true, rule: 0 },
      { text: 'sk-proj-', caseSensitive: true, rule: 1 },
      { text: 'k-p', caseSensitive: true, rule: 2 },
      { text: 'key', caseSensitive: false, rule: 3 },
      { text: 'KEYS', caseSensitive: true, rule: 4 },
      { text: 'aaa', caseSensitive: false, rule: 5 },
    ];
    const text = 'sk-proj- KEYS keys KeY aaaaa sk-sk-proj-x AAAA';
    expect(viaAutomaton(text, specs)).toEqual(naive(text, specs));
    expect(viaAutomaton(text, specs)).toContain('1@32');
  });

  it('agrees with a naive search on random texts and keyword sets', () => {
    const r = new ExampleRandom(99);
    for (let round = 0; round < 200; round++) {
      const alphabet = 'abAB-_.k:é';
      const specs: KeywordSpec[] = Array.from({ length: 1 + r.int(8) }, (_, i) => ({
        text: r.chars('abAB-_.k:', 1 + r.int(4)),
        caseSensitive: r.int(2) === 0,
        rule: i,
      }));
      const text = Array.from({ length: 300 }, () => alphabet[r.int(alphabet.length)]).join('');
      expect(viaAutomaton(text, specs), JSON.stringify(specs)).toEqual(naive(text, specs));
    }
  });

  it('agrees with a naive search on long texts, read in quarters, with and without characters above U+00FF (š, ū: low bytes a, k)', () => {
    const r = new ExampleRandom(7);
    for (let round = 0; round < 60; round++) {
      const alphabet = round % 3 === 0 ? 'abAB-_.k:é€šū' : 'abAB-_.k:é\n';
      const specs: KeywordSpec[] = Array.from({ length: 1 + r.int(8) }, (_, i) => ({
        text: r.chars('abAB-_.k:', 1 + r.int(6)),
        caseSensitive: r.int(2) === 0,
        rule: i,
      }));
      const text = Array.from({ length: 1000 + r.int(5000) }, () => alphabet[r.int(alphabet.length)]).join('');
      expect(viaAutomaton(text, specs), JSON.stringify(specs)).toEqual(naive(text, specs));
    }
  });

  it('reports each rule\'s hits in text order, across the quarters of a long text', () => {
    const specs: KeywordSpec[] = [
      { text: 'ab', caseSensitive: false, rule: 0 },
      { text: 'bab', caseSensitive: true, rule: 0 },
    ];
    const text = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? 'bab' : 'x')).join('');
    const starts: number[] = [];
    new KeywordMatcher(specs).scan(text, 0, text.length, (_rule, start) => starts.push(start));
    expect(starts.length).toBe(2 * 429);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it('refuses a keyword that is not printable ASCII', () => {
    expect(() => new KeywordMatcher([{ text: 'clé', caseSensitive: true, rule: 0 }])).toThrow(/printable ASCII/);
  });
});
