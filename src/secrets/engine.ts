/**
 * The engine: one keyword pass over the text (prefilter.ts), then each rule's pattern only on
 * windows around its keyword hits, then structural checks, placeholder and allowlist filters,
 * and overlap resolution (a provider rule beats a generic one on the same text).
 */
import { GLOBAL_ALLOWLIST, INLINE_ALLOW } from './allowlist.js';
import { isPlaceholder, shannonEntropy } from './checks.js';
import { fingerprintSecret } from './fingerprint.js';
import { KeywordMatcher } from './prefilter.js';
import { redactSecret } from './mask.js';
import { RULES } from './rules/index.js';
import type { ScanTextOptions, SecretMatch, SecretRule } from './types.js';

const DEFAULT_WINDOW = { before: 8, after: 300 } as const;

interface CompiledRule {
  rule: SecretRule;
  regex: RegExp;
  before: number;
  after: number;
  pathAllowed: readonly RegExp[];
}

/** A match before line/column are known: `index` is relative to the scanned text. */
export interface RawMatch {
  rule: SecretRule;
  secret: string;
  index: number;
  length: number;
}

export class Engine {
  private readonly compiled: CompiledRule[];
  private readonly matcher: KeywordMatcher;
  /** Prefixes of provider keys: a value with one that failed its provider's checks is a look-alike. */
  private readonly prefixes: readonly string[];
  /** The longest look-back and look-ahead any rule needs around a keyword (for stream overlap). */
  readonly maxBefore: number;
  readonly maxAfter: number;
  /** Paths never scanned besides the global ones (a project's own, from its rules file). */
  private readonly allowPaths: readonly RegExp[];

  constructor(rules: readonly SecretRule[], options: { allowPaths?: readonly RegExp[] } = {}) {
    this.allowPaths = options.allowPaths ?? [];
    this.compiled = rules.map((rule) => {
      const flags = new Set([...rule.pattern.flags, 'g', 'd']);
      flags.delete('y');
      const w = rule.window ?? DEFAULT_WINDOW;
      return { rule, regex: new RegExp(rule.pattern.source, [...flags].join('')), before: w.before, after: w.after, pathAllowed: rule.allowlist?.paths ?? [] };
    });
    this.matcher = new KeywordMatcher(
      rules.flatMap((rule, i) => rule.keywords.map((text) => ({ text, caseSensitive: !rule.context, rule: i }))),
    );
    this.prefixes = rules.filter((r) => !r.context && !r.generic).flatMap((r) => r.keywords.filter((k) => k.length >= 3));
    this.maxBefore = Math.max(...this.compiled.map((c) => c.before));
    this.maxAfter = Math.max(...this.compiled.map((c) => c.after + Math.max(...c.rule.keywords.map((k) => k.length))));
  }

  private providerShaped(secret: string): boolean {
    return this.prefixes.some((p) => secret.startsWith(p));
  }

  /** Every secret in `text`, ordered by position, overlaps resolved. */
  find(text: string, options: ScanTextOptions = {}): RawMatch[] {
    const path = options.path;
    if (path !== undefined && (GLOBAL_ALLOWLIST.paths.some((re) => re.test(path)) || this.allowPaths.some((re) => re.test(path)))) return [];
    const hits: (number[] | undefined)[] = new Array(this.compiled.length);
    this.matcher.scan(text, 0, text.length, (rule, start) => {
      (hits[rule] ??= []).push(start);
    });

    const found: RawMatch[] = [];
    for (let r = 0; r < hits.length; r++) {
      const positions = hits[r];
      if (!positions) continue;
      const c = this.compiled[r]!;
      if (c.rule.severity === 'info' && !options.includeInfo) continue;
      if (path !== undefined && c.pathAllowed.some((re) => re.test(path))) continue;
      // Merge overlapping windows so that each stretch of text is matched once per rule.
      let i = 0;
      while (i < positions.length) {
        const winStart = Math.max(0, positions[i]! - c.before);
        let winEnd = Math.min(text.length, positions[i]! + c.after);
        i++;
        while (i < positions.length && positions[i]! - c.before <= winEnd) {
          winEnd = Math.min(text.length, positions[i]! + c.after);
          i++;
        }
        this.matchWindow(text, winStart, winEnd, c, path, found);
      }
    }
    return resolveOverlaps(found, this.compiled.map((c) => c.rule));
  }

  private matchWindow(text: string, winStart: number, winEnd: number, c: CompiledRule, path: string | undefined, out: RawMatch[]): void {
    // One extra character on each side lets the patterns' one-character look-behind and
    // look-ahead see the real neighbours; matches that reach into those extras belong to
    // another window (or to a longer token) and are skipped.
    const from = winStart > 0 ? winStart - 1 : 0;
    const to = winEnd < text.length ? winEnd + 1 : winEnd;
    const slice = text.slice(from, to);
    c.regex.lastIndex = 0;
    for (let m = c.regex.exec(slice); m !== null; m = c.regex.exec(slice)) {
      if (m[0].length === 0) {
        c.regex.lastIndex++;
        continue;
      }
      const start = from + m.index;
      const end = start + m[0].length;
      if (start < winStart || end > winEnd) continue;
      const span = m.indices?.groups?.secret;
      const secret = m.groups?.secret ?? m[0];
      const index = span ? from + span[0] : start;
      if (!accept(c.rule, secret, m[0], lineBefore(text, start), path)) continue;
      if (c.rule.assigned && !assignedAt(text, index)) continue;
      if (c.rule.generic && this.providerShaped(secret)) continue;
      if (onAllowedLine(text, index)) continue;
      out.push({ rule: c.rule, secret, index, length: secret.length });
    }
  }
}

const KEY_NAME = /key|token|secret|passw|auth|credential|bearer|api|client/i;
const HASH_NAME = /(?:sha\d*|md5|hash|checksum|digest|commit|etag|integrity|uuid|guid|\bid|_id|[a-z]Id|request|trace|session|nonce|salt)[\s"'`:=]{0,4}$/i;

/** Whether the value at `index` is assigned to a key-like name (see SecretRule.assigned). */
function assignedAt(text: string, index: number): boolean {
  const lineStart = lineStartNear(text, index);
  const prevStart = lineStart > 0 ? lineStartNear(text, lineStart - 1) : lineStart;
  const before = text.slice(Math.max(prevStart, index - 240), index);
  return KEY_NAME.test(before) && !HASH_NAME.test(before.slice(-40));
}

/**
 * Line lookups around a match are bounded: a minified bundle is one line of megabytes, and an
 * unbounded search per match would make many matches on it quadratic.
 */
export const LINE_REACH = 2000;

function lineStartNear(text: string, index: number): number {
  const from = Math.max(0, index - LINE_REACH);
  const nl = text.slice(from, index).lastIndexOf('\n');
  return nl === -1 ? from : from + nl + 1;
}

function lineEndNear(text: string, index: number): number {
  const to = Math.min(text.length, index + LINE_REACH);
  const nl = text.slice(index, to).indexOf('\n');
  return nl === -1 ? to : index + nl;
}

function lineBefore(text: string, index: number): string {
  return text.slice(Math.max(lineStartNear(text, index), index - 64), index);
}

function accept(rule: SecretRule, secret: string, match: string, before: string, path: string | undefined): boolean {
  if (GLOBAL_ALLOWLIST.secrets.some((re) => re.test(secret))) return false;
  if (rule.allowlist?.secrets?.some((re) => re.test(secret))) return false;
  if (placeholder(secret)) return false;
  if (rule.minEntropy !== undefined && shannonEntropy(secret) < rule.minEntropy) return false;
  if (rule.verify && !rule.verify(secret, { match, before, path })) return false;
  return true;
}

/** Long values (PEM bodies, presigned tokens) contain short words by chance: check only shapes. */
function placeholder(secret: string): boolean {
  if (secret.length <= 120) return isPlaceholder(secret);
  return /\.\.\.|…|x{8,}|X{8,}|<[A-Za-z_ -]+>|\$\{/.test(secret);
}

function onAllowedLine(text: string, index: number): boolean {
  return text.slice(lineStartNear(text, index), lineEndNear(text, index)).includes(INLINE_ALLOW);
}

/** Keeps one match per stretch of text: provider rules over generic ones, then longer, then registry order. */
function resolveOverlaps(found: RawMatch[], order: readonly SecretRule[]): RawMatch[] {
  if (found.length < 2) return found;
  const rank = new Map(order.map((r, i) => [r, i]));
  found.sort((a, b) => a.index - b.index || b.length - a.length);
  const better = (a: RawMatch, b: RawMatch) =>
    (a.rule.generic ? 1 : 0) - (b.rule.generic ? 1 : 0) || b.length - a.length || rank.get(a.rule)! - rank.get(b.rule)!;
  const kept: RawMatch[] = [];
  for (const m of found) {
    const last = kept[kept.length - 1];
    if (last && m.index < last.index + last.length) {
      if (better(m, last) < 0) kept[kept.length - 1] = m;
      continue;
    }
    kept.push(m);
  }
  return kept;
}

let shared: Engine | undefined;
/** The engine over the built-in RULES, compiled once. */
export function defaultEngine(): Engine {
  return (shared ??= new Engine(RULES));
}

/** Adds line, column, redaction and fingerprint. */
export function toSecretMatch(raw: RawMatch, line: number, column: number, indexOffset = 0): SecretMatch {
  const { rule } = raw;
  return {
    ruleId: rule.id,
    provider: rule.provider,
    title: rule.title,
    severity: rule.severity,
    secret: raw.secret,
    redacted: redactSecret(raw.secret),
    fingerprint: fingerprintSecret(raw.secret),
    line,
    column,
    index: raw.index + indexOffset,
    length: raw.length,
    ...(rule.revokeUrl ? { revokeUrl: rule.revokeUrl } : {}),
    ...(rule.revokeHint ? { revokeHow: rule.revokeHint(raw.secret) } : {}),
  };
}

/** Every secret in `text` with exact 1-based line and column. */
export function scanText(text: string, options: ScanTextOptions = {}): SecretMatch[] {
  const raw = (options.engine ?? defaultEngine()).find(text, options);
  const out: SecretMatch[] = [];
  let line = 1;
  let lineStart = 0;
  // Each newline is looked at once, however many matches share a line.
  let nextNl = raw.length ? text.indexOf('\n') : -1;
  for (const m of raw) {
    while (nextNl !== -1 && nextNl < m.index) {
      line++;
      lineStart = nextNl + 1;
      nextNl = text.indexOf('\n', lineStart);
    }
    out.push(toSecretMatch(m, line, m.index - lineStart + 1));
  }
  return out;
}
