/**
 * Deployment configs that print secrets: CI steps that `echo` a secret (GitHub masks the exact
 * value only; base64, a substring or JSON of it goes out in clear), that dump the whole environment
 * (`env`, `printenv`, `toJSON(secrets)`), or that run with debug switched on (`ACTIONS_STEP_DEBUG`,
 * GitLab's `CI_DEBUG_TRACE`, `set -x` around secrets). CI logs are often readable by every
 * contributor, and on public repositories by everyone.
 */
import { posix } from 'node:path';
import type { Finding } from '../../finding.js';
import { redactText } from '../../secrets/index.js';
import { looksLikeSecretName } from '../names.js';
import { auditDocs, type AuditCheck, type ProjectFile } from '../types.js';

export function isCiConfig(path: string): boolean {
  if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(path)) return true;
  if (/^\.github\/actions\/.+\/action\.ya?ml$/.test(path)) return true;
  const base = posix.basename(path);
  return (
    path === '.gitlab-ci.yml' ||
    path === '.circleci/config.yml' ||
    path === 'bitbucket-pipelines.yml' ||
    path === 'azure-pipelines.yml' ||
    path === '.travis.yml' ||
    path === 'cloudbuild.yaml' ||
    path === 'cloudbuild.yml' ||
    path === 'Jenkinsfile' ||
    (path.startsWith('.gitlab/') && /\.ya?ml$/.test(base))
  );
}

const SECRET_EXPR = /\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}/;
const PRINT = /(?:^|[\s;&|(-])(?:echo|printf|Write-Host|Write-Output|cat\s+<<)\b/;
/** Printing that goes somewhere other than the log: a file, GITHUB_ENV, a pipe into a command (`docker login --password-stdin`). */
const NOT_TO_LOG = /(?:>>?\s*["']?\$\{?(?:GITHUB_ENV|GITHUB_OUTPUT|GITHUB_STEP_SUMMARY|GITHUB_PATH)|>>?\s*[\w./"'$~-]|\|\s*[\w./-])/;
const DUMP_ENV = /(?:^\s*|run:\s*|[;&|]\s*|^\s*-\s+)(?:env|printenv|export\s+-p|set|Get-ChildItem\s+env:|gci\s+env:|dir\s+env:)\s*(?:$|[|;&#>])/;
const TO_JSON_SECRETS = /\btoJSON\(\s*secrets\s*\)/;
const DEBUG_ON = /\b(ACTIONS_STEP_DEBUG|ACTIONS_RUNNER_DEBUG|CI_DEBUG_TRACE|CI_DEBUG_SERVICES)\s*:\s*['"]?(?:true|1)\b/i;
const XTRACE = /(?:^|[\s;&])(?:set\s+-[a-wyz]*x|bash\s+-x\b|sh\s+-x\b)/;

export const ciEnvLeaks: AuditCheck = {
  id: 'ci-secret-leak',
  title: 'CI never prints secrets',
  wants: (f) => isCiConfig(f.path),
  inspect(file: ProjectFile, text: string): Finding[] {
    const lines = text.split(/\r?\n/);
    // Env variables that hold a secret: mapped from `${{ secrets.X }}` (GitHub) or named like one.
    const secretVars = new Set<string>();
    for (const l of lines) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*['"]?\$\{\{\s*secrets\./.exec(l);
      if (m) secretVars.add(m[1]!);
    }
    const usesSecrets = secretVars.size > 0 || SECRET_EXPR.test(text) || /\$[A-Z_]*(?:TOKEN|KEY|SECRET|PASSWORD)\b/.test(text);
    const out: Finding[] = [];
    const add = (i: number, severity: Finding['severity'], title: string, recommendation: string) =>
      out.push({ id: 'ci-secret-leak', severity, title, evidence: redactText(lines[i]!.trim()).slice(0, 160), recommendation, docs: auditDocs('ci-secret-leak'), location: { file: file.path, line: i + 1 } });

    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (/^\s*#/.test(l)) continue;
      if (TO_JSON_SECRETS.test(l)) {
        add(i, 'critical', `${file.path} serialises every repository secret (toJSON(secrets))`, 'Pass each secret the step needs by name (`env: { OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }} }`); never the whole secrets context. Rotate the secrets if a log shows them.');
        continue;
      }
      if (PRINT.test(l) && !NOT_TO_LOG.test(l) && !l.includes('::add-mask::')) {
        const direct = SECRET_EXPR.exec(l)?.[1];
        const viaEnv = [...l.matchAll(/\$\{?(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1]!).find((v) => secretVars.has(v) || looksLikeSecretName(v));
        const name = direct ?? viaEnv;
        if (name) {
          add(i, 'high', `${file.path} prints the secret ${name} to the CI log`, `Remove the echo. GitHub masks only the exact value; any transformed form (base64, a substring, JSON) is printed in clear. To check that it is set, print \`[ -n "$${name}" ] && echo set\`. Rotate ${name} if a log shows it.`);
          continue;
        }
      }
      if (DUMP_ENV.test(l)) {
        add(i, usesSecrets ? 'high' : 'medium', `${file.path} dumps the whole environment to the CI log`, 'Remove the `env`/`printenv` step, or print only the variable names you need to debug (`env | cut -d= -f1`). Secrets passed to the job are in that environment.');
        continue;
      }
      const debug = DEBUG_ON.exec(l);
      if (debug) {
        add(i, debug[1]!.startsWith('CI_DEBUG') ? 'high' : 'medium', `${file.path} runs with ${debug[1]} on, which prints variables into the log`, `Remove ${debug[1]} from the committed config; turn debug logging on for one re-run only, when needed, and delete that run's logs afterwards.`);
        continue;
      }
      if (usesSecrets && XTRACE.test(l)) {
        add(i, 'medium', `${file.path} traces shell commands (set -x) in a job that uses secrets`, 'Remove `set -x`/`bash -x`: xtrace prints every command with its variables expanded, secrets included (GitHub masks only exact values).');
      }
    }
    return out;
  },
};
