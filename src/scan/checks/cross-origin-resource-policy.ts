/** Cross-Origin-Resource-Policy: who may embed this response (no-cors requests). */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Cross-Origin-Resource-Policy`;
const CORP = RECOMMENDED_HEADERS.crossOriginResourcePolicy;

export const crossOriginResourcePolicyCheck: Check = {
  name: 'cross-origin-resource-policy',
  section: 'headers',
  run(facts): CheckOutput {
    const values = headerValues(facts.final.headers, 'cross-origin-resource-policy');
    const findings: Finding[] = [];
    const value = values.join(',').trim().toLowerCase();
    let result: ResultId;
    if (values.length === 0) {
      result = 'corp-not-implemented';
      findings.push(finding(result, 'info', 'No Cross-Origin-Resource-Policy: other sites may embed this response',
        headerFix(CORP.name, CORP.value, 'Send same-origin (or same-site) unless other sites must embed it:'), { docs: DOCS, url: facts.final.url }));
    } else if (value === 'same-origin') {
      result = 'corp-implemented-with-same-origin';
    } else if (value === 'same-site') {
      result = 'corp-implemented-with-same-site';
    } else if (value === 'cross-origin') {
      result = 'corp-implemented-with-cross-origin';
    } else {
      result = 'corp-header-invalid';
      const evidence = evidenceOf(facts.final, 'cross-origin-resource-policy');
      findings.push(finding(result, 'low', 'Cross-Origin-Resource-Policy is not same-origin, same-site or cross-origin, so browsers ignore it',
        headerFix(CORP.name, CORP.value), { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
    }
    const pass = result === 'corp-implemented-with-same-origin' || result === 'corp-implemented-with-same-site';
    return { findings, tests: { 'cross-origin-resource-policy': testResult(result, pass) } };
  },
};
