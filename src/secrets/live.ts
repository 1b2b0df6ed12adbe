/**
 * `keyward secrets --verify`: asks each key's issuer whether it still accepts the key, with the
 * cheapest authenticated read the API has (its model list, or who the key belongs to), which no
 * provider bills. A key the provider accepts is a live leak to revoke first; one it rejects was
 * revoked already, or was never real. Only kinds whose issuer has such a read are asked; the key
 * goes to that issuer's own API alone (or to a URL the user gave for its family), never elsewhere.
 */
import type { Dispatcher } from 'undici';
import type { LiveCheck } from './types.js';

/** How one family of keys is asked: its API's base URL, the path of the read, how the key is sent. */
interface Asker {
  base: string;
  path: string;
  headers(secret: string): Record<string, string>;
  /** Google answers a key it does not know with 400 API_KEY_INVALID, and a restricted one with 403. */
  google?: boolean;
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const anthropicHeaders = (secret: string) => ({ 'x-api-key': secret, 'anthropic-version': '2023-06-01' });

/** The families keyward can ask, by the name `--verify-url` takes. */
export const LIVE_FAMILIES = {
  openai: { base: 'https://api.openai.com/v1', path: '/models', headers: bearer },
  'openai-admin': { base: 'https://api.openai.com/v1', path: '/organization/projects?limit=1', headers: bearer },
  anthropic: { base: 'https://api.anthropic.com', path: '/v1/models?limit=1', headers: anthropicHeaders },
  'anthropic-admin': { base: 'https://api.anthropic.com', path: '/v1/organizations/users?limit=1', headers: anthropicHeaders },
  google: { base: 'https://generativelanguage.googleapis.com', path: '/v1beta/models?pageSize=1', headers: (secret: string) => ({ 'x-goog-api-key': secret }), google: true },
  groq: { base: 'https://api.groq.com/openai/v1', path: '/models', headers: bearer },
  mistral: { base: 'https://api.mistral.ai/v1', path: '/models', headers: bearer },
  xai: { base: 'https://api.x.ai/v1', path: '/models', headers: bearer },
  deepseek: { base: 'https://api.deepseek.com', path: '/models', headers: bearer },
  together: { base: 'https://api.together.xyz/v1', path: '/models', headers: bearer },
  huggingface: { base: 'https://huggingface.co', path: '/api/whoami-v2', headers: bearer },
  openrouter: { base: 'https://openrouter.ai/api/v1', path: '/key', headers: bearer },
  cohere: { base: 'https://api.cohere.com', path: '/v1/models?page_size=1', headers: bearer },
  fireworks: { base: 'https://api.fireworks.ai/inference/v1', path: '/models', headers: bearer },
  deepinfra: { base: 'https://api.deepinfra.com/v1/openai', path: '/models', headers: bearer },
  replicate: { base: 'https://api.replicate.com/v1', path: '/account', headers: bearer },
  elevenlabs: { base: 'https://api.elevenlabs.io/v1', path: '/user', headers: (secret: string) => ({ 'xi-api-key': secret }) },
  github: { base: 'https://api.github.com', path: '/user', headers: (secret: string) => ({ authorization: `Bearer ${secret}`, 'x-github-api-version': '2022-11-28' }) },
  stripe: { base: 'https://api.stripe.com/v1', path: '/balance', headers: bearer },
} satisfies Record<string, Asker>;

export type LiveFamily = keyof typeof LIVE_FAMILIES;

/** Which family each rule's keys belong to; a rule not named here is not asked. */
export const FAMILY_OF_RULE: Readonly<Record<string, LiveFamily>> = {
  'openai-project-key': 'openai',
  'openai-service-account-key': 'openai',
  'openai-user-key': 'openai',
  'openai-user-key-unmarked': 'openai',
  'openai-admin-key': 'openai-admin',
  'anthropic-api-key': 'anthropic',
  'anthropic-admin-key': 'anthropic-admin',
  'google-api-key': 'google',
  'google-gemini-auth-key': 'google',
  'groq-api-key': 'groq',
  'mistral-api-key': 'mistral',
  'xai-api-key': 'xai',
  'deepseek-api-key': 'deepseek',
  'together-api-key': 'together',
  'together-api-key-legacy': 'together',
  'huggingface-token': 'huggingface',
  'huggingface-org-token': 'huggingface',
  'openrouter-api-key': 'openrouter',
  'cohere-api-key': 'cohere',
  'fireworks-api-key': 'fireworks',
  'deepinfra-api-key': 'deepinfra',
  'replicate-api-token': 'replicate',
  'elevenlabs-api-key': 'elevenlabs',
  'elevenlabs-api-key-legacy': 'elevenlabs',
  'github-token': 'github',
  'github-fine-grained-token': 'github',
  'stripe-secret-key': 'stripe',
  'stripe-test-key': 'stripe',
};

export function liveFamilyOf(ruleId: string): LiveFamily | undefined {
  return FAMILY_OF_RULE[ruleId];
}

export function isLiveFamily(name: string): name is LiveFamily {
  return Object.hasOwn(LIVE_FAMILIES, name);
}

export interface LiveOptions {
  /** Base URLs in place of a family's own API (a self-hosted gateway, a test server). */
  urls?: Partial<Record<LiveFamily, string>>;
  /** How long one provider may take to answer (default 10 s). */
  timeoutMs?: number;
  /** Keys asked about at once (default 4). */
  concurrency?: number;
  dispatcher?: Dispatcher;
}

export interface LiveCandidate {
  ruleId: string;
  secret: string;
  fingerprint: string;
}

/** Google's answer to a key it does not know (400 INVALID_ARGUMENT, reason API_KEY_INVALID), or one expired. */
export const GOOGLE_KEY_INVALID = /API_KEY_INVALID|API key not valid|API_KEY_EXPIRED/;

/** What a provider's answer says of the key it was asked with. */
export function judgeAnswer(status: number, body: string, google = false): LiveCheck {
  if (status >= 200 && status < 300) return { verdict: 'live', detail: `the provider accepts this key (answered ${status})` };
  if (status === 429) return { verdict: 'live', detail: 'the provider accepts this key (answered 429: rate limited or out of quota)' };
  if (google) {
    if (GOOGLE_KEY_INVALID.test(body)) return { verdict: 'rejected', detail: `the provider does not accept this key (answered ${status}: revoked, expired or not a real key)` };
    // A key Google knows, held back from this API (restricted, or the API not enabled in its project).
    if (status === 403) return { verdict: 'live', detail: 'a valid Google key that may not call the Gemini API (answered 403): it may still call other Google APIs' };
  }
  if (status === 401 || status === 403) return { verdict: 'rejected', detail: `the provider does not accept this key (answered ${status}: revoked, or not a real key)` };
  return { verdict: 'unknown', detail: `the provider answered ${status}` };
}

async function askOne(family: LiveFamily, secret: string, o: LiveOptions): Promise<LiveCheck> {
  const asker: Asker = LIVE_FAMILIES[family];
  const base = (o.urls?.[family] ?? asker.base).replace(/\/+$/, '');
  const url = base + asker.path;
  const timeoutMs = o.timeoutMs ?? 10_000;
  try {
    // Loaded on the first question only: a scan that does not verify never reads undici.
    const { request } = await import('undici');
    const r = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'keyward-secrets-verify', ...asker.headers(secret) },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    // Only the start of the body says why a key was refused; the rest is not read.
    const body = await readStart(r.body, 4096);
    return judgeAnswer(r.statusCode, body, asker.google === true);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    const host = new URL(url).host;
    return { verdict: 'unknown', detail: code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? `${host} did not answer within ${Math.round(timeoutMs / 1000)} s` : `cannot reach ${host} (${code})` };
  }
}

async function readStart(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= max) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

/**
 * Asks about each key once (by fingerprint), a few at a time. Keys of kinds no provider can be asked
 * about are answered `unknown` without a request.
 */
export async function checkLive(candidates: readonly LiveCandidate[], o: LiveOptions = {}): Promise<Map<string, LiveCheck>> {
  const out = new Map<string, LiveCheck>();
  const queue: Array<{ family: LiveFamily; c: LiveCandidate }> = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c.fingerprint)) continue;
    seen.add(c.fingerprint);
    const family = liveFamilyOf(c.ruleId);
    if (family === undefined) out.set(c.fingerprint, { verdict: 'unknown', detail: 'keyward cannot ask this kind of key\'s issuer' });
    else queue.push({ family, c });
  }
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const { family, c } = queue[next++]!;
      out.set(c.fingerprint, await askOne(family, c.secret, o));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, queue.length)) }, worker));
  return out;
}
