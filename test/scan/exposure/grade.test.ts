import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/finding.js';
import { EXPOSURE_MODIFIERS, exposureResult, gradeExposureSection } from '../../../src/scan/exposure/grade.js';

const clean = {
  'keys-in-client-code': exposureResult('keys-in-client-code-none', true),
  'direct-ai-calls': exposureResult('direct-ai-calls-none', true),
  'exposed-files': exposureResult('exposed-files-none', true),
};
const finding = (severity: Finding['severity'], extra: Partial<Finding> = {}): Finding => ({ id: 'x', severity, title: 't', recommendation: 'r', section: 'exposure', ...extra });

describe('gradeExposureSection', () => {
  it('gives A+ to a clean site, with the security.txt bonus above 100', () => {
    expect(gradeExposureSection(clean, [])).toEqual({ grade: 'A+', score: 100 });
    expect(gradeExposureSection({ ...clean, 'security-txt': exposureResult('security-txt-present', true) }, [])).toEqual({ grade: 'A+', score: 105 });
  });

  it('makes any critical finding F, whatever the arithmetic says', () => {
    expect(gradeExposureSection({ ...clean, 'security-txt': exposureResult('security-txt-present', true) }, [finding('critical')])).toEqual({ grade: 'F', score: 0 });
  });

  it('makes an exposed key F even when its finding is not critical', () => {
    expect(gradeExposureSection(clean, [finding('high', { secret: { rule: 'r', provider: 'p', redacted: 'x…abcd', fingerprint: 'sha256:0' } })]).grade).toBe('F');
  });

  it('takes 40 points for an exposed .git/ (C+) and gives no bonus then, 10 for a listing', () => {
    const tests = { ...clean, 'exposed-files': exposureResult('exposed-files-high', false), 'security-txt': exposureResult('security-txt-present', true) };
    expect(gradeExposureSection(tests, [finding('high')])).toEqual({ grade: 'C+', score: 60 });
    const listing = { ...clean, 'directory-listing': exposureResult('directory-listing-found', false) };
    expect(gradeExposureSection(listing, [finding('medium')])).toEqual({ grade: 'A', score: 90 });
  });

  it('has a modifier for every result and no bonus other than security.txt', () => {
    const bonuses = Object.entries(EXPOSURE_MODIFIERS).filter(([, v]) => v > 0).map(([k]) => k);
    expect(bonuses).toEqual(['security-txt-present']);
  });
});
