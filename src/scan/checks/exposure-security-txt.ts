/** security.txt (RFC 9116): its presence tells a finder of a leaked key where to report it. */
import type { Finding } from '../../finding.js';
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS } from './exposure-support.js';

const EXAMPLE = 'Contact: mailto:security@your-domain\nExpires: <a date within a year, e.g. 2027-12-31T23:59:59Z>';

export const exposureSecurityTxtCheck: Check = {
  name: 'security-txt',
  section: 'exposure',
  run(facts): CheckOutput {
    const txt = facts.exposure?.securityTxt;
    const findings: Finding[] = [];
    if (!txt) return { findings, tests: {} };
    const base = { docs: `${EXPOSURE_DOCS}#security-txt`, section: 'exposure', location: { url: txt.url } } as const;
    if (!txt.found) {
      findings.push({ id: 'security-txt-missing', severity: 'info', title: 'No /.well-known/security.txt: someone who finds a leaked key has no address to report it to', recommendation: `Serve /.well-known/security.txt (RFC 9116):\n${EXAMPLE}`, ...base });
      return { findings, tests: { 'security-txt': exposureResult('security-txt-missing', false) } };
    }
    if (txt.expired) {
      findings.push({ id: 'security-txt-expired', severity: 'low', title: `security.txt expired on ${txt.expires}`, evidence: `Expires: ${txt.expires}`, recommendation: `Update its Expires field (at most a year ahead):\n${EXAMPLE}`, ...base });
      return { findings, tests: { 'security-txt': exposureResult('security-txt-expired', false, { contacts: txt.contacts }) } };
    }
    return { findings, tests: { 'security-txt': exposureResult('security-txt-present', true, { contacts: txt.contacts }) } };
  },
};
