/**
 * The terminal report: grade, score, each section, then every finding worst first with its
 * evidence and its fix. Colors only when asked (a TTY without NO_COLOR); plain text otherwise.
 */
import { createColors } from 'picocolors';
import type { Severity } from '../../finding.js';
import type { ScanReport } from '../scan-site.js';
import type { Grade } from '../types.js';

export interface TerminalOptions {
  color: boolean;
}

type Colors = ReturnType<typeof createColors>;

const SEVERITY_LABEL: Record<Severity, string> = { critical: 'CRITICAL', high: 'HIGH', medium: 'MEDIUM', low: 'LOW', info: 'INFO' };

export function renderTerminal(report: ScanReport, options: TerminalOptions): string {
  const c = createColors(options.color);
  const out: string[] = [];
  const redirected = report.finalUrl !== report.url ? ` → ${report.finalUrl}` : '';
  out.push(`${c.bold('keyward scan')} ${report.url}${redirected} ${c.dim(`(HTTP ${report.status}, ${report.durationMs} ms)`)}`);
  if (report.certificateError) {
    // Above the grade: nothing else in the report matters while browsers refuse the page.
    out.push(c.red(c.bold(`  CERTIFICATE REFUSED: ${report.certificateError}`)));
    out.push(c.red('  Browsers block this site. The report below was read without certificate verification.'));
  }
  if (!report.https) {
    out.push(c.yellow(`  served over plain HTTP${report.httpsError ? `: HTTPS failed (${report.httpsError})` : ''}`));
  }
  out.push('');
  out.push(`  ${c.bold('Grade')} ${gradeColor(c, report.grade)(c.bold(report.grade.padEnd(2)))}  ${c.dim('score')} ${report.score}`);
  const sections = Object.entries(report.sections);
  if (sections.length > 0) {
    out.push(`  ${sections.map(([name, s]) => `${name} ${gradeColor(c, s.grade)(s.grade)} ${c.dim(String(s.score))}`).join(c.dim('  ·  '))}`);
  }
  out.push('');
  if (report.findings.length === 0) {
    out.push(c.green('  No findings.'));
  } else {
    for (const f of report.findings) {
      const label = severityColor(c, f.severity)(SEVERITY_LABEL[f.severity].padEnd(8));
      out.push(`  ${label}  ${c.bold(f.title)} ${c.dim(`[${f.id}]`)}`);
      const pad = ' '.repeat(12);
      if (f.evidence) out.push(...block(`${c.dim('seen:')} ${f.evidence}`, pad));
      const where = f.location?.url ? `${f.location.url}${f.location.line ? `:${f.location.line}` : ''}` : undefined;
      if (where && !f.evidence?.includes(where)) out.push(...block(`${c.dim('where:')} ${where}`, pad));
      out.push(...block(`${c.dim('fix:')} ${f.recommendation}`, pad));
      if (f.docs) out.push(`${pad}${c.dim(`docs: ${f.docs}`)}`);
      out.push('');
    }
  }
  out.push(`  ${summarizeSeverities(report)}`);
  return `${out.join('\n')}\n`;
}

/** `3 findings: 1 critical, 2 medium` */
export function summarizeSeverities(report: Pick<ScanReport, 'findings'>): string {
  const counts = new Map<Severity, number>();
  for (const f of report.findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const n = report.findings.length;
  const parts = [...counts].map(([s, k]) => `${k} ${s}`);
  return `${n} finding${n === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function block(text: string, pad: string): string[] {
  return text.split('\n').map((line) => `${pad}${line}`);
}

export function gradeColor(c: Colors, grade: Grade): (s: string) => string {
  if (grade.startsWith('A')) return c.green;
  if (grade.startsWith('B')) return c.cyan;
  if (grade.startsWith('C')) return c.yellow;
  return c.red;
}

function severityColor(c: Colors, s: Severity): (t: string) => string {
  return { critical: (t: string) => c.bgRed(c.white(t)), high: c.red, medium: c.yellow, low: c.cyan, info: c.dim }[s];
}
