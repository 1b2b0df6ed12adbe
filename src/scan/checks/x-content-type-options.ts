/** X-Content-Type-Options: nosniff (the Fetch standard reads the first value). */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/X-Content-Type-Options`;
const XCTO = RECOMMENDED_HEADERS.xContentTypeOptions;

export const xContentTypeOptionsCheck: Check = {
  name: 'x-content-type-options',
  section: 'headers',
  run(facts): CheckOutput {
    const values = headerValues(facts.final.headers, 'x-content-type-options');
    const findings: Finding[] = [];
    const evidence = evidenceOf(facts.final, 'x-content-type-options');
    const first = values.join(',').split(',')[0]?.trim().toLowerCase();
    if (values.length === 0) {
      findings.push(finding('x-content-type-options-not-implemented', 'low', 'No X-Content-Type-Options: browsers may sniff a script out of an upload',
        headerFix(XCTO.name, XCTO.value), { docs: DOCS, url: facts.final.url }));
      return { findings, tests: { 'x-content-type-options': testResult('x-content-type-options-not-implemented', false) } };
    }
    if (first !== 'nosniff') {
      findings.push(finding('x-content-type-options-header-invalid', 'low', 'X-Content-Type-Options is not "nosniff", so browsers ignore it',
        headerFix(XCTO.name, XCTO.value), { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
      return { findings, tests: { 'x-content-type-options': testResult('x-content-type-options-header-invalid', false) } };
    }
    return { findings, tests: { 'x-content-type-options': testResult('x-content-type-options-nosniff', true) } };
  },
};
