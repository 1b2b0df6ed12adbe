/**
 * `keyward gateway --check-keys`: asks each provider, with each of its keys, for its model list (a
 * call no provider bills), and says which keys it accepts. After a rotation, before a deploy, or
 * when /readyz says no key is usable: which key was revoked, which base URL is wrong. Keys are named
 * by label (provider, last four characters, fingerprint), never shown.
 */
import { request, type Dispatcher } from 'undici';
import { GOOGLE_KEY_INVALID } from '../secrets/live.js';
import type { UpstreamConfig } from './env.js';
import { PoolKey } from './keys.js';
import { gemini } from './providers/gemini.js';
import { modelListRequest } from './providers/registry.js';
import type { Provider } from './providers/types.js';

export type KeyVerdict = 'ok' | 'rate_limited' | 'rejected' | 'failed';

export interface KeyCheck {
  provider: string;
  /** The key's label, as in the logs and metrics. */
  key: string;
  verdict: KeyVerdict;
  /** What the provider answered, or why it could not be asked. */
  detail: string;
}

async function checkOne(provider: Provider<string>, baseUrl: string, key: PoolKey, dispatcher: Dispatcher, timeoutMs: number): Promise<KeyCheck> {
  // The cheapest authenticated call of each API: its model list, one entry long where it can be.
  const { path, headers } = modelListRequest(provider, '?limit=1&pageSize=1');
  const url = baseUrl.replace(/\/+$/, '') + path;
  const out = (verdict: KeyVerdict, detail: string): KeyCheck => ({ provider: provider.name, key: key.label, verdict, detail });
  try {
    const r = await request(url, { method: 'GET', headers: { accept: 'application/json', ...headers, ...provider.authHeaders(key.secret) }, dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = (await r.body.text()).slice(0, 4000);
    const s = r.statusCode;
    if (s < 300) return out('ok', `answered ${s}`);
    if (s === 429) return out('rate_limited', 'answered 429: the key is accepted, and rate limited now');
    // Google answers an unknown key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID).
    if (s === 401 || s === 403 || (provider === gemini && s === 400 && GOOGLE_KEY_INVALID.test(text))) return out('rejected', `answered ${s}: the provider does not accept this key (revoked, mistyped or of another account)`);
    if (s === 404) return out('failed', `answered 404: check ${provider.envPrefix}_BASE_URL (${baseUrl})`);
    return out('failed', `answered ${s}`);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    return out('failed', code === 'UND_ERR_HEADERS_TIMEOUT' ? `no answer within ${Math.round(timeoutMs / 1000)}s` : `cannot reach ${new URL(url).host} (${code})`);
  }
}

/** Checks every key of every provider given, all at once; in the order given. */
export async function checkProviderKeys(upstreams: Array<{ provider: Provider<string>; config: UpstreamConfig }>, dispatcher: Dispatcher, timeoutMs = 10_000): Promise<KeyCheck[]> {
  const checks: Array<Promise<KeyCheck>> = [];
  for (const { provider, config } of upstreams) {
    for (const secret of config.keys) checks.push(checkOne(provider, config.baseUrl, new PoolKey(secret, provider.name), dispatcher, timeoutMs));
  }
  return Promise.all(checks);
}
