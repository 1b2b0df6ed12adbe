/**
 * Baselines: a file of accepted findings, recognised by fingerprint, so that known and accepted
 * secrets stop failing a build while new ones still do. Accepts a keyward JSON report
 * (`findings[].fingerprint` or `findings[].secret.fingerprint`), a JSON array of fingerprints or
 * objects with one, or plain text with one fingerprint per line (`#` comments allowed).
 */
import { readFileSync } from 'node:fs';

const FINGERPRINT = /^sha256:[0-9a-f]{16}$/;

export class BaselineError extends Error {
  readonly code = 'KW_BAD_CONFIG';
  readonly hint: string;
  readonly exitCode = 2;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'BaselineError';
    this.hint = hint;
  }
}

function collect(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    if (FINGERPRINT.test(value)) out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
    return;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.fingerprint === 'string') collect(o.fingerprint, out);
    if (o.secret && typeof o.secret === 'object') collect((o.secret as Record<string, unknown>).fingerprint, out);
    if (Array.isArray(o.findings)) collect(o.findings, out);
    if (Array.isArray(o.fingerprints)) collect(o.fingerprints, out);
  }
}

/** The fingerprints in a baseline's text. Throws a BaselineError (code KW_BAD_CONFIG) on malformed input. */
export function parseBaseline(text: string, source = 'baseline'): Set<string> {
  const out = new Set<string>();
  const trimmed = text.trim();
  if (trimmed === '') return out;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new BaselineError(`${source} is not valid JSON: ${(e as Error).message}`, 'Write the baseline with `keyward secrets --format json > FILE`, or list one fingerprint (sha256:…) per line.');
    }
    collect(json, out);
    return out;
  }
  trimmed.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    if (!FINGERPRINT.test(line)) {
      throw new BaselineError(`${source} line ${i + 1} is not a fingerprint: expected sha256: followed by 16 hex digits`, 'Each line holds one fingerprint as printed in reports, e.g. sha256:0123456789abcdef.');
    }
    out.add(line);
  });
  return out;
}

/** Reads and parses a baseline file. */
export function loadBaseline(path: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BaselineError(`cannot read baseline ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'Check the --baseline path.');
  }
  return parseBaseline(text, path);
}

export function isBaselined(match: { fingerprint: string }, baseline: ReadonlySet<string>): boolean {
  return baseline.has(match.fingerprint);
}
