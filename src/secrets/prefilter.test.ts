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

  it('refuses a keyword that is not printable ASCII', () => {
    expect(() => new KeywordMatcher([{ text: 'clé', caseSensitive: true, rule: 0 }])).toThrow(/printable ASCII/);
  });
});
