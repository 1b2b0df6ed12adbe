/**
 * `.env` files must be readable by their owner only (mode 600 or stricter) and owned by the
 * user who runs the app: a group- or world-readable file hands the keys to every account on the host.
 */
import { stat } from 'node:fs/promises';
import type { Finding } from '../../finding.js';
import { isEnvFile } from '../dotenv.js';
import { auditDocs, type AuditCheck } from '../types.js';

export const envFileMode: AuditCheck = {
  id: 'env-file-mode',
  title: '.env files readable by their owner only',
  async project(ctx) {
    if (process.platform === 'win32') return [];
    const findings: Finding[] = [];
    for (const file of ctx.files.filter((f) => isEnvFile(f.path))) {
      let st;
      try {
        // A symbolic link's own mode means nothing: judge the file it points to.
        st = await stat(file.abs);
      } catch (e) {
        ctx.warn(`${file.path}: cannot read its mode (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        continue;
      }
      const mode = st.mode & 0o777;
      const octal = mode.toString(8).padStart(3, '0');
      if (mode & 0o077) {
        const world = (mode & 0o007) !== 0;
        findings.push({
          id: 'env-file-mode',
          severity: world ? 'high' : 'medium',
          title: `${file.path} is readable by ${world ? 'every user on this machine' : 'its group'} (mode ${octal})`,
          evidence: `mode ${octal}, owner uid ${st.uid}`,
          recommendation: `Run \`chmod 600 ${shellQuote(file.path)}\` so that only its owner can read the keys in it.`,
          docs: auditDocs('env-file-mode'),
          location: { file: file.path },
        });
      }
      if (ctx.uid !== undefined && st.uid !== ctx.uid) {
        findings.push({
          id: 'env-file-owner',
          severity: 'medium',
          title: `${file.path} belongs to another user (uid ${st.uid}, you are uid ${ctx.uid})`,
          evidence: `mode ${octal}, owner uid ${st.uid}`,
          recommendation: `Make the user that runs the app its owner: \`sudo chown $(id -u):$(id -g) ${shellQuote(file.path)} && chmod 600 ${shellQuote(file.path)}\`.`,
          docs: auditDocs('env-file-mode'),
          location: { file: file.path },
        });
      }
    }
    return findings;
  },
};

export function shellQuote(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
