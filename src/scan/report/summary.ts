/** The table printed after scanning several sites: one line per site, in the order given. */
import { createColors } from 'picocolors';
import type { ScanReport } from '../scan-site.js';
import { gradeColor } from './terminal.js';

export type ScanOutcome = { input: string; report: ScanReport } | { input: string; error: { code: string; message: string; hint?: string } };

export function renderSummary(outcomes: readonly ScanOutcome[], options: { color: boolean }): string {
  const c = createColors(options.color);
  const sectionNames = [...new Set(outcomes.flatMap((o) => ('report' in o ? Object.keys(o.report.sections) : [])))];
  const header = ['site', 'grade', 'score', ...sectionNames, 'critical', 'high', 'other'];
  const rows = outcomes.map((o) => {
    if (!('report' in o)) return [o.input, 'error', '', ...sectionNames.map(() => ''), '', '', o.error.message];
    const r = o.report;
    const count = (pred: (s: string) => boolean) => String(r.findings.filter((f) => pred(f.severity)).length);
    return [
      o.input,
      r.grade,
      String(r.score),
      ...sectionNames.map((s) => r.sections[s as keyof typeof r.sections]?.grade ?? '-'),
      count((s) => s === 'critical'),
      count((s) => s === 'high'),
      count((s) => s !== 'critical' && s !== 'high'),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === r.length - 1 && r[1] === 'error' ? 0 : r[i].length))));
  const fmt = (cells: string[], paint?: (i: number, cell: string) => string) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]);
        return paint ? paint(i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const lines = [c.bold(fmt(header)), ...rows.map((r) => fmt(r, (i, cell) => (r[1] === 'error' ? (i === 1 || i === r.length - 1 ? c.red(cell) : cell) : i === 1 ? gradeColor(c, r[1] as never)(cell) : cell)))];
  return `${lines.join('\n')}\n`;
}
