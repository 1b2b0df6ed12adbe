import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES, scanText } from './index.js';

describe('every rule carries its own proof', () => {
  it('has unique kebab-case ids, keywords, a revoke link or a reason not to, and examples', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(r.keywords.length, r.id).toBeGreaterThan(0);
      expect(r.examples.match.length, r.id).toBeGreaterThan(0);
      expect(r.examples.noMatch.length, r.id).toBeGreaterThan(0);
      expect(r.pattern.flags, r.id).toContain('g');
    }
  });

  it('is documented: docs/rules.md has an entry for every rule and none for rules that are gone', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/rules.md'), 'utf8');
    const anchors = [...doc.matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]);
    expect(anchors.sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      it.each(rule.examples.match.map((text, i) => [i, text] as const))('finds the secret in match example %i', (_i, text) => {
        const found = scanText(text, { includeInfo: true }).filter((m) => m.ruleId === rule.id);
        expect(found, 'the rule (and not a weaker one) reports the key').toHaveLength(1);
        const m = found[0]!;
        expect(text.slice(m.index, m.index + m.length)).toBe(m.secret);
        // The redacted form never carries more than a short prefix and the last 4 characters.
        if (m.secret.length >= 24) expect(m.redacted.length).toBeLessThanOrEqual(12 + 1 + 4 + 30);
        if (m.secret.length > 20) expect(m.redacted).not.toContain(m.secret.slice(12, -4));
      });
      it.each(rule.examples.noMatch.map((text, i) => [i, text] as const))('stays silent on no-match example %i', (_i, text) => {
        expect(scanText(text, { includeInfo: true }).filter((m) => m.ruleId === rule.id)).toEqual([]);
      });
    });
  }
});
