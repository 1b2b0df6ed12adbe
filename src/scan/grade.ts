/**
 * The scan's grader: every score modifier in ONE table (after the MDN HTTP Observatory's
 * SCORE_TABLE), a score→letter chart, the headers-section grader and `gradeScan`, which
 * grades each section with its own grader and caps the overall letter by the worst one.
 * docs/scoring.md explains every number here.
 */
import type { Finding } from '../finding.js';
import type { Check, CheckOutput, Grade, SectionName, TestResult } from './types.js';
import { gradeExposureSection } from './exposure/grade.js';
import { gradeTlsSection } from './tls/grade.js';
import { resultsFrom } from './test-result.js';

/**
 * Score modifier of every result id. The Observatory's results keep its numbers so both tools
 * give the same letter; results only keyward has are marked and explained in docs/scoring.md.
 */
export const SCORE_MODIFIERS = {
  // content-security-policy
  'csp-implemented-with-no-unsafe-default-src-none': 10,
  'csp-implemented-with-no-unsafe': 5,
  'csp-implemented-with-unsafe-inline-in-style-src-only': 0,
  'csp-implemented-with-insecure-scheme-in-passive-content-only': -10,
  'csp-implemented-with-unsafe-eval': -10,
  'csp-implemented-with-unsafe-inline': -20,
  'csp-implemented-with-insecure-scheme': -20,
  'csp-implemented-but-duplicate-directives': 0,
  'csp-header-invalid': -25,
  'csp-not-implemented': -25,
  'csp-not-implemented-but-reporting-enabled': -25,
  // cookies
  'cookies-secure-with-httponly-sessions-and-samesite': 5,
  'cookies-secure-with-httponly-sessions': 0,
  'cookies-not-found': 0,
  'cookies-without-secure-flag-but-protected-by-hsts': -5,
  'cookies-session-without-secure-flag-but-protected-by-hsts': -10,
  'cookies-without-secure-flag': -20,
  'cookies-samesite-flag-invalid': -20,
  'cookies-anticsrf-without-samesite-flag': -20,
  'cookies-session-without-httponly-flag': -30,
  'cookies-session-without-secure-flag': -40,
  // cross-origin-resource-sharing
  'cross-origin-resource-sharing-not-implemented': 0,
  'cross-origin-resource-sharing-implemented-with-public-access': 0,
  'cross-origin-resource-sharing-implemented-with-restricted-access': 0,
  /** Any foreign origin echoed with credentials: keyward detects it, the Observatory never does (docs/scoring.md). */
  'cross-origin-resource-sharing-implemented-with-universal-access': -50,
  /** keyward only: any foreign origin is echoed back, without credentials: public data only. */
  'cross-origin-resource-sharing-origin-reflected': 0,
  // redirection
  /** Never given by keyward: it ships no HSTS preload list (docs/scoring.md). */
  'redirection-all-redirects-preloaded': 0,
  'redirection-to-https': 0,
  'redirection-not-needed-no-http': 0,
  'redirection-off-host-from-http': -5,
  'redirection-not-to-https-on-initial-redirection': -10,
  'redirection-not-to-https': -20,
  'redirection-missing': -20,
  'redirection-invalid-cert': -20,
  // referrer-policy
  'referrer-policy-private': 5,
  'referrer-policy-not-implemented': 0,
  'referrer-policy-unsafe': -5,
  'referrer-policy-header-invalid': -5,
  // strict-transport-security
  /** Never given by keyward: it ships no HSTS preload list (docs/scoring.md). */
  'hsts-preloaded': 5,
  'hsts-implemented-max-age-at-least-six-months': 0,
  'hsts-implemented-max-age-less-than-six-months': -10,
  'hsts-not-implemented': -20,
  'hsts-header-invalid': -20,
  'hsts-not-implemented-no-https': -20,
  /** A page whose certificate fails verification: browsers ignore its HSTS (with strictTls the scan stops instead). */
  'hsts-invalid-cert': -20,
  // subresource-integrity
  'sri-implemented-and-all-scripts-loaded-securely': 5,
  'sri-implemented-and-external-scripts-loaded-securely': 5,
  'sri-not-implemented-response-not-html': 0,
  'sri-not-implemented-but-no-scripts-loaded': 0,
  'sri-not-implemented-but-all-scripts-loaded-from-secure-origin': 0,
  'sri-not-implemented-but-external-scripts-loaded-securely': -5,
  'sri-implemented-but-external-scripts-not-loaded-securely': -20,
  'sri-not-implemented-and-external-scripts-not-loaded-securely': -50,
  // x-content-type-options
  'x-content-type-options-nosniff': 0,
  'x-content-type-options-not-implemented': -5,
  'x-content-type-options-header-invalid': -5,
  // x-frame-options (clickjacking)
  'x-frame-options-implemented-via-csp': 5,
  'x-frame-options-sameorigin-or-deny': 0,
  'x-frame-options-allow-from-origin': 0,
  'x-frame-options-not-implemented': -20,
  'x-frame-options-header-invalid': -20,
  /** keyward only: a header frame-ancestors of `*` or a bare scheme overrides X-Frame-Options and allows any framer. */
  'x-frame-options-csp-frame-ancestors-permissive': -20,
  // cross-origin-resource-policy
  'corp-header-invalid': -5,
  'corp-implemented-with-cross-origin': 0,
  'corp-implemented-with-same-origin': 10,
  'corp-implemented-with-same-site': 10,
  'corp-not-implemented': 0,
  // keyward-only tests: reported as findings, scored 0 so the headers letter stays the Observatory's
  'permissions-policy-restrictive': 0,
  'permissions-policy-not-restrictive': 0,
  'permissions-policy-not-implemented': 0,
  'permissions-policy-header-invalid': 0,
  'coop-same-origin': 0,
  'coop-same-origin-allow-popups': 0,
  'coop-unsafe-none': 0,
  'coop-not-implemented': 0,
  'coop-header-invalid': 0,
  'coep-require-corp': 0,
  'coep-credentialless': 0,
  'coep-unsafe-none': 0,
  'coep-not-implemented': 0,
  'coep-header-invalid': 0,
  'info-leak-none': 0,
  'info-leak-headers-present': 0,
  'deprecated-headers-none': 0,
  'deprecated-headers-present': 0,
} as const satisfies Record<string, number>;

export type ResultId = keyof typeof SCORE_MODIFIERS;

/** Builds a TestResult whose modifier comes from the one table. */
export const testResult: (result: ResultId, pass: boolean, data?: Record<string, unknown>) => TestResult = resultsFrom(SCORE_MODIFIERS);

/** Bonuses only count when the penalty-only score already earns an A (the Observatory's rule). */
export const MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90;
export const BASE_SCORE = 100;

/** Lowest score of each letter, best first (the Observatory's GRADE_CHART). */
export const GRADE_CHART: ReadonlyArray<readonly [min: number, grade: Grade]> = [
  [100, 'A+'],
  [90, 'A'],
  [85, 'A-'],
  [80, 'B+'],
  [70, 'B'],
  [65, 'B-'],
  [60, 'C+'],
  [50, 'C'],
  [45, 'C-'],
  [40, 'D+'],
  [30, 'D'],
  [25, 'D-'],
  [0, 'F'],
];

export const GRADES: readonly Grade[] = GRADE_CHART.map(([, g]) => g);

export function gradeForScore(score: number): Grade {
  for (const [min, grade] of GRADE_CHART) if (score >= min) return grade;
  return 'F';
}

/** Position of a letter, 0 = A+ (best); higher is worse. */
export function gradeRank(grade: Grade): number {
  return GRADES.indexOf(grade);
}

export function isGrade(s: string): s is Grade {
  return (GRADES as readonly string[]).includes(s);
}

/** The worse of two letters. */
export function worseGrade(a: Grade, b: Grade): Grade {
  return gradeRank(a) >= gradeRank(b) ? a : b;
}

export type SectionGrader = (tests: Record<string, TestResult>, findings: Finding[]) => { grade: Grade; score: number };

/** The Observatory's model: base 100, penalties, bonuses only when the penalty-only score is ≥ 90. */
export function gradeHeadersSection(tests: Record<string, TestResult>): { grade: Grade; score: number } {
  let withBonus = BASE_SCORE;
  let penaltiesOnly = BASE_SCORE;
  for (const t of Object.values(tests)) {
    withBonus += t.scoreModifier;
    if (t.scoreModifier < 0) penaltiesOnly += t.scoreModifier;
  }
  const score = Math.max(0, penaltiesOnly >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? withBonus : penaltiesOnly);
  return { grade: gradeForScore(score), score };
}

/** One grader per section; the TLS and exposure sections bring their own. */
export const SECTION_GRADERS: Partial<Record<SectionName, SectionGrader>> = {
  headers: gradeHeadersSection,
  exposure: gradeExposureSection,
  tls: gradeTlsSection,
};

export interface SectionGrade {
  grade: Grade;
  score: number;
  tests: Record<string, TestResult>;
}

export interface GradeResult {
  grade: Grade;
  score: number;
  sections: Partial<Record<SectionName, SectionGrade>>;
}

/**
 * Grades every section that has a grader and ran at least one check, then the whole scan:
 * the mean of the section scores as a letter, capped by the worst section's letter; any
 * exposed secret, or a page certificate that fails verification, makes it F whatever else is true.
 */
export function gradeScan(outputs: Array<{ check: Check; output: CheckOutput }>, findings: Finding[], scan: { certificateRejected?: boolean } = {}): GradeResult {
  const bySection = new Map<SectionName, Record<string, TestResult>>();
  for (const { check, output } of outputs) {
    const tests = bySection.get(check.section) ?? {};
    Object.assign(tests, output.tests);
    bySection.set(check.section, tests);
  }

  const sections: Partial<Record<SectionName, SectionGrade>> = {};
  for (const [section, tests] of bySection) {
    const grader = SECTION_GRADERS[section];
    if (!grader) continue;
    // A section whose checks reported no test does not apply (e.g. TLS on a plain-HTTP scan).
    if (Object.keys(tests).length === 0) continue;
    const sectionFindings = findings.filter((f) => f.section === section);
    const { grade, score } = grader(tests, sectionFindings);
    sections[section] = { grade, score, tests };
  }

  const graded = Object.values(sections);
  if (graded.length === 0) return { grade: 'F', score: 0, sections };

  const score = Math.round(graded.reduce((sum, s) => sum + Math.max(0, s.score), 0) / graded.length);
  let grade = gradeForScore(score);
  for (const s of graded) grade = worseGrade(grade, s.grade);
  if (findings.some((f) => f.secret !== undefined)) grade = 'F';
  // Also when the tls section did not run (--sections headers): browsers refuse the page.
  if (scan.certificateRejected) grade = 'F';
  return { grade, score, sections };
}
