/**
 * `.env` files must be listed in `.gitignore`, so that `git add .` can never commit them.
 * (A file git already tracks is the env-file-tracked check's finding.)
 */
import type { Finding } from '../../finding.js';
import { isEnvFile } from '../dotenv.js';
import { auditDocs, type AuditCheck } from '../types.js';

export const envFileIgnored: AuditCheck = {
  id: 'env-file-ignored',
  title: '.env files listed in .gitignore',
  async project(ctx) {
    const findings: Finding[] = [];
    for (const file of ctx.files) {
      if (!isEnvFile(file.path) || file.ignored || ctx.git?.tracked.has(file.path)) continue;
      findings.push({
        id: 'env-file-ignored',
        severity: 'high',
        title: `${file.path} is not listed in .gitignore`,
        recommendation: 'Add these lines to .gitignore so that no .env file can be committed, while the template still can: `.env` `.env.*` `!.env.example`.',
        docs: auditDocs('env-file-ignored'),
        location: { file: file.path },
      });
    }
    return findings;
  },
};
