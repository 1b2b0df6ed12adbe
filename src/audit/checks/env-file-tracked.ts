/**
 * A `.env` file that git tracks now is in every clone and every push: untrack it, ignore it,
 * and rotate what was in it (the env-file-history check names each key and the commit).
 */
import type { Finding } from '../../finding.js';
import { isEnvFile } from '../dotenv.js';
import { auditDocs, type AuditCheck } from '../types.js';
import { shellQuote } from './env-file-mode.js';

export const envFileTracked: AuditCheck = {
  id: 'env-file-tracked',
  title: '.env files not tracked by git',
  async project(ctx) {
    const git = ctx.git;
    if (!git) return [];
    const findings: Finding[] = [];
    for (const path of [...git.tracked].filter(isEnvFile).sort()) {
      const added = git.envAdds.find((a) => a.path === path);
      const q = shellQuote(path);
      findings.push({
        id: 'env-file-tracked',
        severity: 'critical',
        title: `${path} is tracked by git${added ? ` (added in commit ${added.commit.slice(0, 12)})` : ''}`,
        evidence: added ? `added ${added.date} by ${added.author}: "${added.subject}"` : undefined,
        recommendation:
          `Rotate every key in it now (anyone with a clone has them), then stop tracking it: \`git rm --cached ${q}\`, ` +
          `add \`.env*\` and \`!.env.example\` to .gitignore and commit. To purge it from history: \`git filter-repo --invert-paths --path ${q}\`, then force-push.`,
        docs: auditDocs('env-file-tracked'),
        location: added ? { file: path, commit: added.commit, date: added.date } : { file: path },
      });
    }
    return findings;
  },
};
