/**
 * The security headers keyward recommends, in one table (STYLE.md, after Hono's secure-headers):
 * the site scanner quotes these values in its fixes, and the gateway sends them on every response.
 */

export interface RecommendedHeader {
  /** Header name as it should be sent. */
  name: string;
  /** The value to send for an API or a typical web app. */
  value: string;
  /** Why, in one line, for reports. */
  why: string;
}

export const RECOMMENDED_HEADERS = {
  contentSecurityPolicy: {
    name: 'Content-Security-Policy',
    value: "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    why: 'limits where scripts may come from, so injected markup cannot run code',
  },
  /** For JSON APIs (the gateway): nothing is ever rendered. */
  contentSecurityPolicyApi: {
    name: 'Content-Security-Policy',
    value: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    why: 'an API response is never a document; forbid everything',
  },
  strictTransportSecurity: {
    name: 'Strict-Transport-Security',
    value: 'max-age=63072000; includeSubDomains; preload',
    why: 'browsers use HTTPS only, for two years, on every subdomain',
  },
  xContentTypeOptions: {
    name: 'X-Content-Type-Options',
    value: 'nosniff',
    why: 'stops browsers from guessing a script out of a non-script response',
  },
  xFrameOptions: {
    name: 'X-Frame-Options',
    value: 'DENY',
    why: 'no other site can frame the page (clickjacking); CSP frame-ancestors supersedes it',
  },
  referrerPolicy: {
    name: 'Referrer-Policy',
    value: 'strict-origin-when-cross-origin',
    why: 'other sites learn the origin at most, never paths or query strings',
  },
  permissionsPolicy: {
    name: 'Permissions-Policy',
    value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()',
    why: 'powerful browser features are off unless a page needs them',
  },
  crossOriginOpenerPolicy: {
    name: 'Cross-Origin-Opener-Policy',
    value: 'same-origin',
    why: 'isolates the browsing context from cross-origin windows',
  },
  crossOriginResourcePolicy: {
    name: 'Cross-Origin-Resource-Policy',
    value: 'same-origin',
    why: 'other origins cannot embed the response',
  },
  crossOriginEmbedderPolicy: {
    name: 'Cross-Origin-Embedder-Policy',
    value: 'require-corp',
    why: 'only resources that opt in can be loaded (cross-origin isolation)',
  },
  xXssProtection: {
    name: 'X-XSS-Protection',
    value: '0',
    why: 'the old XSS auditor caused leaks of its own; turn it off explicitly',
  },
} as const satisfies Record<string, RecommendedHeader>;

/** The headers the gateway sends on every response (an API: nothing is rendered or framed). */
export function apiSecurityHeaders(): Record<string, string> {
  const h = RECOMMENDED_HEADERS;
  return {
    [h.contentSecurityPolicyApi.name]: h.contentSecurityPolicyApi.value,
    [h.strictTransportSecurity.name]: h.strictTransportSecurity.value,
    [h.xContentTypeOptions.name]: h.xContentTypeOptions.value,
    [h.xFrameOptions.name]: h.xFrameOptions.value,
    'Referrer-Policy': 'no-referrer',
    [h.permissionsPolicy.name]: h.permissionsPolicy.value,
    [h.crossOriginOpenerPolicy.name]: h.crossOriginOpenerPolicy.value,
    [h.crossOriginResourcePolicy.name]: h.crossOriginResourcePolicy.value,
    [h.xXssProtection.name]: h.xXssProtection.value,
    'Cache-Control': 'no-store',
  };
}
