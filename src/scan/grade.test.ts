import { describe, expect, it } from 'vitest';
import type { Finding } from '../finding.js';
import { gradeForScore, gradeHeadersSection, gradeScan, SCORE_MODIFIERS, SECTION_GRADERS, testResult } from './grade.js';
import type { Check, CheckOutput, TestResult } from './types.js';

const check = (section: Check['section']): Check => ({ name: `c-${section}`, section, run: () => ({ findings: [], tests: {} }) });
const out = (tests: Record<string, TestResult>): CheckOutput => ({ findings: [], tests });

describe('grade chart', () => {
  it.each([
    [135, 'A+'], [100, 'A+'], [99, 'A'], [90, 'A'], [89, 'A-'], [85, 'A-'], [80, 'B+'], [79, 'B'], [70, 'B'], [65, 'B-'],
    [60, 'C+'], [50, 'C'], [45, 'C-'], [40, 'D+'], [30, 'D'], [25, 'D-'], [24, 'F'], [0, 'F'],
  ] as const)('gives %i points the letter %s, as the Observatory does', (score, grade) => {
    expect(gradeForScore(score)).toBe(grade);
  });
});

describe('headers section', () => {
  it('adds bonuses only when the penalty-only score is at least 90', () => {
    expect(gradeHeadersSection({ a: testResult('csp-implemented-with-no-unsafe-default-src-none', true), b: testResult('referrer-policy-unsafe', false) }))
      .toEqual({ grade: 'A+', score: 105 });
    expect(gradeHeadersSection({ a: testResult('csp-implemented-with-no-unsafe-default-src-none', true), b: testResult('hsts-not-implemented', false) }))
      .toEqual({ grade: 'B+', score: 80 }); // 100 − 20 = 80, the +10 withheld
  });

  it('never goes below zero', () => {
    expect(gradeHeadersSection({ a: testResult('sri-not-implemented-and-external-scripts-not-loaded-securely', false), b: testResult('cookies-session-without-secure-flag', false), c: testResult('csp-not-implemented', false) }).score).toBe(0);
  });

  it('takes every modifier from the one table', () => {
    expect(testResult('hsts-not-implemented', false).scoreModifier).toBe(SCORE_MODIFIERS['hsts-not-implemented']);
  });
});

describe('gradeScan', () => {
  it('grades each section with its grader and caps the overall letter by the worst section', () => {
    const graders = { ...SECTION_GRADERS };
    SECTION_GRADERS.tls = () => ({ grade: 'C', score: 95 });
    try {
      const g = gradeScan([
        { check: check('headers'), output: out({ x: testResult('x-content-type-options-nosniff', true) }) },
        { check: check('tls'), output: out({ y: { result: 'tls-ok', pass: true, scoreModifier: 0 } }) },
      ], []);
      expect(g.sections.headers?.grade).toBe('A+');
      expect(g.sections.tls?.grade).toBe('C');
      expect(g.grade).toBe('C');
    } finally {
      Object.assign(SECTION_GRADERS, graders);
      if (!graders.tls) delete SECTION_GRADERS.tls;
    }
  });

  it('gives F whenever a finding carries an exposed secret', () => {
    const secret: Finding = {
      id: 'exposure-key', severity: 'critical', title: 'key', recommendation: 'revoke', section: 'headers',
      secret: { rule: 'openai', provider: 'OpenAI', redacted: 'sk-…abcd', fingerprint: 'f' },
    };
    const g = gradeScan([{ check: check('headers'), output: out({ x: testResult('x-content-type-options-nosniff', true) }) }], [secret]);
    expect(g.sections.headers?.grade).toBe('A+');
    expect(g.grade).toBe('F');
  });

  it('gives F when the page certificate was refused, even with only an A+ headers section', () => {
    const outputs = [{ check: check('headers'), output: out({ x: testResult('x-content-type-options-nosniff', true) }) }];
    expect(gradeScan(outputs, [], { certificateRejected: true })).toMatchObject({ grade: 'F', sections: { headers: { grade: 'A+' } } });
    expect(gradeScan(outputs, [], { certificateRejected: false }).grade).toBe('A+');
  });

  it('leaves out sections that ran no test', () => {
    const g = gradeScan([{ check: check('headers'), output: out({ x: testResult('x-content-type-options-nosniff', true) }) }, { check: check('tls'), output: out({}) }], []);
    expect(Object.keys(g.sections)).toEqual(['headers']);
  });
});
