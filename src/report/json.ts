/**
 * Machine-readable findings: `{"schema": "keyward.secrets/1", "findings": [...]}`. The schema name is a
 * parameter so `keyward audit` writes `keyward.audit/1` with the same field names.
 */
import type { Finding, Location, Severity } from '../finding.js';
import { SEVERITIES } from '../finding.js';

/** One finding, flattened (its location at the top level) so that `jq '.findings[].file'` works. Absent values are omitted. */
export interface JsonFinding extends Location {
  id: string;
  severity: Severity;
  title: string;
  /** The rule that fired: the secret rule id, or the finding id when no secret is involved. */
  rule: string;
  provider?: string;
  fingerprint?: string;
  redacted?: string;
  revokeUrl?: string;
  /** With `--verify`: `live`, `rejected` or `unknown`, and what the provider answered. */
  live?: 'live' | 'rejected' | 'unknown';
  liveDetail?: string;
  evidence?: string;
  recommendation: string;
  docs?: string;
}

export interface JsonReport {
  schema: string;
  tool: { name: 'keyward'; version: string };
  summary: { total: number } & Record<Severity, number>;
  findings: JsonFinding[];
}

export function toJsonFinding(f: Finding): JsonFinding {
  const out: JsonFinding = {
    id: f.id,
    severity: f.severity,
    title: f.title,
    rule: f.secret?.rule ?? f.id,
    provider: f.secret?.provider,
    file: f.location?.file,
    url: f.location?.url,
    line: f.location?.line,
    column: f.location?.column,
    commit: f.location?.commit,
    date: f.location?.date,
    fingerprint: f.secret?.fingerprint,
    redacted: f.secret?.redacted,
    revokeUrl: f.secret?.revokeUrl,
    live: f.secret?.live?.verdict,
    liveDetail: f.secret?.live?.detail,
    evidence: f.evidence,
    recommendation: f.recommendation,
    docs: f.docs,
  };
  for (const k of Object.keys(out) as (keyof JsonFinding)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export function buildJsonReport(findings: readonly Finding[], options: { schema: string; version: string }): JsonReport {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return {
    schema: options.schema,
    tool: { name: 'keyward', version: options.version },
    summary: { total: findings.length, ...counts },
    findings: findings.map(toJsonFinding),
  };
}

export function renderJson(findings: readonly Finding[], options: { schema: string; version: string }): string {
  return `${JSON.stringify(buildJsonReport(findings, options), null, 2)}\n`;
}
