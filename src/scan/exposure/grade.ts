/**
 * The exposure section's scores: every result's modifier in ONE table, the same letter chart as
 * the headers section, and the rule that outranks the arithmetic: anything critical (a key in
 * client code or an exposed file, a direct browser call to an AI API, an interactive debugger,
 * a credentials file) makes the section F. docs/scoring.md ("Exposure") explains each number.
 */
import type { Finding } from '../../finding.js';
import { BASE_SCORE, gradeForScore, MINIMUM_SCORE_FOR_EXTRA_CREDIT } from '../grade.js';
import { resultsFrom } from '../test-result.js';
import type { Grade, TestResult } from '../types.js';

export const EXPOSURE_MODIFIERS = {
  'keys-in-client-code-none': 0,
  'keys-in-client-code-found': -100,
  /** Only a Firebase web config key: public by design, but restrictions cannot be seen from outside. */
  'keys-in-client-code-public-web-key': -5,
  /** Only medium/low matches (a generic `secret = "…"`): likely a credential, not a known provider's key. */
  'keys-in-client-code-possible-secret': -10,
  'secrets-in-exposed-files-none': 0,
  'secrets-in-exposed-files-found': -100,
  'direct-ai-calls-none': 0,
  'direct-ai-calls-found': -100,
  'source-maps-none': 0,
  /** Maps list file names only: the structure of the code is public, not the code. */
  'source-maps-names-only': -5,
  /** Maps ship `sourcesContent`: the original source, comments and all, is public. */
  'source-maps-with-sources': -20,
  'exposed-files-none': 0,
  'exposed-files-low': -5,
  'exposed-files-medium': -20,
  'exposed-files-high': -40,
  'exposed-files-critical': -100,
  'directory-listing-none': 0,
  'directory-listing-found': -10,
  'debug-pages-none': 0,
  'debug-pages-stack-trace': -20,
  'debug-pages-debug-mode': -30,
  /** An interactive debugger (Werkzeug) runs code for anyone who reaches it. */
  'debug-pages-debugger': -100,
  'security-txt-present': 5,
  'security-txt-expired': 0,
  'security-txt-missing': 0,
} as const satisfies Record<string, number>;

export type ExposureResultId = keyof typeof EXPOSURE_MODIFIERS;

export const exposureResult: (result: ExposureResultId, pass: boolean, data?: Record<string, unknown>) => TestResult = resultsFrom(EXPOSURE_MODIFIERS);

/** Base 100 plus the modifiers (bonuses only when penalties leave ≥ 90); any critical finding is F. */
export function gradeExposureSection(tests: Record<string, TestResult>, findings: Finding[]): { grade: Grade; score: number } {
  let penaltiesOnly = BASE_SCORE;
  let withBonus = BASE_SCORE;
  for (const t of Object.values(tests)) {
    withBonus += t.scoreModifier;
    if (t.scoreModifier < 0) penaltiesOnly += t.scoreModifier;
  }
  if (findings.some((f) => f.severity === 'critical' || f.secret !== undefined)) return { grade: 'F', score: 0 };
  const score = Math.max(0, penaltiesOnly >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? withBonus : penaltiesOnly);
  return { grade: gradeForScore(score), score };
}
