/** Strict-Transport-Security (RFC 6797): present on the HTTPS page, well-formed, long enough. */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, ScanFacts } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Strict-Transport-Security`;
const HSTS = RECOMMENDED_HEADERS.strictTransportSecurity;
/** 15768000 s is six months; the Observatory accepts the common 180 days, and so do we. */
export const SIX_MONTHS = 15552000;
/** The preload list requires one year. */
export const ONE_YEAR = 31536000;

export interface HstsPolicy {
  maxAge: number;
  includeSubDomains: boolean;
  preload: boolean;
}

/**
 * RFC 6797 §6.1: `;`-separated directives, names case-insensitive, values token or quoted-string;
 * max-age required and all digits; any directive twice makes the whole header invalid.
 * Returns a reason string when the header is invalid.
 */
export function parseHsts(value: string): HstsPolicy | string {
  const seen = new Set<string>();
  let maxAge: number | undefined;
  for (const part of value.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim().toLowerCase();
    let v = eq === -1 ? undefined : trimmed.slice(eq + 1).trim();
    if (seen.has(name)) return `the directive ${name} appears twice`;
    seen.add(name);
    if (v !== undefined && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (name === 'max-age') {
      if (v === undefined || !/^\d+$/.test(v)) return `max-age must be a number of seconds, got ${v === undefined ? 'nothing' : `"${v}"`}`;
      maxAge = Number(v);
    }
  }
  if (maxAge === undefined) return 'max-age is missing';
  return { maxAge, includeSubDomains: seen.has('includesubdomains'), preload: seen.has('preload') };
}

/** What browsers take from the header; undefined when they ignore it (plain HTTP, a refused certificate). */
export function effectiveHsts(facts: ScanFacts): HstsPolicy | undefined {
  if (!facts.https || facts.certificateError !== undefined) return undefined;
  const values = headerValues(facts.final.headers, 'strict-transport-security');
  if (values.length !== 1) return undefined;
  const parsed = parseHsts(values[0] ?? '');
  return typeof parsed === 'string' ? undefined : parsed;
}

export const hstsCheck: Check = {
  name: 'strict-transport-security',
  section: 'headers',
  run(facts) {
    const findings: Finding[] = [];
    const url = facts.final.url;
    const evidence = evidenceOf(facts.final, 'strict-transport-security');
    const add = (id: string, severity: Finding['severity'], title: string, recommendation: string): void => {
      findings.push(finding(id, severity, title, recommendation, { docs: DOCS, url, ...(evidence ? { evidence } : {}) }));
    };
    const done = (result: ResultId, pass: boolean, data?: Record<string, unknown>) => ({
      findings,
      tests: { 'strict-transport-security': testResult(result, pass, data) },
    });

    if (!facts.https) {
      if (evidence) {
        add('hsts-on-plain-http', 'info', 'Strict-Transport-Security sent over plain HTTP is ignored by browsers',
          'Browsers only honour HSTS on an HTTPS response; serve the site over HTTPS and send it there.');
      }
      add('hsts-not-implemented-no-https', 'high', 'The site is not served over HTTPS, so HSTS cannot protect it',
        'Serve the site over HTTPS with a valid certificate (e.g. certbot), redirect HTTP to it, then send:\n' + headerFix(HSTS.name, HSTS.value));
      return done('hsts-not-implemented-no-https', false);
    }

    if (facts.certificateError !== undefined) {
      // As the Observatory: browsers ignore HSTS from a page whose certificate they refuse (RFC 6797 §8.1).
      add('hsts-invalid-cert', 'medium', 'Browsers ignore Strict-Transport-Security here: the certificate is refused',
        'Serve a valid certificate first (see tls-certificate-rejected); HSTS only takes effect over a connection without certificate errors. Then send:\n' + headerFix(HSTS.name, HSTS.value));
      return done('hsts-invalid-cert', false, { certificateError: facts.certificateError });
    }

    const values = headerValues(facts.final.headers, 'strict-transport-security');
    if (values.length === 0) {
      add('hsts-not-implemented', 'medium', 'No Strict-Transport-Security: the first visit over http:// can be intercepted',
        headerFix(HSTS.name, HSTS.value));
      return done('hsts-not-implemented', false);
    }
    const parsed = values.length > 1 || (values[0] ?? '').includes(',') ? 'the header is sent more than once' : parseHsts(values[0] ?? '');
    if (typeof parsed === 'string') {
      add('hsts-header-invalid', 'medium', `Strict-Transport-Security is malformed (${parsed}), so browsers ignore it`, headerFix(HSTS.name, HSTS.value));
      return done('hsts-header-invalid', false, { reason: parsed });
    }
    const data = { ...parsed };
    if (parsed.maxAge < SIX_MONTHS) {
      add('hsts-implemented-max-age-less-than-six-months', 'medium',
        parsed.maxAge === 0 ? 'Strict-Transport-Security max-age=0 switches HSTS off' : `Strict-Transport-Security max-age is ${parsed.maxAge} s, under six months`,
        headerFix(HSTS.name, HSTS.value, 'Use at least six months (15552000 s); two years is the norm.'));
      return done('hsts-implemented-max-age-less-than-six-months', false, data);
    }
    if (!parsed.includeSubDomains) {
      add('hsts-no-include-subdomains', 'low', 'Strict-Transport-Security lacks includeSubDomains: subdomains can still be reached over http://',
        headerFix(HSTS.name, HSTS.value, 'Once every subdomain serves HTTPS, add includeSubDomains.'));
    }
    if (parsed.preload && (!parsed.includeSubDomains || parsed.maxAge < ONE_YEAR)) {
      add('hsts-preload-not-eligible', 'low', 'Strict-Transport-Security asks for preload but the preload list needs includeSubDomains and max-age of a year or more',
        headerFix(HSTS.name, HSTS.value));
    }
    return done('hsts-implemented-max-age-at-least-six-months', true, data);
  },
};
