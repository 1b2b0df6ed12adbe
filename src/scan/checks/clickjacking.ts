/**
 * Clickjacking: X-Frame-Options and CSP frame-ancestors. When a header policy has
 * frame-ancestors, browsers ignore X-Frame-Options entirely (CSP3 §6.4.2), so it wins — even
 * when it is `*`. frame-ancestors in a <meta> policy is ignored by browsers.
 */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { frameAncestorsRestrict } from '../csp/evaluate.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { analyseCsp } from './csp.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/Security/Practical_implementation_guides/Clickjacking`;
const XFO = RECOMMENDED_HEADERS.xFrameOptions;
const FIX = [
  headerFix('Content-Security-Policy', "frame-ancestors 'none'", "Send frame-ancestors in the Content-Security-Policy header ('self' if the site frames itself):"),
  headerFix(XFO.name, XFO.value, 'and, for old browsers:'),
].join('\n');

/** HTML's X-Frame-Options processing: a comma-separated set; conflicting values are ignored. */
function parseXfo(values: string[]): { value?: 'deny' | 'sameorigin' | 'allow-from'; problem?: string } {
  const set = new Set(values.join(',').split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== ''));
  if (set.size > 1) return { problem: `conflicting values (${[...set].join(', ')})` };
  const [v = ''] = [...set];
  if (v === 'deny' || v === 'sameorigin') return { value: v };
  if (v.startsWith('allow-from')) return { value: 'allow-from' };
  return { problem: `"${v}" is not DENY or SAMEORIGIN` };
}

export const clickjackingCheck: Check = {
  name: 'x-frame-options',
  section: 'headers',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    const url = facts.final.url;
    const evidence = evidenceOf(facts.final, 'x-frame-options', 'content-security-policy');
    const add = (id: string, severity: Finding['severity'], title: string, recommendation = FIX): void => {
      findings.push(finding(id, severity, title, recommendation, { docs: DOCS, url, ...(evidence ? { evidence } : {}) }));
    };
    const xfoValues = headerValues(facts.final.headers, 'x-frame-options');
    const { enforced, policies } = analyseCsp(facts);
    const headerFa = enforced.filter((p) => p.source === 'header').map((p) => p.directives.get('frame-ancestors')).filter((fa) => fa !== undefined);
    const metaOnlyFa = headerFa.length === 0 && policies.some((p) => p.source === 'meta' && p.ignored.includes('frame-ancestors'));

    let result: ResultId;
    if (headerFa.length > 0) {
      // Every header policy applies; framing is blocked when any one of them restricts it.
      if (headerFa.some((fa) => frameAncestorsRestrict(fa))) {
        result = 'x-frame-options-implemented-via-csp';
      } else {
        result = 'x-frame-options-csp-frame-ancestors-permissive';
        add(result, 'medium',
          `CSP frame-ancestors ${headerFa[0]!.join(' ')} lets any site frame the page${xfoValues.length > 0 ? ', and browsers then ignore X-Frame-Options' : ''}`);
      }
    } else if (xfoValues.length === 0) {
      result = 'x-frame-options-not-implemented';
      add(result, 'medium', metaOnlyFa
        ? 'frame-ancestors is only in a <meta> policy, which browsers ignore, and there is no X-Frame-Options: any site can frame the page'
        : 'Neither X-Frame-Options nor CSP frame-ancestors: any site can frame the page (clickjacking)');
    } else {
      const xfo = parseXfo(xfoValues);
      if (xfo.problem !== undefined) {
        result = 'x-frame-options-header-invalid';
        add(result, 'medium', `X-Frame-Options is invalid (${xfo.problem}), so browsers ignore it`);
      } else if (xfo.value === 'allow-from') {
        result = 'x-frame-options-allow-from-origin';
        add('x-frame-options-allow-from-ignored', 'medium', 'X-Frame-Options ALLOW-FROM is ignored by every current browser: the page can be framed by anyone',
          headerFix('Content-Security-Policy', 'frame-ancestors https://the-allowed-origin.example', 'Name the allowed origin in CSP frame-ancestors instead:'));
      } else {
        result = 'x-frame-options-sameorigin-or-deny';
      }
      if (metaOnlyFa) add('clickjacking-frame-ancestors-in-meta', 'low', 'frame-ancestors in a <meta> policy is ignored by browsers; only X-Frame-Options protects the page');
    }
    const pass = result === 'x-frame-options-implemented-via-csp' || result === 'x-frame-options-sameorigin-or-deny' || result === 'x-frame-options-allow-from-origin';
    return { findings, tests: { 'x-frame-options': testResult(result, pass) } };
  },
};
