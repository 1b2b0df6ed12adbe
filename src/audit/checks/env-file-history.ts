/**
 * A `.env` file that was ever committed, on any branch, leaked its keys to everyone who can read
 * the repository, even if a later commit deleted it. Names the commit that added the file and every
 * key the secrets engine finds in its history: each must be rotated. Committed templates
 * (`.env.example`) are fine, unless a real key was pasted into one.
 */
import type { Finding } from '../../finding.js';
import { matchToFinding, scanText } from '../../secrets/index.js';
import { isEnvFile, isPlaceholderValue, parseDotenv } from '../dotenv.js';
import { looksLikeSecretName } from '../names.js';
import { auditDocs, type AuditCheck } from '../types.js';
import { shellQuote } from './env-file-mode.js';

export const envFileHistory: AuditCheck = {
  id: 'env-file-history',
  title: '.env files never committed',
  async project(ctx) {
    const git = ctx.git;
    if (!git) return [];
    const findings: Finding[] = [];
    // Templates (`.env.example`) are meant to be committed, but a real key pasted into one leaked all the same.
    const paths = [...new Set(git.envAdds.map((a) => a.path))].sort();
    for (const path of paths) {
      const first = git.envAdds.find((a) => a.path === path)!;
      const commitNote = `commit ${first.commit.slice(0, 12)} (${first.date.slice(0, 10)}, ${first.author}: "${first.subject}")`;
      const purge = `Then remove the file from history with \`git filter-repo --invert-paths --path ${shellQuote(path)}\` and force-push; ask collaborators to re-clone.`;
      const seen = new Set<string>();
      let secretValues = 0;
      for (const version of await git.addedLines(path)) {
        for (const m of scanText(version.text, { path, engine: ctx.engine })) {
          if (seen.has(m.fingerprint)) continue;
          seen.add(m.fingerprint);
          const line = version.lineNumbers[m.line - 1];
          const base = matchToFinding(m, { file: path, commit: version.commit, date: version.date });
          findings.push({
            ...base,
            id: 'env-file-history',
            severity: 'critical',
            title: `${m.provider} key committed in ${path}, commit ${version.commit.slice(0, 12)}: rotate it`,
            recommendation: `This key is in the repository's history, readable by anyone with a clone: revoke it and create a new one${m.revokeUrl ? ` (${m.revokeUrl})` : ''}. ${purge}`,
            docs: auditDocs('env-file-history'),
            location: { file: path, line, column: m.column, commit: version.commit, date: version.date },
          });
        }
        // Values the engine does not know (a database password, a custom token) were exposed too.
        for (const a of parseDotenv(version.text)) if (looksLikeSecretName(a.name) && !isPlaceholderValue(a.value)) secretValues++;
      }
      if (seen.size === 0 && isEnvFile(path)) {
        findings.push({
          id: 'env-file-history',
          severity: secretValues > 0 ? 'high' : 'medium',
          title: `${path} was committed in ${commitNote}`,
          evidence: secretValues > 0 ? `${secretValues} secret-looking value(s) in its history` : undefined,
          recommendation: `Treat every value that was ever in it as public: rotate each key, token and password it held. ${purge}`,
          docs: auditDocs('env-file-history'),
          location: { file: path, commit: first.commit, date: first.date },
        });
      }
    }
    return findings;
  },
};
