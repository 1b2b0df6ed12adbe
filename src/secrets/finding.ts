import type { SecretFinding, SecretLocation, SecretMatch } from './types.js';

/** Where `docs/rules.md` documents each rule (anchor = rule id). */
export const RULES_DOCS = 'docs/rules.md';

/** The shared Finding shape for a secret: evidence is always the redacted form. */
export function matchToFinding(m: SecretMatch, location: SecretLocation = {}): SecretFinding {
  const where = location.file ?? location.url;
  const revoke = m.revokeUrl ? `Revoke it now at ${m.revokeUrl} and issue a new one` : (m.revokeHow ?? 'Revoke or rotate it with its issuer');
  const history = location.commit ? ' and purge it from git history (git filter-repo), since every clone still holds it' : '';
  return {
    id: `secret-${m.ruleId}`,
    severity: m.severity,
    title: `${m.title} in ${where ?? 'the scanned text'}`,
    evidence: `${m.provider} ${m.redacted} (${m.fingerprint})`,
    recommendation:
      `${revoke}: a key that has leaked stays compromised even after it is deleted. ` +
      `Remove it from the file${history}, load it from an environment variable or a secret manager on the server, ` +
      'and never ship it to a browser or app.',
    docs: `${RULES_DOCS}#${m.ruleId}`,
    location: {
      ...(location.file !== undefined ? { file: location.file } : {}),
      ...(location.url !== undefined ? { url: location.url } : {}),
      line: m.line,
      column: m.column,
      ...(location.commit !== undefined ? { commit: location.commit } : {}),
      ...(location.date !== undefined ? { date: location.date } : {}),
    },
    secret: {
      rule: m.ruleId,
      provider: m.provider,
      redacted: m.redacted,
      fingerprint: m.fingerprint,
      ...(m.revokeUrl ? { revokeUrl: m.revokeUrl } : {}),
    },
  };
}
