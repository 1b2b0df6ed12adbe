/** Headers that are obsolete or harmful: X-XSS-Protection other than 0, Expect-CT, HPKP, Feature-Policy. */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { clip, finding, headerFix, headerValues, MDN, removeHeaderFix } from './support.js';

const XXP = RECOMMENDED_HEADERS.xXssProtection;

export const deprecatedHeadersCheck: Check = {
  name: 'deprecated-headers',
  section: 'headers',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    const h = facts.final.headers;
    const ev = (name: string, label: string): string => headerValues(h, name).map((v) => `${label}: ${clip(v, 300)}`).join('\n');
    const url = facts.final.url;

    const xxp = headerValues(h, 'x-xss-protection');
    if (xxp.length > 0 && !(xxp.length === 1 && xxp[0]!.trim() === '0')) {
      findings.push(finding('deprecated-x-xss-protection-enabled', 'low',
        'X-XSS-Protection turns on the old XSS auditor, which itself leaked page data across origins (and is gone from current browsers)',
        headerFix(XXP.name, XXP.value, 'Rely on Content-Security-Policy and switch the auditor off explicitly:'),
        { docs: `${MDN}/Web/HTTP/Headers/X-XSS-Protection`, url, evidence: ev('x-xss-protection', 'X-XSS-Protection') }));
    }
    if (headerValues(h, 'expect-ct').length > 0) {
      findings.push(finding('deprecated-expect-ct', 'info', 'Expect-CT is obsolete: every certificate must be logged anyway, and browsers ignore the header',
        removeHeaderFix('Expect-CT', 'Stop sending Expect-CT.'), { docs: `${MDN}/Web/HTTP/Headers/Expect-CT`, url, evidence: ev('expect-ct', 'Expect-CT') }));
    }
    for (const [name, label] of [['public-key-pins', 'Public-Key-Pins'], ['public-key-pins-report-only', 'Public-Key-Pins-Report-Only']] as const) {
      if (headerValues(h, name).length === 0) continue;
      findings.push(finding('deprecated-public-key-pins', name === 'public-key-pins' ? 'low' : 'info',
        `${label} (HPKP) is dead and dangerous: a lost or rotated key could lock users out, and browsers removed it`,
        removeHeaderFix(label, `Stop sending ${label}; use Certificate Transparency monitoring instead.`),
        { docs: `${MDN}/Web/HTTP/Headers/Public-Key-Pins`, url, evidence: ev(name, label) }));
    }
    if (headerValues(h, 'feature-policy').length > 0 && headerValues(h, 'permissions-policy').length === 0) {
      findings.push(finding('deprecated-feature-policy', 'info', 'Feature-Policy was replaced by Permissions-Policy, which current browsers read instead',
        headerFix(RECOMMENDED_HEADERS.permissionsPolicy.name, RECOMMENDED_HEADERS.permissionsPolicy.value),
        { docs: `${MDN}/Web/HTTP/Headers/Permissions-Policy`, url, evidence: ev('feature-policy', 'Feature-Policy') }));
    }
    return {
      findings,
      tests: {
        'deprecated-headers': findings.length > 0
          ? testResult('deprecated-headers-present', false, { ids: findings.map((f) => f.id) })
          : testResult('deprecated-headers-none', true),
      },
    };
  },
};
