/** Keys in client-side code: the page, its scripts and lazy chunks, and their source maps. */
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS, groupByFingerprint, secretFinding } from './exposure-support.js';

const PLACES = { page: 'the page HTML', script: 'client-side JavaScript', 'source-map': 'a public source map' } as const;

export const exposureKeysInClientCheck: Check = {
  name: 'keys-in-client-code',
  section: 'exposure',
  run(facts): CheckOutput {
    const secrets = (facts.exposure?.secrets ?? []).filter((s) => s.where !== 'exposed-file');
    const keys = groupByFingerprint(secrets).map((group) => secretFinding('key-in-client-code', group, PLACES[group[0]!.where as keyof typeof PLACES], 'keys-in-client-code'));
    const scanned = facts.exposure?.files.filter((f) => f.error === undefined).length ?? 0;
    const findings = [...keys];
    if (facts.exposure?.error !== undefined) {
      findings.push({
        id: 'exposure-scan-failed',
        severity: 'info',
        title: `The exposure scan stopped early: ${facts.exposure.error}`,
        recommendation: 'Scan again; if it keeps failing, scan the build output with `keyward secrets dist/` and report the error.',
        docs: `${EXPOSURE_DOCS}#keys-in-client-code`,
        section: 'exposure',
        location: { url: facts.final.url },
      });
    }
    const budget = facts.exposure?.budget;
    if (budget?.stoppedBy) {
      // A clean result is only as good as what was read: say what was left out.
      const bound = { files: `the ${budget.files}-file bound`, bytes: 'the byte bound', time: "the site's time bound" }[budget.stoppedBy];
      findings.push({
        id: 'client-code-partly-scanned',
        severity: 'info',
        title: `Not every script was scanned: ${bound} stopped the crawl with ${budget.skipped} file${budget.skipped === 1 ? '' : 's'} left out`,
        evidence: `${scanned} files scanned, ${(budget.bytes / 1024 / 1024).toFixed(1)} MiB`,
        recommendation: 'Scan again with a longer --timeout, or scan your build output directly with `keyward secrets dist/` (or .next/, build/), which has no such bound.',
        docs: `${EXPOSURE_DOCS}#keys-in-client-code`,
        section: 'exposure',
        location: { url: facts.final.url },
      });
    }
    return {
      findings,
      tests: {
        'keys-in-client-code': keys.some((f) => f.secret !== undefined)
          ? exposureResult('keys-in-client-code-found', false, { keys: keys.filter((f) => f.secret !== undefined).length, filesScanned: scanned })
          : keys.some((f) => f.id === 'key-in-client-code')
            ? exposureResult('keys-in-client-code-possible-secret', false, { filesScanned: scanned })
            : keys.length > 0
              ? exposureResult('keys-in-client-code-public-web-key', false, { filesScanned: scanned })
              : exposureResult('keys-in-client-code-none', true, { filesScanned: scanned }),
      },
    };
  },
};
