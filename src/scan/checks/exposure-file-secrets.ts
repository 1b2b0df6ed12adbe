/** Secrets in exposed files and error pages (a public .env, .git/config, phpinfo(), a debug page). */
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { groupByFingerprint, secretFinding } from './exposure-support.js';

export const exposureFileSecretsCheck: Check = {
  name: 'secrets-in-exposed-files',
  section: 'exposure',
  run(facts): CheckOutput {
    const secrets = (facts.exposure?.secrets ?? []).filter((s) => s.where === 'exposed-file');
    const findings = groupByFingerprint(secrets).map((group) => {
      const f = secretFinding('secret-in-exposed-file', group, `the public file ${new URL(group[0]!.url).pathname}`, 'secrets-in-exposed-files');
      f.recommendation = `Stop serving ${new URL(group[0]!.url).pathname} first (see the exposed-file finding), then:\n${f.recommendation}`;
      return f;
    });
    return {
      findings,
      tests: {
        'secrets-in-exposed-files': findings.length > 0 ? exposureResult('secrets-in-exposed-files-found', false, { keys: findings.length }) : exposureResult('secrets-in-exposed-files-none', true),
      },
    };
  },
};
