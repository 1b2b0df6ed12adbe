/**
 * Content-Security-Policy parsing as CSP3 §2.2 specifies it ("parse a serialized CSP" and
 * "parse a response's Content Security Policies"): a header value is a comma-separated list
 * of policies, a policy is `;`-separated directives, names are case-insensitive, a repeated
 * directive is ignored (first wins), keywords are case-insensitive.
 */

export type PolicySource = 'header' | 'meta' | 'report-only';

export interface CspPolicy {
  source: PolicySource;
  /** The serialized policy as received. */
  raw: string;
  /** Directive name (lower-case) → source expressions (keywords and schemes lower-cased). */
  directives: Map<string, string[]>;
  /** Directives that appeared more than once: browsers keep the first and ignore the rest. */
  duplicates: string[];
  /** Tokens in directive-name position that are not directive names at all. */
  invalidNames: string[];
  /** Directives this policy names that browsers ignore where the policy was delivered (e.g. frame-ancestors in <meta>). */
  ignored: string[];
}

/** CSP3 directive names browsers know; anything else is reported as unknown (and ignored by browsers). */
export const KNOWN_DIRECTIVES = new Set([
  'default-src', 'script-src', 'script-src-elem', 'script-src-attr', 'style-src', 'style-src-elem',
  'style-src-attr', 'img-src', 'font-src', 'connect-src', 'media-src', 'object-src', 'frame-src',
  'child-src', 'worker-src', 'manifest-src', 'prefetch-src', 'fenced-frame-src', 'base-uri', 'form-action',
  'frame-ancestors', 'navigate-to', 'sandbox', 'report-uri', 'report-to', 'upgrade-insecure-requests',
  'block-all-mixed-content', 'require-trusted-types-for', 'trusted-types', 'require-sri-for', 'plugin-types',
  'webrtc', 'referrer', 'reflected-xss',
]);

/** HTML: a policy delivered by <meta http-equiv> cannot use these (browsers drop them with a warning). */
export const DIRECTIVES_IGNORED_IN_META = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

const DIRECTIVE_NAME = /^[a-z0-9-]+$/;
const ASCII_WS = /[\t\n\f\r ]+/;

/** Keywords (`'self'`), nonces/hashes keep their base64 case; schemes and hosts are case-insensitive. */
function normaliseSource(token: string): string {
  const lower = token.toLowerCase();
  if (lower.startsWith("'nonce-") || lower.startsWith("'sha256-") || lower.startsWith("'sha384-") || lower.startsWith("'sha512-")) {
    return lower.slice(0, lower.indexOf('-') + 1) + token.slice(token.indexOf('-') + 1);
  }
  // Host sources keep their path's case; scheme and host part are case-insensitive.
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^/]*)(\/.*)?$/i.exec(token);
  if (m && m[3]) return (m[1] ?? '').toLowerCase() + (m[2] ?? '').toLowerCase() + m[3];
  return lower;
}

/** Parses one serialized policy. */
export function parsePolicy(raw: string, source: PolicySource): CspPolicy {
  const policy: CspPolicy = { source, raw, directives: new Map(), duplicates: [], invalidNames: [], ignored: [] };
  for (const token of raw.split(';')) {
    const trimmed = token.trim();
    if (trimmed === '') continue;
    const [rawName = '', ...values] = trimmed.split(ASCII_WS);
    const name = rawName.toLowerCase();
    if (!DIRECTIVE_NAME.test(name)) {
      policy.invalidNames.push(rawName);
      continue;
    }
    if (policy.directives.has(name)) {
      policy.duplicates.push(name);
      continue;
    }
    if (source === 'meta' && DIRECTIVES_IGNORED_IN_META.has(name)) {
      policy.ignored.push(name);
      continue;
    }
    policy.directives.set(name, values.filter((v) => v !== '').map(normaliseSource));
  }
  return policy;
}

/** Parses a header value, which may hold several comma-separated policies. */
export function parsePolicyList(value: string, source: PolicySource): CspPolicy[] {
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => parsePolicy(p, source));
}

/** Every policy a response delivers: each enforcing header, each <meta> in <head>, each report-only header. */
export function collectPolicies(input: { headers: string[]; metas: string[]; reportOnly: string[] }): CspPolicy[] {
  return [
    ...input.headers.flatMap((v) => parsePolicyList(v, 'header')),
    // A <meta> content attribute is one serialized policy, never a list.
    ...input.metas.map((v) => parsePolicy(v.trim(), 'meta')),
    ...input.reportOnly.flatMap((v) => parsePolicyList(v, 'report-only')),
  ];
}
