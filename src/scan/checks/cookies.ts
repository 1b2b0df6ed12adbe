/**
 * Cookies set by the page: Secure, HttpOnly on session-like cookies, SameSite, and the
 * `__Host-`/`__Secure-` prefix rules (RFC 6265bis §4.1.3), which browsers enforce by
 * rejecting the cookie.
 */
import { parse as parseSetCookie, type Cookie } from 'set-cookie-parser';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { effectiveHsts, SIX_MONTHS } from './hsts.js';
import { clip, finding, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Cookies#restrict_access_to_cookies`;
/** The Observatory's exception: Heroku's affinity cookie cannot be changed by the site. */
const IGNORED = new Set(['heroku-session-affinity']);

/** Worst last, as the Observatory ranks them. */
const ORDER: ResultId[] = [
  'cookies-without-secure-flag-but-protected-by-hsts',
  'cookies-without-secure-flag',
  'cookies-session-without-secure-flag-but-protected-by-hsts',
  'cookies-samesite-flag-invalid',
  'cookies-anticsrf-without-samesite-flag',
  'cookies-session-without-httponly-flag',
  'cookies-session-without-secure-flag',
];

export function isSessionLike(name: string): boolean {
  const n = name.toLowerCase();
  // Anti-CSRF tokens are meant to be read by the page's own script (double-submit), so no HttpOnly.
  if (n.includes('csrf') || n.includes('xsrf')) return false;
  return n.includes('sess') || n.includes('login') || n.includes('auth') || n.includes('token') || n === 'sid' || n.endsWith('_sid') || n === 'jwt';
}

/** The Observatory's narrower notion (used for the score, so both grade alike). */
function isSessionForScore(name: string): boolean {
  const n = name.toLowerCase();
  return n.includes('sess') || n.includes('login');
}

function rawSameSite(raw: string): string | undefined {
  for (const part of raw.split(';').slice(1)) {
    const [k = '', ...v] = part.split('=');
    if (k.trim().toLowerCase() === 'samesite') return v.join('=').trim();
  }
  return undefined;
}

/** Why a browser rejects this cookie outright, if it does. */
function rejection(c: Cookie, https: boolean): string | undefined {
  if (c.name.startsWith('__Secure-') && !c.secure) return '__Secure- cookies must have the Secure attribute';
  if (c.name.startsWith('__Host-')) {
    if (!c.secure) return '__Host- cookies must have the Secure attribute';
    if (c.domain !== undefined) return '__Host- cookies must not have a Domain attribute';
    if (c.path !== '/') return '__Host- cookies must have Path=/';
  }
  if (c.secure && !https) return 'a Secure cookie set over plain HTTP is dropped';
  if (c.sameSite?.toLowerCase() === 'none' && !c.secure) return 'SameSite=None requires Secure';
  return undefined;
}

export const cookiesCheck: Check = {
  name: 'cookies',
  section: 'headers',
  run(facts): CheckOutput {
    const raws = headerValues(facts.final.headers, 'set-cookie');
    const findings: Finding[] = [];
    const url = facts.final.url;
    const add = (id: string, severity: Finding['severity'], title: string, recommendation: string, raw: string): void => {
      findings.push(finding(id, severity, title, recommendation, { docs: DOCS, url, evidence: `Set-Cookie: ${clip(redactCookie(raw))}` }));
    };
    const hsts = (effectiveHsts(facts)?.maxAge ?? 0) >= SIX_MONTHS;
    let result: ResultId | undefined;
    const worse = (r: ResultId): void => {
      if (result === undefined || ORDER.indexOf(r) > ORDER.indexOf(result)) result = r;
    };
    let counted = 0;
    let missingSameSite = false;
    for (const raw of raws) {
      const [c] = parseSetCookie(raw, { decodeValues: false });
      if (!c || c.name === '' || IGNORED.has(c.name)) continue;
      const ss = rawSameSite(raw);
      const sameSiteInvalid = ss !== undefined && !['lax', 'strict', 'none'].includes(ss.toLowerCase());
      const rejected = rejection(c, facts.https);
      const set = cookieFix(c.name);
      if (rejected) {
        add('cookies-rejected-by-browsers', 'medium', `Cookie "${c.name}" is rejected by browsers: ${rejected}`,
          `Fix its attributes:\n${set}`, raw);
        if (sameSiteInvalid) worse('cookies-samesite-flag-invalid');
        if (c.sameSite?.toLowerCase() === 'none' && !c.secure) worse('cookies-samesite-flag-invalid');
        continue;
      }
      counted++;
      const session = isSessionLike(c.name);
      const sessionScore = isSessionForScore(c.name);
      if (sameSiteInvalid) {
        worse('cookies-samesite-flag-invalid');
        add('cookies-samesite-flag-invalid', 'low', `Cookie "${c.name}" has SameSite=${ss}, which browsers do not know`, `Use SameSite=Lax or Strict:\n${set}`, raw);
      }
      if (!c.secure) {
        worse(hsts ? 'cookies-without-secure-flag-but-protected-by-hsts' : 'cookies-without-secure-flag');
        if (sessionScore) worse(hsts ? 'cookies-session-without-secure-flag-but-protected-by-hsts' : 'cookies-session-without-secure-flag');
        add(session ? 'cookies-session-without-secure-flag' : 'cookies-without-secure-flag', session && !hsts ? 'high' : session ? 'medium' : 'low',
          `Cookie "${c.name}" lacks Secure${hsts ? ' (HSTS limits the damage)' : ': it is sent over plain HTTP too'}`, `Add Secure:\n${set}`, raw);
      }
      if (c.name.toLowerCase().includes('csrf') && c.sameSite === undefined) {
        worse('cookies-anticsrf-without-samesite-flag');
        add('cookies-anticsrf-without-samesite-flag', 'low', `Anti-CSRF cookie "${c.name}" has no SameSite`, `Add SameSite=Strict or Lax:\n${set}`, raw);
      }
      if (session && !c.httpOnly) {
        if (sessionScore) worse('cookies-session-without-httponly-flag');
        add('cookies-session-without-httponly-flag', 'high', `Session cookie "${c.name}" lacks HttpOnly: any injected script can steal it`, `Add HttpOnly:\n${set}`, raw);
      }
      if (c.sameSite === undefined) {
        missingSameSite = true;
        if (session) add('cookies-session-without-samesite', 'low', `Session cookie "${c.name}" has no SameSite attribute`, `Add SameSite=Lax (or Strict):\n${set}`, raw);
      }
    }
    if (counted === 0 && result === undefined) {
      return { findings, tests: { cookies: testResult('cookies-not-found', true) } };
    }
    const final: ResultId = result ?? (missingSameSite ? 'cookies-secure-with-httponly-sessions' : 'cookies-secure-with-httponly-sessions-and-samesite');
    const pass = final === 'cookies-secure-with-httponly-sessions' || final === 'cookies-secure-with-httponly-sessions-and-samesite';
    return { findings, tests: { cookies: testResult(final, pass) } };
  },
};

/** The Set-Cookie line to send, and how to get it from nginx (as a proxy), Express and Fastify. */
function cookieFix(name: string): string {
  const q = JSON.stringify(name);
  return [
    `Set-Cookie: ${name}=…; Path=/; Secure; HttpOnly; SameSite=Lax${name.startsWith('__Host-') ? '  (no Domain)' : ''}`,
    'nginx:   proxy_cookie_flags ~ secure httponly samesite=lax;',
    `Express: res.cookie(${q}, value, { secure: true, httpOnly: true, sameSite: 'lax', path: '/' });`,
    `Fastify: reply.setCookie(${q}, value, { secure: true, httpOnly: true, sameSite: 'lax', path: '/' });  (@fastify/cookie)`,
  ].join('\n');
}

/** Cookie values can be session tokens: show the name and attributes only. */
function redactCookie(raw: string): string {
  const semi = raw.indexOf(';');
  const pair = semi === -1 ? raw : raw.slice(0, semi);
  const eq = pair.indexOf('=');
  const name = eq === -1 ? pair : pair.slice(0, eq);
  return `${name.trim()}=…${semi === -1 ? '' : raw.slice(semi)}`;
}
