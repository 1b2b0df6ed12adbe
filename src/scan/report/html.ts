/**
 * `--html FILE`: one self-contained page (inline CSS, no script, no external resource) with
 * every site's grade, sections and findings. Everything that came from a site is escaped.
 */
import type { Severity } from '../../finding.js';
import type { ScanReport } from '../scan-site.js';
import type { ScanOutcome } from './summary.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

const SEVERITY_COLOR: Record<Severity, string> = { critical: '#b00020', high: '#d9480f', medium: '#b08800', low: '#1c7ed6', info: '#868e96' };

function gradeClass(grade: string): string {
  return `g${grade[0].toLowerCase()}`;
}

function renderReport(r: ScanReport): string {
  const sections = Object.entries(r.sections)
    .map(([name, s]) => `<span class="sec"><b>${escapeHtml(name)}</b> <span class="grade small ${gradeClass(s.grade)}">${escapeHtml(s.grade)}</span> ${s.score}</span>`)
    .join(' ');
  const findings = r.findings
    .map(
      (f) => `<li class="finding">
  <div><span class="sev" style="background:${SEVERITY_COLOR[f.severity]}">${escapeHtml(f.severity)}</span> <b>${escapeHtml(f.title)}</b> <code class="id">${escapeHtml(f.id)}</code> <span class="muted">${escapeHtml(f.section)}</span></div>
  ${f.evidence ? `<div class="evidence"><span class="muted">seen</span><pre>${escapeHtml(f.evidence)}</pre></div>` : ''}
  ${f.location?.url ? `<div class="muted">where: ${escapeHtml(f.location.url)}${f.location.line ? `:${f.location.line}` : ''}</div>` : ''}
  <div class="fix"><span class="muted">fix</span><pre>${escapeHtml(f.recommendation)}</pre></div>
  ${f.docs && /^https?:\/\//.test(f.docs) ? `<div><a href="${escapeHtml(f.docs)}" rel="noreferrer">${escapeHtml(f.docs)}</a></div>` : ''}
</li>`,
    )
    .join('\n');
  return `<section class="site">
<h2>${escapeHtml(r.url)}${r.finalUrl !== r.url ? ` <span class="muted">→ ${escapeHtml(r.finalUrl)}</span>` : ''}</h2>
<p><span class="grade ${gradeClass(r.grade)}">${escapeHtml(r.grade)}</span> score ${r.score} ${sections}</p>
${r.certificateError ? `<p class="warn"><strong>Certificate refused: ${escapeHtml(r.certificateError)}.</strong> Browsers block this site; this report was read without certificate verification.</p>` : ''}
${r.https ? '' : `<p class="warn">Served over plain HTTP${r.httpsError ? `: HTTPS failed (${escapeHtml(r.httpsError)})` : ''}</p>`}
<p class="muted">HTTP ${r.status} · scanned ${escapeHtml(r.scannedAt)} in ${r.durationMs} ms · keyward ${escapeHtml(r.keyward)}</p>
${r.findings.length ? `<ol class="findings">${findings}</ol>` : '<p>No findings.</p>'}
</section>`;
}

export function renderHtml(outcomes: readonly ScanOutcome[]): string {
  const body = outcomes
    .map((o) =>
      'report' in o
        ? renderReport(o.report)
        : `<section class="site"><h2>${escapeHtml(o.input)}</h2><p class="warn">Scan failed: ${escapeHtml(o.error.message)}</p>${o.error.hint ? `<p class="muted">${escapeHtml(o.error.hint)}</p>` : ''}</section>`,
    )
    .join('\n');
  const title = outcomes.length === 1 ? `keyward scan: ${outcomes[0].input}` : `keyward scan: ${outcomes.length} sites`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#212529}
h1{font-size:1.4rem}h2{font-size:1.15rem;word-break:break-all}
.grade{display:inline-block;min-width:2.4em;text-align:center;font-weight:700;font-size:1.6rem;border-radius:.3rem;color:#fff;padding:0 .3em}
.grade.small{font-size:.9rem;min-width:2em}
.ga{background:#2b8a3e}.gb{background:#1971c2}.gc{background:#e67700}.gd{background:#d9480f}.gf{background:#c92a2a}
.sec{margin-left:1em}.muted{color:#868e96}.warn{color:#c92a2a}
.findings{padding-left:1.2rem}.finding{margin:0 0 1rem}
.sev{color:#fff;border-radius:.25rem;padding:0 .4em;font-size:.8rem;text-transform:uppercase}
pre{white-space:pre-wrap;word-break:break-word;background:#f1f3f5;padding:.4rem .6rem;margin:.2rem 0;border-radius:.25rem}
code.id{font-size:.8rem;color:#495057}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
