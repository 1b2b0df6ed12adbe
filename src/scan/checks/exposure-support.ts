/** What the exposure checks share: the docs links and the finding for an exposed secret. */
import { gatewayTokenAdvice, isGatewayToken } from '../../detect/gateway-token.js';
import type { Finding } from '../../finding.js';
import type { ExposedSecret } from '../exposure/facts.js';

export const EXPOSURE_DOCS = 'https://github.com/keyward/keyward/blob/main/docs/exposure.md';

/** Where a secret was seen, as one line: `https://site/app.js:12:7` or `map.js.map → src/api.ts:3:14`. */
export function whereSeen(s: Pick<ExposedSecret, 'url' | 'source' | 'line' | 'column'>): string {
  return s.source !== undefined ? `${s.url} → ${s.source}:${s.line}:${s.column}` : `${s.url}:${s.line}:${s.column}`;
}

/** Findings are per key (fingerprint): one key in ten chunks is one key to revoke, seen ten times. */
export function groupByFingerprint(secrets: readonly ExposedSecret[]): ExposedSecret[][] {
  const groups = new Map<string, ExposedSecret[]>();
  for (const s of secrets) {
    const g = groups.get(s.fingerprint);
    if (g) g.push(s);
    else groups.set(s.fingerprint, [s]);
  }
  return [...groups.values()];
}

/** Only real credentials make a finding carry `secret` (and so make the whole scan F). */
const SERIOUS = new Set(['critical', 'high']);

const FIREBASE_FIX = [
  'A Firebase web config key is public by design, but an unrestricted one can be used by anyone for any API enabled in your Google Cloud project, including the Gemini API (billed to you).',
  'In Google Cloud console → APIs & Services → Credentials, restrict it: application restriction "HTTP referrers" (your domains) and API restriction to the Firebase APIs you use only — never the Generative Language (Gemini) API.',
  'Call Gemini from your backend (`keyward gateway`) with a separate server-only key.',
].join('\n');

export function secretFinding(id: string, group: readonly ExposedSecret[], place: string, anchor: string): Finding {
  const first = group[0]!;
  if (first.firebaseConfig && group.every((s) => s.firebaseConfig)) return firebaseFinding(group, anchor);
  if (group.every(isGatewayToken)) return gatewayTokenFinding(group, place, anchor);
  const serious = SERIOUS.has(first.severity);
  const seen = group.slice(0, 5).map(whereSeen);
  if (group.length > 5) seen.push(`… and ${group.length - 5} more places`);
  const revoke = first.revokeUrl ? `Revoke it now at ${first.revokeUrl}` : `Revoke it now in the ${first.provider} console`;
  const finding: Finding = {
    id,
    severity: serious ? 'critical' : first.severity,
    title: `${first.title} exposed in ${place}: ${first.redacted} (${first.provider})`,
    evidence: [`key ${first.redacted} (fingerprint ${first.fingerprint})`, `line: ${first.context}`, ...seen.map((s) => `at ${s}`)].join('\n'),
    recommendation: [
      `${revoke}: anyone who loads the site can read it and spend on your account.`,
      'Move the call behind a backend proxy so the browser never holds a provider key: run `keyward gateway` (per-user auth, rate limits and budgets) and call it from the client instead of the provider.',
      'Rotate: create a new key that only the server holds (an environment variable without a NEXT_PUBLIC_/VITE_/REACT_APP_/EXPO_PUBLIC_ prefix), rebuild and redeploy, and check the provider\'s usage page for abuse.',
    ].join('\n'),
    docs: `${EXPOSURE_DOCS}#${anchor}`,
    section: 'exposure',
    location: { url: first.url, line: first.line, column: first.column, ...(first.source !== undefined ? { file: first.source } : {}) },
  };
  if (serious) {
    finding.secret = { rule: first.ruleId, provider: first.provider, redacted: first.redacted, fingerprint: first.fingerprint, ...(first.revokeUrl ? { revokeUrl: first.revokeUrl } : {}) };
  }
  return finding;
}

/**
 * A keyward gateway token in client code: how an app calls its gateway, safe when the token may call
 * only the app route; a problem of scope, which the site cannot show, not a provider key leaked.
 */
function gatewayTokenFinding(group: readonly ExposedSecret[], place: string, anchor: string): Finding {
  const first = group[0]!;
  return {
    id: 'gateway-token-in-client-code',
    severity: 'medium',
    title: `keyward gateway token in ${place}: ${first.redacted} — make sure it may call only the app route`,
    evidence: [`token ${first.redacted} (fingerprint ${first.fingerprint})`, `line: ${first.context}`, ...group.slice(0, 5).map((s) => `at ${whereSeen(s)}`)].join('\n'),
    recommendation: gatewayTokenAdvice(first.revokeHow),
    docs: `${EXPOSURE_DOCS}#${anchor}`,
    section: 'exposure',
    location: { url: first.url, line: first.line, column: first.column, ...(first.source !== undefined ? { file: first.source } : {}) },
  };
}

/** A Google API key in a Firebase web config: a restriction problem, not a leaked secret. */
function firebaseFinding(group: readonly ExposedSecret[], anchor: string): Finding {
  const first = group[0]!;
  return {
    id: 'firebase-web-key-in-client-code',
    severity: 'medium',
    title: `Google API key in a Firebase web config: ${first.redacted} — make sure it is restricted and cannot call Gemini`,
    evidence: [`key ${first.redacted} (fingerprint ${first.fingerprint})`, `line: ${first.context}`, ...group.slice(0, 5).map((s) => `at ${whereSeen(s)}`)].join('\n'),
    recommendation: FIREBASE_FIX,
    docs: `${EXPOSURE_DOCS}#${anchor}`,
    section: 'exposure',
    location: { url: first.url, line: first.line, column: first.column, ...(first.source !== undefined ? { file: first.source } : {}) },
  };
}
