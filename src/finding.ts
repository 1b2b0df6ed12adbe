/**
 * The one finding type shared by `scan`, `secrets` and `audit` (DESIGN.md).
 * Reports render findings; they never recompute them.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; used to sort findings by impact and to apply `--fail-on`. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(s);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** Where a finding was seen. Every field is optional; each job fills what it knows. */
export interface Location {
  /** File path (secrets, audit) or URL (scan). */
  file?: string;
  url?: string;
  line?: number;
  column?: number;
  /** Git commit, for findings from history. */
  commit?: string;
  /** ISO date of the commit's author date. */
  date?: string;
}

/** What is known about a secret behind a finding. Never the secret itself. */
export interface SecretRef {
  rule: string;
  provider: string;
  /** Short prefix, an ellipsis and the last 4 characters, e.g. `sk-proj-…abcd`. */
  redacted: string;
  /** A stable hash of the secret, to recognise it across reports and baselines. */
  fingerprint: string;
  /** Where to revoke it. */
  revokeUrl?: string;
  /** Whether its issuer still accepts it, when asked (`keyward secrets --verify`). */
  live?: { verdict: 'live' | 'rejected' | 'unknown'; detail: string };
}

export interface Finding {
  /** Stable result id, e.g. `csp-unsafe-inline` or `secret-openai-project-key`. */
  id: string;
  severity: Severity;
  title: string;
  /** What was seen, always redacted (a header as sent, a line with the key masked, …). */
  evidence?: string;
  /** What to do about it, concretely. */
  recommendation: string;
  /** A link to the documentation of this result. */
  docs?: string;
  /** For the site scan: which graded section the finding belongs to. */
  section?: string;
  location?: Location;
  secret?: SecretRef;
}

/** Worst first; ties keep their original order. */
export function sortByImpact<T extends Pick<Finding, 'severity'>>(findings: readonly T[]): T[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => severityRank(b.f.severity) - severityRank(a.f.severity) || a.i - b.i)
    .map(({ f }) => f);
}

/** True when any finding is at or above `threshold`. */
export function anyAtOrAbove(findings: readonly Pick<Finding, 'severity'>[], threshold: Severity): boolean {
  const min = severityRank(threshold);
  return findings.some((f) => severityRank(f.severity) >= min);
}
