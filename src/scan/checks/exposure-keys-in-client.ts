/** Keys in client-side code: the page, its scripts and lazy chunks, and their source maps. */
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { groupByFingerprint, secretFinding } from './exposure-support.js';

const PLACES = { page: 'the page HTML', script: 'client-side JavaScript', 'source-map': 'a public source map' } as const;

export const exposureKeysInClientCheck: Check = {
  name: 'keys-in-client-code',
  section: 'exposure',
  run(facts): CheckOutput {
    const secrets = (facts.exposure?.secrets ?? []).filter((s) => s.where !== 'exposed-file');
    const findings = groupByFingerprint(secrets).map((group) => secretFinding('key-in-client-code', group, PLACES[group[0]!.where as keyof typeof PLACES], 'keys-in-client-code'));
    const scanned = facts.exposure?.files.filter((f) => f.error === undefined).length ?? 0;
    return {
      findings,
      tests: {
        'keys-in-client-code': findings.some((f) => f.secret !== undefined)
          ? exposureResult('keys-in-client-code-found', false, { keys: findings.filter((f) => f.secret !== undefined).length, filesScanned: scanned })
          : findings.some((f) => f.id === 'key-in-client-code')
            ? exposureResult('keys-in-client-code-possible-secret', false, { filesScanned: scanned })
            : findings.length > 0
              ? exposureResult('keys-in-client-code-public-web-key', false, { filesScanned: scanned })
              : exposureResult('keys-in-client-code-none', true, { filesScanned: scanned }),
      },
    };
  },
};
