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

  it("names the command that revokes a keyward gateway token, by its id, never printing the token's secret part", () => {
    const id = r.chars('hex', 12);
    const token = `kw_${id}_${r.chars('base64url', 43)}`;
    const [m] = scanText(`KEYWARD_TOKEN=${token}\n`);
    expect(m).toMatchObject({ ruleId: 'keyward-gateway-token', provider: 'keyward', severity: 'high', redacted: 'kw_…' + token.slice(-4) });
    const f = matchToFinding(m!, { file: 'deploy/.env' });
    expect(f.recommendation).toMatch(new RegExp(`^Revoke it with \`keyward tokens revoke ${id}\` \\(or \`keyward tokens rotate ${id}\` to issue its successor first\\): a key that has leaked`));
    expect(JSON.stringify(f)).not.toContain(token.slice(16, -4));
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
