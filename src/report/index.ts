/**
 * Findings reports shared by `keyward secrets` and `keyward audit`: text, JSON (schema name given by
 * the caller) and SARIF 2.1.0. Reports render findings; they never recompute them.
 */
import { KeywardError } from '../errors.js';
import type { Finding, Severity } from '../finding.js';
import { SEVERITIES, anyAtOrAbove, isSeverity } from '../finding.js';
import { renderJson } from './json.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';

export { buildJsonReport, renderJson, toJsonFinding, type JsonFinding, type JsonReport } from './json.js';
export { buildSarif, renderSarif, toSarifUri, type SarifOptions } from './sarif.js';
export { countLine, formatLocation, renderFinding, renderText, shouldColor, type TextOptions } from './text.js';

export const REPORT_FORMATS = ['text', 'json', 'sarif'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function parseReportFormat(s: string): ReportFormat {
  if ((REPORT_FORMATS as readonly string[]).includes(s)) return s as ReportFormat;
  throw new KeywardError('KW_USAGE', `unknown report format '${s}'`, { hint: `use one of: ${REPORT_FORMATS.join(', ')}` });
}

export interface ReportOptions {
  format: ReportFormat;
  /** JSON schema name, e.g. `keyward.secrets/1` or `keyward.audit/1`. */
  schema: string;
  version: string;
  color?: boolean;
  footer?: readonly string[];
  sarifTags?: readonly string[];
}

export function renderReport(findings: readonly Finding[], o: ReportOptions): string {
  switch (o.format) {
    case 'json':
      return renderJson(findings, { schema: o.schema, version: o.version });
    case 'sarif':
      return renderSarif(findings, { version: o.version, tags: o.sarifTags });
    default:
      return renderText(findings, { color: o.color ?? false, footer: o.footer });
  }
}

export { BASELINE_SCHEMA, baselineEntries, parseBaselineEntries, renderBaseline, writeBaseline, type BaselineEntry } from './baseline.js';

/** `--fail-on`: a severity, or `none` to never fail on findings. */
export type FailOn = Severity | 'none';

export function parseFailOn(s: string): FailOn {
  if (s === 'none' || isSeverity(s)) return s;
  throw new KeywardError('KW_USAGE', `unknown severity '${s}' for --fail-on`, { hint: `use one of: ${SEVERITIES.join(', ')}, none` });
}

/** The exit status: 1 when a finding is at or above the threshold, else 0. */
export function exitStatusFor(findings: readonly Finding[], failOn: FailOn): 0 | 1 {
  return failOn !== 'none' && anyAtOrAbove(findings, failOn) ? 1 : 0;
}
