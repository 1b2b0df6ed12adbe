/**
 * Runs the secrets engine and the browser-AI-call detector over one fetched text and keeps
 * only what the checks need: redacted forms, fingerprints, positions and a masked context
 * line. The raw secret never leaves this function, but to the sink a caller gives (`--verify`).
 */
import { scanText } from '../../secrets/index.js';
import { detectBrowserAiCalls } from '../../detect/browser-ai-calls.js';
import type { SecretSink } from '../types.js';
import type { BrowserAiCall, ExposedSecret, SecretWhere } from './facts.js';

const CONTEXT_RADIUS = 50;
/** Fields that sit beside `apiKey` in a Firebase web config (firebase.initializeApp). */
const FIREBASE_CONFIG = /\bauthDomain\b|\.firebaseapp\.com\b|\bmessagingSenderId\b|\bstorageBucket\b/;
const FIREBASE_WINDOW = 400;

interface Span {
  index: number;
  length: number;
  redacted: string;
}

/** The key's line, cut to a window around it, with every key in the window replaced by its redacted form. */
function maskedContext(text: string, key: Span, all: readonly Span[]): string {
  const lineStart = text.lastIndexOf('\n', key.index) + 1;
  const nl = text.indexOf('\n', key.index + key.length);
  const lineEnd = nl === -1 ? text.length : nl;
  let from = Math.max(lineStart, key.index - CONTEXT_RADIUS);
  let to = Math.min(lineEnd, key.index + key.length + CONTEXT_RADIUS);
  // Never cut a key in half at the window's edges.
  for (const s of all) {
    if (s.index < from && s.index + s.length > from) from = s.index;
    if (s.index < to && s.index + s.length > to) to = s.index + s.length;
  }
  let out = '';
  let i = from;
  for (const s of [...all].sort((a, b) => a.index - b.index)) {
    if (s.index + s.length <= from || s.index >= to || s.index < i) continue;
    out += text.slice(i, s.index) + s.redacted;
    i = s.index + s.length;
  }
  out += text.slice(i, to);
  return `${from > lineStart ? '…' : ''}${out}${to < lineEnd ? '…' : ''}`.replace(/\s+/g, ' ').trim();
}

export interface TextOrigin {
  where: SecretWhere;
  url: string;
  /** Original source name inside a source map. */
  source?: string;
  onSecret?: SecretSink;
}

export function findSecrets(text: string, origin: TextOrigin): ExposedSecret[] {
  const path = origin.source ?? safePath(origin.url);
  const matches = scanText(text, { path });
  return matches.map((m) => {
    origin.onSecret?.({ ruleId: m.ruleId, secret: m.secret, fingerprint: m.fingerprint });
    const context = maskedContext(text, m, matches);
    const hit: ExposedSecret = {
      where: origin.where,
      url: origin.url,
      line: m.line,
      column: m.column,
      ruleId: m.ruleId,
      provider: m.provider,
      title: m.title,
      severity: m.severity,
      redacted: m.redacted,
      fingerprint: m.fingerprint,
      context: context.includes(m.secret) ? m.redacted : context,
    };
    if (origin.source !== undefined) hit.source = origin.source;
    if (m.ruleId === 'google-api-key' && FIREBASE_CONFIG.test(text.slice(Math.max(0, m.index - FIREBASE_WINDOW), m.index + m.length + FIREBASE_WINDOW))) hit.firebaseConfig = true;
    if (m.revokeUrl !== undefined) hit.revokeUrl = m.revokeUrl;
    if (m.revokeHow !== undefined) hit.revokeHow = m.revokeHow;
    return hit;
  });
}

export function findBrowserAiCalls(text: string, origin: TextOrigin): BrowserAiCall[] {
  // Scripts and the page's inline scripts are compiled code, where a sample in a string is not a call;
  // original sources in a map may be JSX, which the literal lexer cannot follow.
  const skipStringSamples = origin.where === 'script' || origin.where === 'page';
  return detectBrowserAiCalls(text, { valuesOnly: true, skipStringSamples }).map((h) => ({ ...h, url: origin.url, where: origin.where, ...(origin.source !== undefined ? { source: origin.source } : {}) }));
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
