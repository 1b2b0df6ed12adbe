/**
 * Referrer-Policy: the header (a comma list, where browsers use the LAST token they know) and
 * <meta name="referrer"> (which, coming later, overrides the header).
 */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Referrer-Policy`;
const RP = RECOMMENDED_HEADERS.referrerPolicy;
export const PRIVATE_POLICIES = ['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin'];
/** These send the full URL (path and query, where tokens and keys hide) or the origin over plain HTTP. */
export const LEAKING_POLICIES = ['origin', 'origin-when-cross-origin', 'unsafe-url', 'no-referrer-when-downgrade'];
const VALID = new Set([...PRIVATE_POLICIES, ...LEAKING_POLICIES]);

export const referrerPolicyCheck: Check = {
  name: 'referrer-policy',
  section: 'headers',
  run(facts): CheckOutput {
    const header = headerValues(facts.final.headers, 'referrer-policy');
    const metas = facts.page?.referrers ?? [];
    const findings: Finding[] = [];
    const evidence = [evidenceOf(facts.final, 'referrer-policy'), ...metas.map((m) => `<meta name="referrer" content="${m}">`)].filter(Boolean).join('\n');
    const add = (id: string, severity: Finding['severity'], title: string, lead?: string): void => {
      findings.push(finding(id, severity, title, headerFix(RP.name, RP.value, lead), { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
    };
    if (header.length === 0 && metas.length === 0) {
      // Browsers default to strict-origin-when-cross-origin today, so this costs nothing; say it anyway.
      add('referrer-policy-not-implemented', 'info', 'No Referrer-Policy: older browsers send full URLs (paths, query strings) to other sites');
      return { findings, tests: { 'referrer-policy': testResult('referrer-policy-not-implemented', true) } };
    }
    const tokens = [...header, ...metas].join(',').split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
    const unknown = tokens.filter((t) => !VALID.has(t));
    const policy = tokens.filter((t) => VALID.has(t)).pop();
    let result: ResultId;
    if (policy === undefined) {
      result = 'referrer-policy-header-invalid';
      add(result, 'low', `Referrer-Policy has no value browsers know (${unknown.join(', ')}), so it is ignored`);
    } else if (LEAKING_POLICIES.includes(policy)) {
      result = 'referrer-policy-unsafe';
      add(result, 'low', `Referrer-Policy ${policy} leaks ${policy === 'origin' || policy === 'origin-when-cross-origin' ? 'the origin even over plain HTTP' : 'full URLs (paths and query strings) to other sites'}`);
    } else {
      result = 'referrer-policy-private';
      if (unknown.length > 0) {
        add('referrer-policy-unknown-token', 'info', `Referrer-Policy contains tokens browsers skip (${unknown.join(', ')}); the effective policy is ${policy}`,
          'Browsers use the last value they recognise; drop the others.');
      }
    }
    const pass = result === 'referrer-policy-private';
    return { findings, tests: { 'referrer-policy': testResult(result, pass, { policy: policy ?? null }) } };
  },
};
