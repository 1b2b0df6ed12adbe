/** Cross-Origin-Opener-Policy: a window opened by another site cannot keep a handle on this one. */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Cross-Origin-Opener-Policy`;
const COOP = RECOMMENDED_HEADERS.crossOriginOpenerPolicy;

export const crossOriginOpenerPolicyCheck: Check = {
  name: 'cross-origin-opener-policy',
  section: 'headers',
  run(facts): CheckOutput {
    const values = headerValues(facts.final.headers, 'cross-origin-opener-policy');
    // A structured-field token, possibly with parameters (`same-origin; report-to="x"`).
    const token = values.length === 1 ? (values[0] ?? '').split(';')[0]!.trim().toLowerCase() : '';
    const findings: Finding[] = [];
    const evidence = evidenceOf(facts.final, 'cross-origin-opener-policy');
    const add = (id: ResultId, severity: Finding['severity'], title: string): void => {
      findings.push(finding(id, severity, title, headerFix(COOP.name, COOP.value), { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
    };
    let result: ResultId;
    if (values.length === 0) {
      result = 'coop-not-implemented';
      add(result, 'info', 'No Cross-Origin-Opener-Policy: a page that opens this one (or that it opens) keeps a window handle across origins');
    } else if (token === 'same-origin' || token === 'noopener-allow-popups') {
      result = 'coop-same-origin';
    } else if (token === 'same-origin-allow-popups') {
      result = 'coop-same-origin-allow-popups';
    } else if (token === 'unsafe-none') {
      result = 'coop-unsafe-none';
      add(result, 'info', 'Cross-Origin-Opener-Policy is unsafe-none: no isolation from cross-origin windows');
    } else {
      result = 'coop-header-invalid';
      add(result, 'low', 'Cross-Origin-Opener-Policy has a value browsers do not know, so it is ignored');
    }
    return { findings, tests: { 'cross-origin-opener-policy': testResult(result, result === 'coop-same-origin' || result === 'coop-same-origin-allow-popups') } };
  },
};
