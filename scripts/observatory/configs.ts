/**
 * The header configurations served for the Observatory comparison: the setups sites really
 * ship (framework defaults, CDNs, half-done hardening) plus each edge of every shared test.
 * `differs` names the documented reason (docs/scoring.md) when keyward deliberately disagrees.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HttpMode = 'redirect' | 'redirect-302' | 'serve' | 'http-first' | 'off-host' | 'down';

export interface SiteConfig {
  name: string;
  /** Plain-HTTP behaviour on port 80 (default: redirect to https on the same host). */
  http?: HttpMode;
  /** false: no HTTPS at all (the TLS handshake is refused). */
  https?: boolean;
  headers?: Array<[string, string | string[]]>;
  body?: string;
  contentType?: string;
  /** Echo the request's Origin in Access-Control-Allow-Origin (with credentials when 'credentials'). */
  reflectOrigin?: 'plain' | 'credentials';
  /** Why keyward's letter deliberately differs, if it does (a heading in docs/scoring.md). */
  differs?: string;
  /**
   * Set on the configurations that only demonstrate a documented difference (docs/scoring.md,
   * "Further differences"): printed in their own table and left out of the agreement rate,
   * since each was chosen to differ.
   */
  demonstrates?: boolean;
}

const page = (head = '', body = '<p>hello</p>'): string => `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`;

const CSP_STRICT = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const HSTS = 'max-age=63072000; includeSubDomains; preload';
const HARDENED: Array<[string, string]> = [
  ['content-security-policy', CSP_STRICT],
  ['strict-transport-security', HSTS],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'strict-origin-when-cross-origin'],
  ['x-frame-options', 'DENY'],
];
/** helmet 8 defaults for Express. */
const HELMET: Array<[string, string]> = [
  ['content-security-policy', "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"],
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
];
/** Everything but the header under test, so each row isolates one result. */
const BASE: Array<[string, string]> = [
  ['strict-transport-security', HSTS],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
];
const withCsp = (csp: string, extra: Array<[string, string | string[]]> = []): Array<[string, string | string[]]> => [...BASE, ['content-security-policy', csp], ...extra];
const without = (list: Array<[string, string]>, name: string): Array<[string, string]> => list.filter(([n]) => n !== name);
const EXT = 'https://cdn.example.net';

export const CONFIGS: SiteConfig[] = [
  // whole-site setups
  { name: 'bare HTTPS page, no headers' },
  { name: 'plain-HTTP-only site', https: false, http: 'serve' },
  { name: 'plain-HTTP-only site with hardened headers', https: false, http: 'serve', headers: HARDENED },
  { name: 'hardened site', headers: HARDENED },
  { name: 'hardened site with cookies and CORP', headers: [...HARDENED, ['cross-origin-resource-policy', 'same-origin'], ['set-cookie', '__Host-session=x; Path=/; Secure; HttpOnly; SameSite=Lax']] },
  { name: 'helmet defaults (Express)', headers: HELMET },
  { name: 'nginx defaults (Server with version)', headers: [['server', 'nginx/1.24.0']] },
  { name: 'Apache + PHP defaults', headers: [['server', 'Apache/2.4.57 (Debian)'], ['x-powered-by', 'PHP/8.2.7'], ['set-cookie', 'PHPSESSID=abc; path=/']] },
  { name: 'ASP.NET defaults', headers: [['x-aspnet-version', '4.0.30319'], ['x-aspnetmvc-version', '5.2'], ['x-powered-by', 'ASP.NET'], ['set-cookie', 'ASP.NET_SessionId=abc; path=/; HttpOnly; SameSite=Lax']] },
  { name: 'Next.js defaults', headers: [['x-powered-by', 'Next.js']], body: page('<script src="/_next/static/chunks/main.js" defer></script>') },
  { name: 'static host with HSTS only', headers: [['strict-transport-security', 'max-age=31536000']] },
  { name: 'CDN with CORS * and nosniff', headers: [['access-control-allow-origin', '*'], ['x-content-type-options', 'nosniff'], ['strict-transport-security', 'max-age=31536000']] },
  { name: 'Django defaults (SecurityMiddleware, clickjacking)', headers: [['x-frame-options', 'DENY'], ['x-content-type-options', 'nosniff'], ['referrer-policy', 'same-origin'], ['cross-origin-opener-policy', 'same-origin'], ['set-cookie', 'csrftoken=x; expires=Sun, 28 Nov 2027 00:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax']] },
  { name: 'Rails defaults', headers: [['x-frame-options', 'SAMEORIGIN'], ['x-xss-protection', '0'], ['x-content-type-options', 'nosniff'], ['x-permitted-cross-domain-policies', 'none'], ['referrer-policy', 'strict-origin-when-cross-origin'], ['set-cookie', '_app_session=x; path=/; httponly; samesite=lax']] },
  { name: 'Laravel defaults', headers: [['x-powered-by', 'PHP/8.3.1'], ['set-cookie', ['XSRF-TOKEN=x; expires=Sun, 28 Nov 2027 00:00:00 GMT; Max-Age=7200; path=/; samesite=lax', 'laravel_session=y; expires=Sun, 28 Nov 2027 00:00:00 GMT; Max-Age=7200; path=/; httponly; samesite=lax']]] },
  { name: 'Spring Security defaults', headers: [['x-content-type-options', 'nosniff'], ['x-xss-protection', '0'], ['cache-control', 'no-cache, no-store, max-age=0, must-revalidate'], ['strict-transport-security', 'max-age=31536000 ; includeSubDomains'], ['x-frame-options', 'DENY'], ['set-cookie', 'JSESSIONID=x; Path=/; Secure; HttpOnly']] },
  { name: 'static hosting (GitHub Pages style)', headers: [['server', 'GitHub.com'], ['strict-transport-security', 'max-age=31556952'], ['access-control-allow-origin', '*']], body: page('<script src="/assets/js/main.js"></script>') },
  { name: 'edge platform (Vercel style)', headers: [['server', 'Vercel'], ['strict-transport-security', 'max-age=63072000'], ['x-vercel-cache', 'HIT']] },
  { name: 'WordPress defaults', headers: [['x-powered-by', 'PHP/7.4.33'], ['link', '<https://c.keyward.test/wp-json/>; rel="https://api.w.org/"']], body: page(`<script src="https://c.keyward.test/wp-includes/js/jquery/jquery.min.js?ver=3.7.1"></script><script src="${EXT}/analytics.js" async></script>`) },
  { name: 'hardened headers plus legacy extras', headers: [...HARDENED, ['x-xss-protection', '1; mode=block'], ['expect-ct', 'max-age=86400'], ['permissions-policy', 'camera=(), geolocation=()'], ['cross-origin-opener-policy', 'same-origin']] },
  // strict-transport-security
  { name: 'HSTS max-age one day', headers: without(HARDENED, 'strict-transport-security').concat([['strict-transport-security', 'max-age=86400']]) },
  { name: 'HSTS 180 days exactly', headers: without(HARDENED, 'strict-transport-security').concat([['strict-transport-security', 'max-age=15552000']]) },
  { name: 'HSTS without max-age', headers: without(HARDENED, 'strict-transport-security').concat([['strict-transport-security', 'includeSubDomains']]) },
  { name: 'HSTS sent twice', headers: [...without(HARDENED, 'strict-transport-security'), ['strict-transport-security', ['max-age=31536000', 'max-age=63072000']]] },
  { name: 'HSTS max-age=0', headers: without(HARDENED, 'strict-transport-security').concat([['strict-transport-security', 'max-age=0']]) },
  { name: 'HSTS max-age=abc', headers: without(HARDENED, 'strict-transport-security').concat([['strict-transport-security', 'max-age=abc']]), differs: 'HSTS with a max-age that is not a number' },
  // content-security-policy
  { name: 'CSP missing', headers: BASE },
  { name: "CSP default-src 'self'", headers: withCsp("default-src 'self'") },
  { name: "CSP script-src 'unsafe-inline'", headers: withCsp("default-src 'self'; script-src 'self' 'unsafe-inline'") },
  { name: 'CSP nonce neutralising unsafe-inline', headers: withCsp("default-src 'self'; script-src 'self' 'nonce-r4nd0m' 'unsafe-inline'") },
  { name: 'CSP strict-dynamic (Google style)', headers: withCsp("object-src 'none'; script-src 'nonce-r4nd0m' 'unsafe-inline' 'strict-dynamic' https: http:; base-uri 'none'; default-src 'self'") },
  { name: 'CSP wildcard script source', headers: withCsp("default-src 'self'; script-src *") },
  { name: 'CSP https: script source', headers: withCsp("default-src 'self'; script-src 'self' https:") },
  { name: 'CSP data: script source', headers: withCsp("default-src 'self'; script-src 'self' data:") },
  { name: 'CSP object-src *', headers: withCsp("default-src 'self'; object-src *") },
  { name: 'CSP without script-src or default-src', headers: withCsp("img-src 'self'; style-src 'self'") },
  { name: "CSP 'unsafe-eval'", headers: withCsp("default-src 'self'; script-src 'self' 'unsafe-eval'") },
  { name: 'CSP http: script host', headers: withCsp("default-src 'self'; script-src 'self' http://cdn.example.net") },
  { name: 'CSP http: image host', headers: withCsp("default-src 'self'; img-src 'self' http://img.example.net") },
  { name: "CSP style-src 'unsafe-inline'", headers: withCsp("default-src 'self'; style-src 'self' 'unsafe-inline'") },
  { name: "CSP default-src 'none'", headers: withCsp("default-src 'none'; img-src 'self'") },
  { name: 'CSP report-only alone', headers: [...BASE, ['content-security-policy-report-only', "default-src 'self'"]] },
  { name: 'CSP garbage value', headers: withCsp('x') },
  { name: 'CSP duplicate report-uri', headers: withCsp("default-src 'self'; report-uri /r1; report-uri /r2") },
  { name: 'CSP in a <meta> tag', headers: BASE, body: page(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'">`) },
  { name: 'CSP header plus a stricter <meta>', headers: withCsp("default-src 'self'"), body: page(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'">`) },
  { name: 'CSP <meta> with only frame-ancestors', headers: BASE, body: page(`<meta http-equiv="Content-Security-Policy" content="frame-ancestors 'none'">`) },
  // clickjacking
  { name: 'XFO missing', headers: [...without(BASE, 'x-frame-options'), ['content-security-policy', "default-src 'self'"]] },
  { name: 'XFO SAMEORIGIN', headers: [...without(BASE, 'x-frame-options'), ['x-frame-options', 'SAMEORIGIN']] },
  { name: 'XFO ALLOW-FROM', headers: [...without(BASE, 'x-frame-options'), ['x-frame-options', 'ALLOW-FROM https://a.example']] },
  { name: 'XFO invalid value', headers: [...without(BASE, 'x-frame-options'), ['x-frame-options', 'ALLOWALL']] },
  { name: "CSP frame-ancestors 'self' without XFO", headers: [...without(BASE, 'x-frame-options'), ['content-security-policy', "default-src 'self'; frame-ancestors 'self'"]] },
  { name: 'CSP frame-ancestors * with XFO DENY', headers: [...BASE, ['content-security-policy', "default-src 'self'; frame-ancestors *"]], differs: 'frame-ancestors that allows every site' },
  { name: 'frame-ancestors only in <meta>, no XFO', headers: without(BASE, 'x-frame-options'), body: page(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'; frame-ancestors 'none'">`), differs: 'frame-ancestors in a <meta> tag' },
  // x-content-type-options
  { name: 'XCTO missing', headers: without(HARDENED, 'x-content-type-options') },
  { name: 'XCTO invalid value', headers: [...without(HARDENED, 'x-content-type-options'), ['x-content-type-options', 'sniff']] },
  // referrer-policy
  { name: 'Referrer-Policy no-referrer', headers: [...BASE, ['referrer-policy', 'no-referrer']] },
  { name: 'Referrer-Policy unsafe-url', headers: [...HARDENED.filter(([n]) => n !== 'referrer-policy'), ['referrer-policy', 'unsafe-url']] },
  { name: 'Referrer-Policy invalid token', headers: [...HARDENED.filter(([n]) => n !== 'referrer-policy'), ['referrer-policy', 'no-referer']] },
  { name: 'Referrer-Policy fallback list', headers: [...HARDENED.filter(([n]) => n !== 'referrer-policy'), ['referrer-policy', 'no-referrer, strict-origin-when-cross-origin']] },
  { name: 'Referrer-Policy leaking fallback last', headers: [...HARDENED.filter(([n]) => n !== 'referrer-policy'), ['referrer-policy', 'strict-origin, unsafe-url']] },
  { name: 'Referrer-Policy in <meta name=referrer>', headers: BASE, body: page('<meta name="referrer" content="strict-origin-when-cross-origin">') },
  // cross-origin-resource-policy
  { name: 'CORP same-site', headers: [...HARDENED, ['cross-origin-resource-policy', 'same-site']] },
  { name: 'CORP cross-origin', headers: [...HARDENED, ['cross-origin-resource-policy', 'cross-origin']] },
  { name: 'CORP invalid', headers: [...HARDENED, ['cross-origin-resource-policy', 'same']] },
  // cors
  { name: 'CORS fixed origin with credentials', headers: [...HARDENED, ['access-control-allow-origin', 'https://app.example.net'], ['access-control-allow-credentials', 'true']] },
  { name: 'CORS reflects any origin, no credentials', headers: HARDENED, reflectOrigin: 'plain' },
  { name: 'CORS reflects any origin with credentials', headers: HARDENED, reflectOrigin: 'credentials', differs: 'CORS that reflects any origin with credentials' },
  // cookies
  { name: 'cookie without Secure', headers: [...HARDENED.filter(([n]) => n !== 'strict-transport-security'), ['set-cookie', 'theme=dark; Path=/; SameSite=Lax']] },
  { name: 'cookie without Secure under HSTS', headers: [...HARDENED, ['set-cookie', 'theme=dark; Path=/; SameSite=Lax']] },
  { name: 'session cookie without Secure', headers: [...BASE.filter(([n]) => n !== 'strict-transport-security'), ['set-cookie', 'sessionid=x; Path=/; HttpOnly']] },
  { name: 'session cookie without HttpOnly', headers: [...HARDENED, ['set-cookie', 'sessionid=x; Path=/; Secure; SameSite=Lax']] },
  { name: 'session cookie, no SameSite', headers: [...HARDENED, ['set-cookie', 'sessionid=x; Path=/; Secure; HttpOnly']] },
  { name: 'cookie with invalid SameSite', headers: [...HARDENED, ['set-cookie', 'theme=x; Path=/; Secure; SameSite=Loose']] },
  { name: 'anti-CSRF cookie without SameSite', headers: [...HARDENED, ['set-cookie', 'csrftoken=x; Path=/; Secure']] },
  { name: 'SameSite=None without Secure', headers: [...HARDENED, ['set-cookie', 'track=x; Path=/; SameSite=None']] },
  { name: 'several cookies, one bad', headers: [...HARDENED, ['set-cookie', ['a=1; Path=/; Secure; SameSite=Lax', 'b=2; Path=/; Secure; HttpOnly; SameSite=Strict', 'login_token=3; Path=/; Secure; SameSite=Lax']]] },
  // subresource-integrity
  { name: 'external script with integrity', headers: HARDENED, body: page(`<script src="${EXT}/lib.js" integrity="sha384-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" crossorigin="anonymous"></script>`) },
  { name: 'external script without integrity', headers: HARDENED, body: page(`<script src="${EXT}/lib.js"></script>`) },
  { name: 'external script over http', headers: HARDENED, body: page('<script src="http://cdn.example.net/lib.js"></script>') },
  { name: 'same-site subdomain script', headers: HARDENED, body: page('<script src="https://static.keyward.test/app.js"></script>') },
  { name: 'own scripts, one with integrity', headers: HARDENED, body: page('<script src="/a.js" integrity="sha384-AAAA"></script><script>var x = 1;</script>') },
  { name: 'JSON response', headers: HARDENED, contentType: 'application/json', body: '{"ok":true}' },
  // redirection
  { name: 'redirect with 302', headers: HARDENED, http: 'redirect-302' },
  { name: 'http → http → https', headers: HARDENED, http: 'http-first' },
  { name: 'http → https on another host', headers: HARDENED, http: 'off-host' },
  { name: 'HTTP serves the page too', headers: HARDENED, http: 'serve' },
  { name: 'nothing on port 80', headers: HARDENED, http: 'down' },
  { name: 'plain-HTTP-only site sending HSTS', https: false, http: 'serve', headers: [['strict-transport-security', HSTS], ['x-content-type-options', 'nosniff']] },
  // keyward-only tests: reported, scored 0, so both letters stay the same
  { name: 'information-leak headers on a hardened site', headers: [...HARDENED, ['server', 'Apache/2.4.1'], ['x-powered-by', 'Express'], ['x-generator', 'Drupal 10']] },
  { name: 'permissions policy open, COOP/COEP set', headers: [...HARDENED, ['permissions-policy', 'camera=*'], ['cross-origin-opener-policy', 'same-origin'], ['cross-origin-embedder-policy', 'require-corp']] },
  { name: 'HPKP and X-XSS-Protection 1', headers: [...BASE, ['public-key-pins', 'pin-sha256="AAAA"; max-age=10'], ['x-xss-protection', '1']] },
];

/** Each shows one of the "further differences" of docs/scoring.md. */
const DEMONSTRATION_LIST: SiteConfig[] = [
  { name: 'two CSP headers, the second strict', headers: [...BASE, ['content-security-policy', ["script-src 'self' 'unsafe-inline' https:; object-src 'none'", "default-src 'self'"]]], differs: 'several policies' },
  { name: 'CSP with script-src given twice', headers: withCsp("default-src 'self'; script-src 'self'; script-src 'unsafe-inline'"), differs: 'a repeated directive' },
  { name: "'strict-dynamic' without a nonce", headers: withCsp("default-src 'self'; script-src 'strict-dynamic' 'self'"), differs: "'strict-dynamic' without a nonce or hash" },
  { name: 'CSP <meta> outside <head>', headers: BASE, body: `<!doctype html><html><head><title>t</title></head><body><p>x</p><meta http-equiv="Content-Security-Policy" content="default-src 'self'"></body></html>`, differs: 'a <meta> CSP outside <head>' },
  { name: "script-src-elem 'unsafe-inline' beside a strict script-src", headers: withCsp("default-src 'self'; script-src 'self'; script-src-elem 'self' 'unsafe-inline'"), differs: 'script-src-elem and script-src-attr' },
  { name: 'protocol-relative external script', headers: HARDENED, body: page('<script src="//cdn.example.net/lib.js"></script>'), differs: 'protocol-relative scripts' },
  { name: 'mixed SRI: integrity over http, none over https', headers: HARDENED, body: page(`<script src="http://cdn.example.net/a.js" integrity="sha384-AAAA"></script><script src="${EXT}/b.js"></script>`), differs: 'mixed SRI results' },
  { name: 'X-Frame-Options DENY sent twice', headers: [...without(BASE, 'x-frame-options'), ['x-frame-options', ['DENY', 'DENY']]], differs: 'repeated X-Frame-Options / X-Content-Type-Options' },
  { name: 'X-Content-Type-Options sent twice', headers: [...without(HARDENED, 'x-content-type-options'), ['x-content-type-options', ['nosniff', 'nosniff']]], differs: 'repeated X-Frame-Options / X-Content-Type-Options' },
  { name: '__Host- cookie with a Domain, without Secure', headers: [...BASE, ['set-cookie', '__Host-sid=x; Path=/; HttpOnly; SameSite=Lax; Domain=keyward.test']], differs: 'cookies browsers reject' },
  { name: 'auth_token cookie without HttpOnly', headers: [...HARDENED, ['set-cookie', 'auth_token=x; Path=/; Secure; SameSite=Lax']], differs: 'which cookies are session cookies' },
];
export const DEMONSTRATIONS: SiteConfig[] = DEMONSTRATION_LIST.map((c) => ({ ...c, demonstrates: true }));

/** Every configuration served, in host order (c01…). */
export const ALL_CONFIGS: SiteConfig[] = [...CONFIGS, ...DEMONSTRATIONS];

export const SUFFIX = '.keyward.test';
export const hostOf = (i: number): string => `c${String(i + 1).padStart(2, '0')}${SUFFIX}`;

/** c07.keyward.test and c07-www.keyward.test (the off-host redirect target) → config 6. */
export function configFor(host: string | undefined): { index: number; config: SiteConfig } | undefined {
  const m = /^c(\d+)(?:-www)?\.keyward\.test$/.exec((host ?? '').replace(/:\d+$/, '').toLowerCase());
  if (!m) return undefined;
  const index = Number(m[1]) - 1;
  const config = ALL_CONFIGS[index];
  return config ? { index, config } : undefined;
}

export function servePage(config: SiteConfig, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', config.contentType ?? 'text/html; charset=utf-8');
  for (const [name, value] of config.headers ?? []) res.setHeader(name, value);
  const origin = req.headers.origin;
  if (origin && config.reflectOrigin) {
    res.setHeader('access-control-allow-origin', origin);
    if (config.reflectOrigin === 'credentials') res.setHeader('access-control-allow-credentials', 'true');
  }
  res.end(req.method === 'HEAD' ? undefined : (config.body ?? page()));
}

export function handleHttp(req: IncomingMessage, res: ServerResponse): void {
  const found = configFor(req.headers.host);
  if (!found) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const { config, index } = found;
  const host = hostOf(index);
  const mode = config.http ?? 'redirect';
  const redirect = (status: number, to: string): void => {
    res.statusCode = status;
    res.setHeader('location', to);
    res.end();
  };
  if (mode === 'down') {
    req.socket.destroy();
  } else if (mode === 'serve') {
    servePage(config, req, res);
  } else if (mode === 'redirect-302') {
    redirect(302, `https://${host}/`);
  } else if (mode === 'http-first') {
    if (req.url === '/step') redirect(301, `https://${host}/`);
    else redirect(301, `http://${host}/step`);
  } else if (mode === 'off-host') {
    redirect(301, `https://${host.replace('.keyward.test', '-www.keyward.test')}/`);
  } else {
    redirect(301, `https://${host}/`);
  }
}

export function handleHttps(req: IncomingMessage, res: ServerResponse): void {
  const found = configFor(req.headers.host);
  if (!found) {
    res.statusCode = 404;
    res.end();
    return;
  }
  servePage(found.config, req, res);
}

export function refusesTls(servername: string): boolean {
  return configFor(servername)?.config.https === false;
}
