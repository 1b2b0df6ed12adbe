/**
 * Every result of every header check, against a real site on 127.0.0.1 scanned by scanSite.
 * Each row: what the site sends → the test's result id (and the findings it must raise).
 */
import { describe, expect, it } from 'vitest';
import { findingIds, PAGE, result, scanSpec, type SiteSpec } from './header-site.js';

interface Row {
  it: string;
  site: SiteSpec;
  test: string;
  result: string;
  findings?: string[];
  absent?: string[];
}

function rows(list: Row[]): void {
  for (const row of list) {
    it(row.it, async () => {
      const report = await scanSpec(row.site);
      expect(result(report, row.test)?.result, JSON.stringify(report.tests[row.test])).toBe(row.result);
      const ids = findingIds(report);
      for (const id of row.findings ?? []) expect(ids).toContain(id);
      for (const id of row.absent ?? []) expect(ids).not.toContain(id);
    });
  }
}

const csp = (value: string | string[]): SiteSpec => ({ headers: [['content-security-policy', value]] });
const cspHttps = (value: string): SiteSpec => ({ https: true, headers: [['content-security-policy', value]] });
const head = (inner: string): string => `<!doctype html><html><head>${inner}</head><body><p>x</p></body></html>`;

describe('content-security-policy', () => {
  rows([
    { it: 'reports a page without any policy', site: {}, test: 'content-security-policy', result: 'csp-not-implemented', findings: ['csp-not-implemented'] },
    { it: 'says a report-only policy alone enforces nothing', site: { headers: [['content-security-policy-report-only', "default-src 'self'"]] }, test: 'content-security-policy', result: 'csp-not-implemented-but-reporting-enabled', findings: ['csp-not-implemented-but-reporting-enabled'] },
    { it: 'rejects a policy with no directive a browser can enforce', site: csp('nonsense!'), test: 'content-security-policy', result: 'csp-header-invalid', findings: ['csp-header-invalid'] },
    { it: 'rejects a policy naming only directives browsers do not know', site: csp('x'), test: 'content-security-policy', result: 'csp-header-invalid' },
    { it: 'sees no policy in a <meta> tag that holds only frame-ancestors', site: { body: head(`<meta http-equiv="Content-Security-Policy" content="frame-ancestors 'none'">`) }, test: 'content-security-policy', result: 'csp-not-implemented', findings: ['csp-directive-ignored-in-meta'] },
    { it: "credits default-src 'none' with the largest bonus", site: csp("default-src 'none'; form-action 'none'; base-uri 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe-default-src-none', absent: ['csp-base-uri-missing'] },
    { it: 'credits a policy without unsafe sources', site: csp("default-src 'self'; object-src 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-base-uri-missing', 'csp-form-action-missing'] },
    { it: "flags 'unsafe-inline' in script-src", site: csp("script-src 'self' 'unsafe-inline'; object-src 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-unsafe-inline'] },
    { it: "ignores 'unsafe-inline' when a nonce is present, as browsers do", site: csp("default-src 'self'; script-src 'self' 'unsafe-inline' 'nonce-abc123'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', absent: ['csp-script-unsafe-inline'] },
    { it: "ignores 'unsafe-inline' when a hash is present", site: csp("default-src 'self'; script-src 'unsafe-inline' 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe' },
    { it: "ignores host and scheme sources under 'strict-dynamic' with a nonce", site: csp("default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic' https: 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', absent: ['csp-script-broad-source', 'csp-script-unsafe-inline'] },
    { it: "says 'strict-dynamic' without a nonce or hash blocks every script", site: csp("default-src 'self'; script-src 'strict-dynamic' 'self'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-strict-dynamic-without-nonce'] },
    { it: "flags 'unsafe-inline' in script-src-elem, which governs <script> elements", site: csp("default-src 'self'; script-src 'self'; script-src-elem 'self' 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-unsafe-inline'] },
    { it: "flags 'unsafe-inline' in script-src-attr, which lets event handlers run", site: csp("default-src 'self'; script-src-attr 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline' },
    { it: "accepts script-src-attr 'none' beside a strict script-src", site: csp("default-src 'self'; script-src 'self'; script-src-attr 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe' },
    { it: 'flags a wildcard script source', site: csp("script-src *; object-src 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-broad-source'] },
    { it: 'flags a bare https: script source', site: csp("script-src 'self' https:; object-src 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-broad-source'] },
    { it: 'flags data: in script-src', site: csp("script-src 'self' data:; object-src 'none'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-data-source'] },
    { it: 'falls back to default-src for scripts', site: csp("default-src 'self' 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-unsafe-inline'] },
    { it: 'treats a policy without script-src or default-src as not restricting scripts', site: csp("img-src 'self'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-script-unsafe-inline', 'csp-object-src-unrestricted'] },
    { it: 'flags an unrestricted object-src', site: csp("script-src 'self'; object-src *"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline', findings: ['csp-object-src-unrestricted'] },
    { it: 'flags data: in object-src without changing the score', site: csp("default-src 'self'; object-src 'self' data:"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-object-src-data'] },
    { it: "flags 'unsafe-eval'", site: csp("default-src 'self'; script-src 'self' 'unsafe-eval'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-eval', findings: ['csp-implemented-with-unsafe-eval'] },
    { it: 'flags http: script sources on an HTTPS page', site: cspHttps("default-src 'self'; script-src 'self' http://cdn.example.com"), test: 'content-security-policy', result: 'csp-implemented-with-insecure-scheme', findings: ['csp-implemented-with-insecure-scheme'] },
    { it: 'flags http: image sources on an HTTPS page as passive only', site: cspHttps("default-src 'self'; img-src 'self' http://img.example.com"), test: 'content-security-policy', result: 'csp-implemented-with-insecure-scheme-in-passive-content-only', findings: ['csp-implemented-with-insecure-scheme-in-passive-content-only'] },
    { it: "reports 'unsafe-inline' in style-src only", site: csp("default-src 'self'; style-src 'self' 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-unsafe-inline-in-style-src-only', findings: ['csp-style-unsafe'] },
    { it: 'notes duplicate report directives', site: csp("default-src 'self'; report-uri /a; report-uri /b"), test: 'content-security-policy', result: 'csp-implemented-but-duplicate-directives', findings: ['csp-duplicate-directive'] },
    { it: 'keeps the first of a repeated directive, as browsers do', site: csp("default-src 'self'; script-src 'self'; script-src 'unsafe-inline'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-duplicate-directive'] },
    { it: 'enforces a policy from a <meta> tag in <head>', site: { body: head(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'; object-src 'none'">`) }, test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe' },
    { it: 'ignores a <meta> policy outside <head>', site: { body: `<!doctype html><html><head></head><body><p>x</p><meta http-equiv="Content-Security-Policy" content="default-src 'self'"></body></html>` }, test: 'content-security-policy', result: 'csp-not-implemented', findings: ['csp-meta-outside-head'] },
    { it: 'ignores frame-ancestors in a <meta> policy', site: { body: head(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'; frame-ancestors 'none'">`) }, test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-directive-ignored-in-meta'] },
    { it: 'lets the stricter of two header policies win', site: csp(["default-src 'self'; script-src 'self' 'unsafe-inline'", "default-src 'self'"]), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-several-policies'], absent: ['csp-script-unsafe-inline'] },
    { it: 'reads comma-separated policies in one header as several policies', site: csp("default-src 'self' 'unsafe-inline', default-src 'self'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-several-policies'] },
    { it: 'combines a header policy with a <meta> policy', site: { headers: [['content-security-policy', "default-src * 'unsafe-inline'"]], body: head(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'">`) }, test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe' },
    { it: 'reports directives browsers do not know', site: csp("default-src 'self'; scirpt-src 'self'"), test: 'content-security-policy', result: 'csp-implemented-with-no-unsafe', findings: ['csp-unknown-directive'] },
  ]);
});

describe('strict-transport-security', () => {
  const hsts = (value: string | string[]): SiteSpec => ({ https: true, headers: [['strict-transport-security', value]] });
  rows([
    { it: 'accepts max-age of two years with includeSubDomains and preload', site: hsts('max-age=63072000; includeSubDomains; preload'), test: 'strict-transport-security', result: 'hsts-implemented-max-age-at-least-six-months', absent: ['hsts-no-include-subdomains', 'hsts-preload-not-eligible'] },
    { it: 'suggests includeSubDomains when it is missing', site: hsts('max-age=31536000'), test: 'strict-transport-security', result: 'hsts-implemented-max-age-at-least-six-months', findings: ['hsts-no-include-subdomains'] },
    { it: 'says preload needs includeSubDomains and a year', site: hsts('max-age=15552000; preload'), test: 'strict-transport-security', result: 'hsts-implemented-max-age-at-least-six-months', findings: ['hsts-preload-not-eligible'] },
    { it: 'flags max-age under six months', site: hsts('max-age=86400; includeSubDomains'), test: 'strict-transport-security', result: 'hsts-implemented-max-age-less-than-six-months', findings: ['hsts-implemented-max-age-less-than-six-months'] },
    { it: 'reports a missing header on HTTPS', site: { https: true }, test: 'strict-transport-security', result: 'hsts-not-implemented', findings: ['hsts-not-implemented'] },
    { it: 'rejects max-age=abc, which browsers ignore', site: hsts('max-age=abc'), test: 'strict-transport-security', result: 'hsts-header-invalid', findings: ['hsts-header-invalid'] },
    { it: 'rejects a header without max-age', site: hsts('includeSubDomains'), test: 'strict-transport-security', result: 'hsts-header-invalid' },
    { it: 'rejects a directive given twice', site: hsts('max-age=31536000; max-age=1'), test: 'strict-transport-security', result: 'hsts-header-invalid' },
    { it: 'rejects the header sent twice', site: hsts(['max-age=31536000', 'max-age=63072000']), test: 'strict-transport-security', result: 'hsts-header-invalid' },
    { it: 'accepts a quoted max-age', site: hsts('max-age="31536000"; includeSubDomains'), test: 'strict-transport-security', result: 'hsts-implemented-max-age-at-least-six-months' },
    { it: 'says HSTS cannot work without HTTPS, and is ignored when sent over HTTP', site: { headers: [['strict-transport-security', 'max-age=63072000']] }, test: 'strict-transport-security', result: 'hsts-not-implemented-no-https', findings: ['hsts-not-implemented-no-https', 'hsts-on-plain-http'] },
  ]);
});

describe('x-frame-options (clickjacking)', () => {
  rows([
    { it: 'reports a page anyone can frame', site: {}, test: 'x-frame-options', result: 'x-frame-options-not-implemented', findings: ['x-frame-options-not-implemented'] },
    { it: 'accepts DENY', site: { headers: [['x-frame-options', 'DENY']] }, test: 'x-frame-options', result: 'x-frame-options-sameorigin-or-deny' },
    { it: 'accepts SAMEORIGIN in any case', site: { headers: [['x-frame-options', 'sameOrigin']] }, test: 'x-frame-options', result: 'x-frame-options-sameorigin-or-deny' },
    { it: 'says ALLOW-FROM is ignored by current browsers', site: { headers: [['x-frame-options', 'ALLOW-FROM https://a.example']] }, test: 'x-frame-options', result: 'x-frame-options-allow-from-origin', findings: ['x-frame-options-allow-from-ignored'] },
    { it: 'rejects an unknown value', site: { headers: [['x-frame-options', 'ALLOWALL']] }, test: 'x-frame-options', result: 'x-frame-options-header-invalid', findings: ['x-frame-options-header-invalid'] },
    { it: 'rejects conflicting values', site: { headers: [['x-frame-options', ['DENY', 'SAMEORIGIN']]] }, test: 'x-frame-options', result: 'x-frame-options-header-invalid' },
    { it: 'credits CSP frame-ancestors in the header', site: csp("default-src 'self'; frame-ancestors 'none'"), test: 'x-frame-options', result: 'x-frame-options-implemented-via-csp' },
    { it: 'lets frame-ancestors * win over X-Frame-Options DENY, as browsers do', site: { headers: [['x-frame-options', 'DENY'], ['content-security-policy', 'frame-ancestors *']] }, test: 'x-frame-options', result: 'x-frame-options-csp-frame-ancestors-permissive', findings: ['x-frame-options-csp-frame-ancestors-permissive'] },
    { it: 'does not credit frame-ancestors in a <meta> policy', site: { body: head(`<meta http-equiv="Content-Security-Policy" content="frame-ancestors 'none'">`) }, test: 'x-frame-options', result: 'x-frame-options-not-implemented' },
    { it: 'falls back on X-Frame-Options when frame-ancestors is only in <meta>', site: { headers: [['x-frame-options', 'DENY']], body: head(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'; frame-ancestors 'none'">`) }, test: 'x-frame-options', result: 'x-frame-options-sameorigin-or-deny', findings: ['clickjacking-frame-ancestors-in-meta'] },
  ]);
});

describe('x-content-type-options', () => {
  rows([
    { it: 'accepts nosniff', site: { headers: [['x-content-type-options', 'nosniff']] }, test: 'x-content-type-options', result: 'x-content-type-options-nosniff' },
    { it: 'reports a missing header', site: {}, test: 'x-content-type-options', result: 'x-content-type-options-not-implemented', findings: ['x-content-type-options-not-implemented'] },
    { it: 'rejects any other value', site: { headers: [['x-content-type-options', 'sniff-away']] }, test: 'x-content-type-options', result: 'x-content-type-options-header-invalid', findings: ['x-content-type-options-header-invalid'] },
  ]);
});

describe('referrer-policy', () => {
  const rp = (v: string): SiteSpec => ({ headers: [['referrer-policy', v]] });
  rows([
    { it: 'credits a private policy', site: rp('strict-origin-when-cross-origin'), test: 'referrer-policy', result: 'referrer-policy-private' },
    { it: 'notes a missing policy without penalty', site: {}, test: 'referrer-policy', result: 'referrer-policy-not-implemented', findings: ['referrer-policy-not-implemented'] },
    { it: 'flags unsafe-url as leaking full URLs', site: rp('unsafe-url'), test: 'referrer-policy', result: 'referrer-policy-unsafe', findings: ['referrer-policy-unsafe'] },
    { it: 'flags no-referrer-when-downgrade', site: rp('no-referrer-when-downgrade'), test: 'referrer-policy', result: 'referrer-policy-unsafe' },
    { it: 'rejects a value no browser knows', site: rp('no-referer'), test: 'referrer-policy', result: 'referrer-policy-header-invalid', findings: ['referrer-policy-header-invalid'] },
    { it: 'uses the last known value of several (fallback order)', site: rp('unsafe-url, strict-origin'), test: 'referrer-policy', result: 'referrer-policy-private' },
    { it: 'skips unknown tokens when falling back', site: rp('no-referrer, unsafe-url, made-up-policy'), test: 'referrer-policy', result: 'referrer-policy-unsafe' },
    { it: 'reads <meta name="referrer">', site: { body: head('<meta name="referrer" content="no-referrer">') }, test: 'referrer-policy', result: 'referrer-policy-private' },
    { it: 'lets <meta name="referrer"> override the header', site: { headers: [['referrer-policy', 'no-referrer']], body: head('<meta name="referrer" content="unsafe-url">') }, test: 'referrer-policy', result: 'referrer-policy-unsafe' },
    { it: 'says which tokens were skipped', site: rp('unsafe-url, same-origin, future-policy'), test: 'referrer-policy', result: 'referrer-policy-private', findings: ['referrer-policy-unknown-token'] },
  ]);
});

describe('cross-origin-resource-policy, -opener-policy and -embedder-policy', () => {
  rows([
    { it: 'credits CORP same-origin', site: { headers: [['cross-origin-resource-policy', 'same-origin']] }, test: 'cross-origin-resource-policy', result: 'corp-implemented-with-same-origin' },
    { it: 'credits CORP same-site', site: { headers: [['cross-origin-resource-policy', 'same-site']] }, test: 'cross-origin-resource-policy', result: 'corp-implemented-with-same-site' },
    { it: 'accepts CORP cross-origin without credit', site: { headers: [['cross-origin-resource-policy', 'cross-origin']] }, test: 'cross-origin-resource-policy', result: 'corp-implemented-with-cross-origin' },
    { it: 'rejects an invalid CORP', site: { headers: [['cross-origin-resource-policy', 'same']] }, test: 'cross-origin-resource-policy', result: 'corp-header-invalid', findings: ['corp-header-invalid'] },
    { it: 'notes a missing CORP', site: {}, test: 'cross-origin-resource-policy', result: 'corp-not-implemented', findings: ['corp-not-implemented'] },
    { it: 'accepts COOP same-origin', site: { headers: [['cross-origin-opener-policy', 'same-origin']] }, test: 'cross-origin-opener-policy', result: 'coop-same-origin' },
    { it: 'accepts COOP same-origin-allow-popups with a report-to parameter', site: { headers: [['cross-origin-opener-policy', 'same-origin-allow-popups; report-to="coop"']] }, test: 'cross-origin-opener-policy', result: 'coop-same-origin-allow-popups' },
    { it: 'notes COOP unsafe-none', site: { headers: [['cross-origin-opener-policy', 'unsafe-none']] }, test: 'cross-origin-opener-policy', result: 'coop-unsafe-none', findings: ['coop-unsafe-none'] },
    { it: 'notes a missing COOP', site: {}, test: 'cross-origin-opener-policy', result: 'coop-not-implemented', findings: ['coop-not-implemented'] },
    { it: 'rejects an invalid COOP', site: { headers: [['cross-origin-opener-policy', 'isolate']] }, test: 'cross-origin-opener-policy', result: 'coop-header-invalid', findings: ['coop-header-invalid'] },
    { it: 'accepts COEP require-corp', site: { headers: [['cross-origin-embedder-policy', 'require-corp']] }, test: 'cross-origin-embedder-policy', result: 'coep-require-corp' },
    { it: 'accepts COEP credentialless', site: { headers: [['cross-origin-embedder-policy', 'credentialless']] }, test: 'cross-origin-embedder-policy', result: 'coep-credentialless' },
    { it: 'notes COEP unsafe-none', site: { headers: [['cross-origin-embedder-policy', 'unsafe-none']] }, test: 'cross-origin-embedder-policy', result: 'coep-unsafe-none', findings: ['coep-unsafe-none'] },
    { it: 'notes a missing COEP', site: {}, test: 'cross-origin-embedder-policy', result: 'coep-not-implemented', findings: ['coep-not-implemented'] },
    { it: 'rejects an invalid COEP', site: { headers: [['cross-origin-embedder-policy', 'require-everything']] }, test: 'cross-origin-embedder-policy', result: 'coep-header-invalid', findings: ['coep-header-invalid'] },
  ]);
});

describe('permissions-policy', () => {
  const pp = (v: string): SiteSpec => ({ headers: [['permissions-policy', v]] });
  rows([
    { it: 'accepts a policy that turns powerful features off', site: pp('camera=(), microphone=(), geolocation=(self "https://maps.example.com")'), test: 'permissions-policy', result: 'permissions-policy-restrictive' },
    { it: 'flags powerful features granted to every origin', site: pp('camera=*, geolocation=()'), test: 'permissions-policy', result: 'permissions-policy-not-restrictive', findings: ['permissions-policy-not-restrictive'] },
    { it: 'reports a missing policy', site: {}, test: 'permissions-policy', result: 'permissions-policy-not-implemented', findings: ['permissions-policy-not-implemented'] },
    { it: 'says the old Feature-Policy alone is not read any more', site: { headers: [['feature-policy', "camera 'none'"]] }, test: 'permissions-policy', result: 'permissions-policy-not-implemented', findings: ['permissions-policy-not-implemented', 'deprecated-feature-policy'] },
    { it: 'rejects the old Feature-Policy syntax in Permissions-Policy', site: pp("camera 'none'; microphone 'none'"), test: 'permissions-policy', result: 'permissions-policy-header-invalid', findings: ['permissions-policy-header-invalid'] },
  ]);
});

describe('cross-origin-resource-sharing', () => {
  rows([
    { it: 'notes no CORS headers without penalty', site: {}, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-not-implemented' },
    { it: 'accepts public access with *', site: { headers: [['access-control-allow-origin', '*']] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-implemented-with-public-access' },
    { it: 'notes * with credentials, which browsers refuse', site: { headers: [['access-control-allow-origin', '*'], ['access-control-allow-credentials', 'true']] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-implemented-with-public-access', findings: ['cors-wildcard-with-credentials'] },
    { it: 'accepts a fixed trusted origin', site: { headers: [['access-control-allow-origin', 'https://app.example.com'], ['access-control-allow-credentials', 'true']] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-implemented-with-restricted-access' },
    { it: 'catches a reflected foreign origin with credentials', site: { corsHeaders: (o) => [['access-control-allow-origin', o], ['access-control-allow-credentials', 'true']] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-implemented-with-universal-access', findings: ['cors-origin-reflected-with-credentials'] },
    { it: 'notes a reflected foreign origin without credentials', site: { corsHeaders: (o) => [['access-control-allow-origin', o]] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-origin-reflected', findings: ['cross-origin-resource-sharing-origin-reflected'] },
    { it: 'flags the null origin with credentials', site: { headers: [['access-control-allow-origin', 'null'], ['access-control-allow-credentials', 'true']] }, test: 'cross-origin-resource-sharing', result: 'cross-origin-resource-sharing-implemented-with-restricted-access', findings: ['cors-null-origin-with-credentials'] },
  ]);
});

describe('cookies', () => {
  const ck = (v: string | string[], https = true, extra: Array<[string, string]> = []): SiteSpec => ({ https, headers: [['set-cookie', v], ...extra] });
  const hsts: Array<[string, string]> = [['strict-transport-security', 'max-age=31536000']];
  rows([
    { it: 'notes a page without cookies', site: {}, test: 'cookies', result: 'cookies-not-found' },
    { it: 'credits Secure, HttpOnly sessions and SameSite', site: ck('sessionid=1; Path=/; Secure; HttpOnly; SameSite=Lax'), test: 'cookies', result: 'cookies-secure-with-httponly-sessions-and-samesite' },
    { it: 'accepts Secure, HttpOnly sessions without SameSite', site: ck('sessionid=1; Path=/; Secure; HttpOnly'), test: 'cookies', result: 'cookies-secure-with-httponly-sessions', findings: ['cookies-session-without-samesite'] },
    { it: 'flags a cookie without Secure', site: ck('theme=dark; Path=/; SameSite=Lax'), test: 'cookies', result: 'cookies-without-secure-flag', findings: ['cookies-without-secure-flag'] },
    { it: 'softens a missing Secure when HSTS protects the site', site: ck('theme=dark; Path=/; SameSite=Lax', true, hsts), test: 'cookies', result: 'cookies-without-secure-flag-but-protected-by-hsts' },
    { it: 'flags a session cookie without Secure', site: ck('sessionid=1; Path=/; HttpOnly; SameSite=Lax'), test: 'cookies', result: 'cookies-session-without-secure-flag', findings: ['cookies-session-without-secure-flag'] },
    { it: 'softens a session cookie without Secure under HSTS', site: ck('sessionid=1; Path=/; HttpOnly; SameSite=Lax', true, hsts), test: 'cookies', result: 'cookies-session-without-secure-flag-but-protected-by-hsts' },
    { it: 'flags a session cookie without HttpOnly', site: ck('sessionid=1; Path=/; Secure; SameSite=Lax'), test: 'cookies', result: 'cookies-session-without-httponly-flag', findings: ['cookies-session-without-httponly-flag'] },
    { it: 'flags an unknown SameSite value', site: ck('theme=dark; Secure; SameSite=Loose'), test: 'cookies', result: 'cookies-samesite-flag-invalid', findings: ['cookies-samesite-flag-invalid'] },
    { it: 'does not ask for HttpOnly on an anti-CSRF token scripts must read', site: ck('XSRF-TOKEN=1; Path=/; Secure; SameSite=Lax'), test: 'cookies', result: 'cookies-secure-with-httponly-sessions-and-samesite', absent: ['cookies-session-without-httponly-flag'] },
    { it: 'treats auth and token cookies as session cookies for HttpOnly', site: ck('auth_token=1; Path=/; Secure; SameSite=Lax'), test: 'cookies', result: 'cookies-secure-with-httponly-sessions-and-samesite', findings: ['cookies-session-without-httponly-flag'] },
    { it: 'flags an anti-CSRF cookie without SameSite', site: ck('csrftoken=1; Path=/; Secure'), test: 'cookies', result: 'cookies-anticsrf-without-samesite-flag', findings: ['cookies-anticsrf-without-samesite-flag'] },
    { it: 'flags SameSite=None without Secure, which browsers reject', site: ck('track=1; SameSite=None'), test: 'cookies', result: 'cookies-samesite-flag-invalid', findings: ['cookies-rejected-by-browsers'] },
    { it: 'says a __Host- cookie with a Domain is rejected', site: ck('__Host-sid=1; Path=/; Secure; HttpOnly; SameSite=Lax; Domain=localhost'), test: 'cookies', result: 'cookies-not-found', findings: ['cookies-rejected-by-browsers'] },
    { it: 'says a __Host- cookie needs Path=/', site: ck('__Host-sid=1; Path=/app; Secure; HttpOnly; SameSite=Lax'), test: 'cookies', result: 'cookies-not-found', findings: ['cookies-rejected-by-browsers'] },
    { it: 'says a __Secure- cookie needs Secure', site: ck('__Secure-sid=1; Path=/; HttpOnly; SameSite=Lax'), test: 'cookies', result: 'cookies-not-found', findings: ['cookies-rejected-by-browsers'] },
    { it: 'accepts a well-formed __Host- cookie', site: ck('__Host-sid=1; Path=/; Secure; HttpOnly; SameSite=Strict'), test: 'cookies', result: 'cookies-secure-with-httponly-sessions-and-samesite', absent: ['cookies-rejected-by-browsers'] },
    { it: 'reports the worst of several cookies', site: ck(['a=1; Secure; SameSite=Lax', 'sessionid=2; SameSite=Lax']), test: 'cookies', result: 'cookies-session-without-secure-flag' },
    { it: 'never shows a cookie value in evidence', site: ck('sessionid=s3cr3t-v4lue; Path=/'), test: 'cookies', result: 'cookies-session-without-secure-flag' },
  ]);

  it('never shows a cookie value in evidence (checked)', async () => {
    const report = await scanSpec(ck('sessionid=s3cr3t-v4lue; Path=/'));
    expect(JSON.stringify(report.findings)).not.toContain('s3cr3t-v4lue');
  });
});

describe('information leaks in headers', () => {
  rows([
    { it: 'passes when nothing identifies the software', site: { headers: [['server', 'nginx']] }, test: 'information-leak-headers', result: 'info-leak-none' },
    { it: 'flags a Server header with a version', site: { headers: [['server', 'Apache/2.4.1 (Unix)']] }, test: 'information-leak-headers', result: 'info-leak-headers-present', findings: ['info-leak-server'] },
    { it: 'flags X-Powered-By', site: { headers: [['x-powered-by', 'PHP/8.1.2']] }, test: 'information-leak-headers', result: 'info-leak-headers-present', findings: ['info-leak-x-powered-by'] },
    { it: 'flags the ASP.NET version headers', site: { headers: [['x-aspnet-version', '4.0.30319'], ['x-aspnetmvc-version', '5.2']] }, test: 'information-leak-headers', result: 'info-leak-headers-present', findings: ['info-leak-x-aspnet-version', 'info-leak-x-aspnetmvc-version'] },
    { it: 'flags X-Generator', site: { headers: [['x-generator', 'Drupal 10']] }, test: 'information-leak-headers', result: 'info-leak-headers-present', findings: ['info-leak-x-generator'] },
    { it: 'flags a Symfony debug token', site: { headers: [['x-debug-token', 'a1b2c3']] }, test: 'information-leak-headers', result: 'info-leak-headers-present', findings: ['info-leak-x-debug-token'] },
  ]);
});

describe('deprecated and harmful headers', () => {
  rows([
    { it: 'passes X-XSS-Protection: 0', site: { headers: [['x-xss-protection', '0']] }, test: 'deprecated-headers', result: 'deprecated-headers-none' },
    { it: 'flags X-XSS-Protection: 1; mode=block', site: { headers: [['x-xss-protection', '1; mode=block']] }, test: 'deprecated-headers', result: 'deprecated-headers-present', findings: ['deprecated-x-xss-protection-enabled'] },
    { it: 'flags Expect-CT', site: { headers: [['expect-ct', 'max-age=86400, enforce']] }, test: 'deprecated-headers', result: 'deprecated-headers-present', findings: ['deprecated-expect-ct'] },
    { it: 'flags Public-Key-Pins', site: { headers: [['public-key-pins', 'pin-sha256="AAAA"; max-age=5184000']] }, test: 'deprecated-headers', result: 'deprecated-headers-present', findings: ['deprecated-public-key-pins'] },
  ]);
});

describe('subresource-integrity', () => {
  const page = (scripts: string): SiteSpec => ({ https: true, body: head(scripts) });
  const INT = 'integrity="sha384-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" crossorigin="anonymous"';
  rows([
    { it: 'skips a response that is not HTML', site: { contentType: 'application/json', body: '{"a":1}' }, test: 'subresource-integrity', result: 'sri-not-implemented-response-not-html' },
    { it: 'notes a page without scripts', site: { body: PAGE }, test: 'subresource-integrity', result: 'sri-not-implemented-but-no-scripts-loaded' },
    { it: 'accepts scripts from its own origin', site: page('<script src="/app.js"></script><script>1</script>'), test: 'subresource-integrity', result: 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin' },
    { it: 'credits integrity on own scripts', site: page(`<script src="https://localhost/app.js" ${INT}></script>`), test: 'subresource-integrity', result: 'sri-implemented-and-all-scripts-loaded-securely' },
    { it: 'credits integrity on scripts from another site', site: page(`<script src="https://cdn.example.com/lib.js" ${INT}></script>`), test: 'subresource-integrity', result: 'sri-implemented-and-external-scripts-loaded-securely' },
    { it: 'flags a script from another site without integrity', site: page('<script src="https://cdn.example.com/lib.js"></script>'), test: 'subresource-integrity', result: 'sri-not-implemented-but-external-scripts-loaded-securely', findings: ['sri-script-missing'] },
    { it: 'flags integrity on a script loaded over http', site: page(`<script src="http://cdn.example.com/lib.js" ${INT}></script>`), test: 'subresource-integrity', result: 'sri-implemented-but-external-scripts-not-loaded-securely', findings: ['sri-script-over-http'] },
    { it: 'flags a script from another site over http without integrity', site: page('<script src="http://cdn.example.com/lib.js"></script>'), test: 'subresource-integrity', result: 'sri-not-implemented-and-external-scripts-not-loaded-securely', findings: ['sri-script-missing', 'sri-script-over-http'] },
    { it: 'resolves a protocol-relative script against the HTTPS page', site: page('<script src="//cdn.example.com/lib.js"></script>'), test: 'subresource-integrity', result: 'sri-not-implemented-but-external-scripts-loaded-securely' },
    { it: 'says integrity without crossorigin cannot be checked', site: page('<script src="https://cdn.example.com/lib.js" integrity="sha384-AAAA"></script>'), test: 'subresource-integrity', result: 'sri-implemented-and-external-scripts-loaded-securely', findings: ['sri-without-crossorigin'] },
    { it: 'reports a stylesheet from another site without integrity', site: page('<link rel="stylesheet" href="https://cdn.example.com/x.css"><script src="/a.js"></script>'), test: 'subresource-integrity', result: 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin', findings: ['sri-stylesheet-missing'] },
  ]);
});

describe('redirection', () => {
  rows([
    { it: 'accepts http:// redirecting to https:// on the same host', site: { https: true, httpVisit: { location: (https) => `${https}/` } }, test: 'redirection', result: 'redirection-to-https' },
    { it: 'flags http:// that serves the page itself', site: { https: true, httpVisit: { location: () => undefined } }, test: 'redirection', result: 'redirection-missing', findings: ['redirection-missing'] },
    { it: 'flags http:// redirecting only to another http:// page', site: { https: true, httpVisit: { location: (_s, http, path) => (path === '/' ? `${http}/elsewhere` : undefined) } }, test: 'redirection', result: 'redirection-not-to-https', findings: ['redirection-not-to-https'] },
    { it: 'flags a first hop to http:// before https://', site: { https: true, httpVisit: { location: (https, http, path) => (path === '/' ? `${http}/step` : `${https}/`) } }, test: 'redirection', result: 'redirection-not-to-https-on-initial-redirection', findings: ['redirection-not-to-https-on-initial-redirection'] },
    { it: 'flags a first hop to https:// on another host', site: { https: true, httpVisit: { location: (https) => https.replace('localhost', '127.0.0.1') + '/' } }, test: 'redirection', result: 'redirection-off-host-from-http', findings: ['redirection-off-host-from-http'] },
    { it: 'reports a plain-HTTP site as having no redirection', site: {}, test: 'redirection', result: 'redirection-missing', findings: ['redirection-missing'] },
  ]);
});
