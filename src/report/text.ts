/**
 * The human report: worst first, one block per finding, the key always redacted. Colored on a
 * terminal; plain when piped or when NO_COLOR is set (FORCE_COLOR forces color, for CI logs).
 */
import pc from 'picocolors';
import type { Finding, Severity } from '../finding.js';
import { SEVERITIES, sortByImpact } from '../finding.js';

type Colors = ReturnType<typeof pc.createColors>;

/** NO_COLOR (https://no-color.org) wins, then FORCE_COLOR, then whether the stream is a terminal. */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return stream.isTTY === true;
}

function paintSeverity(c: Colors, s: Severity): string {
  const label = s.toUpperCase().padEnd(8);
  switch (s) {
    case 'critical':
      return c.bold(c.red(label));
    case 'high':
      return c.red(label);
    case 'medium':
      return c.yellow(label);
    case 'low':
      return c.cyan(label);
    default:
      return c.dim(label);
  }
}

export function formatLocation(f: Finding): string | undefined {
  const l = f.location;
  if (!l) return undefined;
  const where = l.file ?? l.url;
  if (where === undefined) return undefined;
  let s = where;
  if (l.line !== undefined) s += `:${l.line}`;
  if (l.line !== undefined && l.column !== undefined) s += `:${l.column}`;
  return s;
}

export function renderFinding(f: Finding, c: Colors): string {
  // Secret titles end with " in <file>"; the "at" line already says where.
  const where = formatLocation(f);
  const file = f.location?.file ?? f.location?.url;
  const title = file !== undefined && f.title.endsWith(` in ${file}`) ? f.title.slice(0, -(file.length + 4)) : f.title;
  const head = `${paintSeverity(c, f.severity)} ${c.bold(title)}${f.secret ? ` ${c.dim(`(${f.secret.provider}, ${f.secret.rule})`)}` : ` ${c.dim(`(${f.id})`)}`}`;
  const lines = [head];
  if (where !== undefined) {
    const commit = f.location?.commit ? c.dim(` in commit ${f.location.commit.slice(0, 12)}${f.location.date ? ` (${f.location.date})` : ''}`) : '';
    lines.push(`  at   ${where}${commit}`);
  }
  if (f.secret) lines.push(`  key  ${c.magenta(f.secret.redacted)}  ${c.dim(f.secret.fingerprint)}`);
  const live = f.secret?.live;
  if (live) lines.push(`  live ${live.verdict === 'live' ? c.bold(c.red('LIVE')) : live.verdict === 'rejected' ? c.green('rejected') : c.dim('unknown')}: ${live.detail}`);
  // Without a line (strings read out of a binary) the evidence says where the key sits.
  if (f.evidence && (!f.secret || (f.location?.line === undefined && f.location?.file !== undefined))) lines.push(`  saw  ${f.evidence}`);
  lines.push(`  fix  ${f.recommendation}`);
  if (f.secret?.revokeUrl && !f.recommendation.includes(f.secret.revokeUrl)) lines.push(`  revoke at ${c.underline(f.secret.revokeUrl)}`);
  if (f.docs) lines.push(`  docs ${c.dim(f.docs)}`);
  return lines.join('\n');
}

/** "3 findings: 1 critical, 2 high" (or "no findings"), with the noun chosen by the caller. */
export function countLine(findings: readonly Finding[], noun: [string, string] = ['finding', 'findings']): string {
  if (findings.length === 0) return `no ${noun[1]}`;
  const counts = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  return `${findings.length} ${findings.length === 1 ? noun[0] : noun[1]}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}`;
}

export interface TextOptions {
  color: boolean;
  /** Lines printed after the findings (a summary of what was scanned, what to do next). */
  footer?: readonly string[];
}

export function renderText(findings: readonly Finding[], options: TextOptions): string {
  const c = pc.createColors(options.color);
  const blocks = sortByImpact(findings).map((f) => renderFinding(f, c));
  const out = blocks.join('\n\n');
  const footer = (options.footer ?? []).join('\n');
  return [out, footer].filter((s) => s !== '').join('\n\n') + '\n';
}
