/**
 * Permissions-Policy (a structured-field dictionary: `camera=(), geolocation=(self "https://x")`):
 * present, well-formed, and powerful features not granted to every origin.
 */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, CheckOutput } from '../types.js';
import { evidenceOf, finding, headerFix, headerValues, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/Headers/Permissions-Policy`;
const PP = RECOMMENDED_HEADERS.permissionsPolicy;
/** Features that reach the user's devices, location, money or identity. */
export const POWERFUL_FEATURES = new Set([
  'camera', 'microphone', 'geolocation', 'payment', 'usb', 'serial', 'hid', 'bluetooth', 'display-capture',
  'screen-wake-lock', 'publickey-credentials-get', 'identity-credentials-get', 'clipboard-read', 'midi', 'xr-spatial-tracking',
]);

const KEY = /^[a-z*][a-z0-9_\-.*]*$/;
const TOKEN = /^[a-z][a-z0-9-]*$/i;
const QUOTED = /^"[^"]*"$/;

/** An allowlist: `*`, a token like `self`, a quoted origin, or an inner list `( … )`, then SF parameters. */
function validAllowlist(raw: string): boolean {
  const value = raw.split(';')[0]!.trim();
  if (value === '*' || TOKEN.test(value) || QUOTED.test(value)) return true;
  if (!value.startsWith('(') || !value.endsWith(')')) return false;
  const inner = value.slice(1, -1).trim();
  return inner === '' || inner.split(/\s+/).every((item) => item === '*' || item === 'self' || item === 'src' || QUOTED.test(item));
}

/** Returns feature → allowlist, or the first malformed member. */
export function parsePermissionsPolicy(value: string): Map<string, string> | { invalid: string } {
  const out = new Map<string, string>();
  // Split on commas outside quotes and parentheses.
  const members: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    if (ch === ',' && depth === 0 && !quoted) {
      members.push(cur);
      cur = '';
    } else cur += ch;
  }
  members.push(cur);
  for (const raw of members) {
    const m = raw.trim();
    if (m === '') continue;
    const eq = m.indexOf('=');
    const key = (eq === -1 ? m : m.slice(0, eq)).trim().toLowerCase();
    const allow = eq === -1 ? '?1' : m.slice(eq + 1).trim();
    if (!KEY.test(key) || (eq !== -1 && !validAllowlist(allow))) return { invalid: m };
    out.set(key, allow);
  }
  return out;
}

function allowsEveryone(allow: string): boolean {
  const value = allow.split(';')[0]!.trim();
  return value === '*' || (value.startsWith('(') && value.slice(1, -1).trim().split(/\s+/).includes('*'));
}

export const permissionsPolicyCheck: Check = {
  name: 'permissions-policy',
  section: 'headers',
  run(facts): CheckOutput {
    const values = headerValues(facts.final.headers, 'permissions-policy');
    const findings: Finding[] = [];
    const evidence = evidenceOf(facts.final, 'permissions-policy', 'feature-policy');
    const add = (id: ResultId, severity: Finding['severity'], title: string, lead?: string): void => {
      findings.push(finding(id, severity, title, headerFix(PP.name, PP.value, lead), { docs: DOCS, url: facts.final.url, ...(evidence ? { evidence } : {}) }));
    };
    let result: ResultId;
    if (values.length === 0) {
      result = 'permissions-policy-not-implemented';
      const legacy = headerValues(facts.final.headers, 'feature-policy').length > 0;
      add(result, 'low', legacy
        ? 'Only the old Feature-Policy header is sent; current browsers read Permissions-Policy'
        : 'No Permissions-Policy: camera, microphone, location and payment APIs are open to the page and to any frame it embeds',
        'Turn off what the page does not use:');
      return { findings, tests: { 'permissions-policy': testResult(result, false) } };
    }
    const parsed = parsePermissionsPolicy(values.join(', '));
    if ('invalid' in parsed) {
      result = 'permissions-policy-header-invalid';
      add(result, 'low', `Permissions-Policy is malformed at "${parsed.invalid}", so browsers ignore the whole header`,
        'Use the structured syntax feature=(allowlist), e.g.:');
      return { findings, tests: { 'permissions-policy': testResult(result, false) } };
    }
    const open = [...parsed].filter(([f, allow]) => POWERFUL_FEATURES.has(f) && allowsEveryone(allow)).map(([f]) => f);
    if (open.length > 0) {
      result = 'permissions-policy-not-restrictive';
      add(result, 'low', `Permissions-Policy grants ${open.join(', ')} to every origin, including embedded frames`,
        'Grant powerful features to self (or nobody) only:');
    } else {
      result = 'permissions-policy-restrictive';
    }
    return { findings, tests: { 'permissions-policy': testResult(result, result === 'permissions-policy-restrictive', { features: Object.fromEntries(parsed) }) } };
  },
};
