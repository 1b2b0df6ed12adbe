/**
 * Code that leaks keys into logs and error trackers: printing the whole environment or whole
 * request headers (the `Authorization` header carries the key), and Sentry or Datadog set up to
 * send request data without a hook that scrubs it. Logs are kept for months and read by many.
 */
import type { Finding } from '../../finding.js';
import { blockEnd, inComment, isCode, isShippedSource, lineAt, lineLocator } from '../code-files.js';
import { auditDocs, type AuditCheck, type ProjectFile } from '../types.js';

interface Pattern {
  id: string;
  re: RegExp;
  severity: Finding['severity'];
  title: string;
  fix: string;
}

const LOGGER = String.raw`\b(?:console\.(?:log|info|debug|warn|error|trace|dir|table)|(?:logger|log|winston|pino|fastify\.log|app\.log|req\.log|request\.log|ctx\.log)\.(?:log|info|debug|warn|error|trace|fatal|verbose|silly)|logging\.(?:debug|info|warning|error|critical|exception)|print|pprint|util\.inspect)\s*\(`;
const HEADERS = String.raw`\b(?:req|request|ctx\.request|ctx\.req|c\.req\.raw|event|context\.req)\.headers\b(?!\s*(?:\.|\[|\?\.))`;

/** A logger call whose argument list holds the value directly (not inside another call like `Object.keys(…)`). */
const ARGS = String.raw`${LOGGER}\s*(?:[^;\n()]{0,80}?[,{]\s*)?`;

const ENV_FIX = 'Never log the environment: log the names of the variables you need (e.g. `Object.keys(process.env)`), or a boolean saying whether a key is set. Rotate any key that reached a log.';
const HEADER_FIX =
  'Log only the headers you need, or configure redaction at logger creation (pino `redact: ["req.headers.authorization", "req.headers[\\"x-api-key\\"]", "req.headers.cookie"]`). Rotate any key that reached a log.';

const PATTERNS: readonly Pattern[] = [
  {
    id: 'log-env',
    re: new RegExp(String.raw`${ARGS}(?:\.\.\.)?\b(?:process\.env|import\.meta\.env|os\.environ|Deno\.env\.toObject\(\))\s*(?:[,)}]|\.items\(\))`, 'g'),
    severity: 'high',
    title: 'The whole environment (with every key) is written to the log',
    fix: ENV_FIX,
  },
  {
    id: 'log-env',
    re: /\b(?:JSON\.stringify|json\.dumps)\s*\(\s*(?:\{\s*\.\.\.)?(?:process\.env|os\.environ|dict\(os\.environ\))\b(?!\s*\.|\s*\[)/g,
    severity: 'high',
    title: 'The whole environment (with every key) is serialised with JSON.stringify',
    fix: ENV_FIX,
  },
  {
    id: 'log-headers',
    re: new RegExp(String.raw`${ARGS}${HEADERS}`, 'g'),
    severity: 'medium',
    title: 'Whole request headers (Authorization, x-api-key, cookies) are written to the log',
    fix: HEADER_FIX,
  },
  {
    id: 'log-headers',
    re: new RegExp(String.raw`\bJSON\.stringify\s*\(\s*${HEADERS}`, 'g'),
    severity: 'medium',
    title: 'Whole request headers (Authorization, x-api-key, cookies) are serialised with JSON.stringify',
    fix: HEADER_FIX,
  },
  {
    id: 'log-headers',
    re: /\bmorgan\s*\(\s*['"`][^'"`\n]*:req\[(?:authorization|x-api-key|api-key|cookie)\]/gi,
    severity: 'high',
    title: 'A morgan log format prints the request credential header',
    fix: 'Remove the :req[authorization]/:req[x-api-key] token from the log format. Rotate any key that reached a log.',
  },
];

const SENTRY_INIT = /\b(?:Sentry\.init|sentry_sdk\.init)\s*\(/g;
const DATADOG_INIT = /\b(?:datadogLogs|datadogRum)\.init\s*\(/g;
const DD_HEADER_TAGS = /(?:headerTags\s*:\s*\[[^\]]*|DD_TRACE_HEADER_TAGS\s*[=:]\s*['"]?[^\n]*)\b(?:authorization|x-api-key|api-key)\b/gi;

function trackerFindings(file: ProjectFile, text: string, at: (i: number) => { line: number; column: number }): Finding[] {
  const out: Finding[] = [];
  for (const m of text.matchAll(SENTRY_INIT)) {
    if (inComment(text, m.index)) continue;
    const body = text.slice(m.index, blockEnd(text, m.index + m[0].length - 1));
    if (/\bbefore_?[sS]end\b/.test(body)) continue;
    const pii = /\bsend_?[dD]efault_?[pP]ii\s*[:=]\s*(?:true|True)\b/.test(body);
    out.push({
      id: 'log-tracker-unscrubbed',
      severity: pii ? 'high' : 'low',
      title: pii
        ? `Sentry sends request headers and bodies (sendDefaultPii) without a beforeSend scrubber in ${file.path}`
        : `Sentry is set up without a beforeSend scrubber in ${file.path}`,
      evidence: lineAt(text, m.index),
      recommendation:
        'Add a `beforeSend` (and `beforeBreadcrumb`) hook that deletes `request.headers.authorization`, `x-api-key` and cookies and masks keys in messages (keyward\'s `redactText` does this); keep `sendDefaultPii` off.',
      docs: auditDocs('log-leak'),
      location: { file: file.path, ...at(m.index) },
    });
  }
  for (const m of text.matchAll(DATADOG_INIT)) {
    if (inComment(text, m.index)) continue;
    const body = text.slice(m.index, blockEnd(text, m.index + m[0].length - 1));
    if (/\bbeforeSend\b/.test(body) || !/forwardConsoleLogs|forwardErrorsToLogs|trackResources|trackUserInteractions/.test(body)) continue;
    out.push({
      id: 'log-tracker-unscrubbed',
      severity: 'medium',
      title: `Datadog browser logs/RUM forward console output and requests without a beforeSend scrubber in ${file.path}`,
      evidence: lineAt(text, m.index),
      recommendation: 'Add a `beforeSend` that drops or masks anything that looks like a key (message, context, resource URLs with `key=`), and never forward all console output.',
      docs: auditDocs('log-leak'),
      location: { file: file.path, ...at(m.index) },
    });
  }
  for (const m of text.matchAll(DD_HEADER_TAGS)) {
    if (inComment(text, m.index)) continue;
    out.push({
      id: 'log-tracker-unscrubbed',
      severity: 'high',
      title: `Datadog traces tag requests with their credential header in ${file.path}`,
      evidence: lineAt(text, m.index),
      recommendation: 'Remove authorization/x-api-key from headerTags (DD_TRACE_HEADER_TAGS): every trace would carry the key. Rotate any key that reached Datadog.',
      docs: auditDocs('log-leak'),
      location: { file: file.path, ...at(m.index) },
    });
  }
  return out;
}

export const logLeaks: AuditCheck = {
  id: 'log-leak',
  title: 'No keys written to logs or error trackers',
  wants: (f) => isCode(f.path) && isShippedSource(f.path),
  inspect(file, text) {
    if (!/env|headers|Sentry|sentry_sdk|datadog|headerTags|DD_TRACE|morgan/.test(text)) return [];
    const at = lineLocator(text);
    const out: Finding[] = [];
    const seen = new Set<number>();
    for (const p of PATTERNS) {
      for (const m of text.matchAll(p.re)) {
        if (inComment(text, m.index)) continue;
        const loc = at(m.index);
        if (seen.has(loc.line)) continue;
        seen.add(loc.line);
        out.push({ id: p.id, severity: p.severity, title: `${p.title} in ${file.path}`, evidence: lineAt(text, m.index), recommendation: p.fix, docs: auditDocs('log-leak'), location: { file: file.path, ...loc } });
      }
    }
    return [...out, ...trackerFindings(file, text, at)];
  },
};
