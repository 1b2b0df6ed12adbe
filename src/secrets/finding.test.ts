import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Finding } from '../finding.js';
import { ExampleRandom } from './examples.js';
import { matchToFinding, scanText, type SecretFinding, type SecretSeverity } from './index.js';
import type { Severity } from '../finding.js';

const r = new ExampleRandom(7);

describe('matchToFinding', () => {
  it('is assignable to the one Finding type (secrets/ cannot import it)', () => {
    expectTypeOf<SecretFinding>().toExtend<Finding>();
    expectTypeOf<SecretSeverity>().toEqualTypeOf<Severity>();
  });

  it('turns a match into a redacted finding with location, fingerprint and where to revoke', () => {
    const key = 'sk-ant-api03-' + r.chars('base64url', 93) + 'AA';
    const text = `# config\nANTHROPIC_API_KEY=${key}\n`;
    const [m] = scanText(text);
    const f: Finding = matchToFinding(m!, { file: '.env', commit: 'abc123', date: '2026-01-01T00:00:00Z' });
    expect(f).toMatchObject({
      id: 'secret-anthropic-api-key',
      severity: 'critical',
      location: { file: '.env', line: 2, column: 19, commit: 'abc123', date: '2026-01-01T00:00:00Z' },
      secret: { rule: 'anthropic-api-key', provider: 'Anthropic', revokeUrl: 'https://console.anthropic.com/settings/keys' },
      docs: 'docs/rules.md#anthropic-api-key',
    });
    expect(f.secret!.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(f.secret!.redacted).toBe('sk-ant-…' + key.slice(-4));
    expect(JSON.stringify(f)).not.toContain(key.slice(13, -4));
    expect(f.recommendation).toMatch(/Revoke it now at https:\/\/console\.anthropic\.com/);
    expect(f.recommendation).toMatch(/git history/);
  });
});
