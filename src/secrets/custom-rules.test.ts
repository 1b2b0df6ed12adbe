import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { engineWith, parseRules, RULES_SCHEMA } from './custom-rules.js';
import { scanText } from './engine.js';

/** An internal service's token, made up here: 32 random letters and digits after its prefix. */
const token = () => `acme_svc_${randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 32).padEnd(32, 'Q')}`;
const rule = (over: Record<string, unknown> = {}) => ({ id: 'acme-service-token', provider: 'Acme', title: 'Acme service token', severity: 'high', keywords: ['acme_svc_'], pattern: 'acme_svc_[A-Za-z0-9]{32}', ...over });
const file = (doc: Record<string, unknown>) => JSON.stringify({ schema: RULES_SCHEMA, ...doc });

describe("a project's own rules", () => {
  it('finds what a rule describes, alongside the built-in rules, and only with it', () => {
    const t = token();
    const text = `SERVICE_TOKEN=${t}\n`;
    // Without the rule, at most a generic assignment; with it, the provider's rule, which wins the overlap.
    expect(scanText(text).map((m) => m.ruleId)).toEqual(['generic-secret']);
    const engine = engineWith(parseRules(file({ rules: [rule({ revokeUrl: 'https://acme.example/tokens' })] }), 'rules.json'));
    const found = scanText(text, { engine });
    expect(found.map((m) => [m.ruleId, m.provider, m.severity, m.secret, m.line, m.column, m.revokeUrl])).toEqual([['acme-service-token', 'Acme', 'high', t, 1, 15, 'https://acme.example/tokens']]);
    expect(found[0]!.redacted).not.toBe(t);
  });

  it("keeps a rule's allowlist and entropy floor, and skips the paths the file lists", () => {
    const engine = engineWith(
      parseRules(file({ rules: [rule({ minEntropy: 3, allowlist: { secrets: ['^acme_svc_TEST'] } })], allowlist: { paths: ['^fixtures/'] } }), 'rules.json'),
    );
    const t = token();
    expect(scanText(`a=${t}`, { engine, path: 'src/app.ts' })).toHaveLength(1);
    expect(scanText(`a=${t}`, { engine, path: 'fixtures/app.ts' })).toEqual([]);
    expect(scanText(`a=acme_svc_TEST${'x'.repeat(28)}`, { engine })).toEqual([]);
    expect(scanText(`a=acme_svc_${'a'.repeat(32)}`, { engine })).toEqual([]);
  });

  it('refuses a file with a mistake, naming the rule and the field', () => {
    const cases: Array<[string, RegExp]> = [
      ['{', /rules\.json is not valid JSON/],
      [JSON.stringify({ schema: 'other', rules: [] }), /'schema' must be "keyward\.rules\/1"/],
      [file({ rules: {} }), /'rules' must be a list/],
      [file({ rules: [rule({ id: 'Acme Token' })] }), /rule 1: 'id' must be kebab-case/],
      [file({ rules: [rule({ id: 'openai-project-key' })] }), /rule 'openai-project-key': the id is a built-in rule's/],
      [file({ rules: [rule(), rule()] }), /rule 'acme-service-token': the id is used twice/],
      [file({ rules: [rule({ severity: 'urgent' })] }), /'severity' must be one of critical, high, medium, low, info/],
      [file({ rules: [rule({ keywords: ['ac'] })] }), /'keywords' must list at least one string of 3 or more characters/],
      [file({ rules: [rule({ pattern: 'acme_(' })] }), /'pattern' is not a valid regular expression/],
      [file({ rules: [rule({ pattern: 'x*' })] }), /'pattern' matches an empty string/],
      [file({ rules: [rule({ flags: 'g' })] }), /'flags' may hold i, m and s alone/],
      [file({ rules: [rule({ minEntropy: 12 })] }), /'minEntropy' must be a number of bits per character from 0 to 8/],
      [file({ rules: [rule({ regex: 'x' })] }), /rule 'acme-service-token': unknown field 'regex'/],
      [file({ rules: [rule({ revokeUrl: 'http://acme.example' })] }), /'revokeUrl' must be an https:\/\/ URL/],
      [file({ rules: [rule({ allowlist: { secrets: ['('] } })] }), /allowlist\.secrets\[0\] is not a valid regular expression/],
      [file({ allowlist: { files: [] } }), /'allowlist' must be \{"paths": \[\.\.\.\]\}/],
      [file({ extra: 1 }), /unknown field 'extra'/],
    ];
    for (const [text, message] of cases) expect(() => parseRules(text, 'rules.json'), text).toThrow(message);
  });
});
