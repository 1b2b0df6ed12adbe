/** Cross-Origin-Embedder-Policy: only resources that opt in load (with COOP: cross-origin isolation). */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Cross-Origin-Embedder-Policy`;
const COEP = RECOMMENDED_HEADERS.crossOriginEmbedderPolicy;

export const crossOriginEmbedderPolicyCheck: Check = {
  name: 'cross-origin-embedder-policy',
  section: 'headers',
  run(facts): CheckOutput {
    const values = headerValues(facts.final.headers, 'cross-origin-embedder-policy');
    const token = values.length === 1 ? (values[0] ?? '').split(';')[0]!.trim().toLowerCase() : '';
    const findings: Finding[] = [];
    const evidence = evidenceOf(facts.final, 'cross-origin-embedder-policy');
    const add = (id: ResultId, severity: Finding['severity'], title: string): void => {
      findings.push(finding(id, severity, title, headerFix(COEP.name, COEP.value, 'If every embedded resource can opt in (CORS or CORP), send:'),
        { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
    };
    let result: ResultId;
    if (values.length === 0) {
      result = 'coep-not-implemented';
      add(result, 'info', 'No Cross-Origin-Embedder-Policy: the page is not cross-origin isolated');
    } else if (token === 'require-corp') {
      result = 'coep-require-corp';
    } else if (token === 'credentialless') {
      result = 'coep-credentialless';
    } else if (token === 'unsafe-none') {
      result = 'coep-unsafe-none';
      add(result, 'info', 'Cross-Origin-Embedder-Policy is unsafe-none: the page is not cross-origin isolated');
    } else {
      result = 'coep-header-invalid';
      add(result, 'low', 'Cross-Origin-Embedder-Policy has a value browsers do not know, so it is ignored');
    }
    return { findings, tests: { 'cross-origin-embedder-policy': testResult(result, result === 'coep-require-corp' || result === 'coep-credentialless') } };
  },
};
