/**
 * Provider keys come only from the environment or a `.env` file, never from a client. The `.env`
 * must be mode 600: a key file others can read is a leak waiting to happen, so the gateway refuses it.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { KeywardError } from '../errors.js';
import { PROVIDER_NAMES, PROVIDERS } from './providers/registry.js';
import type { Provider, ProviderName } from './providers/types.js';

/** Reads a `.env` file after checking it is readable by its owner only. Missing file: empty. */
export function readEnvFile(path: string, options: { required?: boolean } = {}): Record<string, string> {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !options.required) return {};
    throw new KeywardError('KW_FILE', `cannot read the env file '${path}': ${(err as Error).message}`, { hint: 'check the --env-file path', cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new KeywardError('KW_UNSAFE_ENV_FILE', `'${path}' is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); it holds provider keys`, {
      hint: `chmod 600 '${path}'`,
    });
  }
  try {
    return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new KeywardError('KW_FILE', `cannot parse the env file '${path}': ${(err as Error).message}`, { hint: 'use KEY=value lines', cause: err });
  }
}

export interface UpstreamConfig {
  baseUrl: string;
  keys: string[];
}

/**
 * The keys of a provider: `OPENAI_API_KEY`, and any `OPENAI_API_KEY_<suffix>` (a pool), each of
 * which may also hold several comma-separated keys. The base URL has the official SDKs' meaning
 * (`OPENAI_BASE_URL=http://127.0.0.1:9000/v1`).
 */
export function upstreamFromEnv(provider: Provider<string>, env: Record<string, string | undefined>): UpstreamConfig {
  const name = `${provider.envPrefix}_API_KEY`;
  const keys: string[] = [];
  const names = Object.keys(env)
    .filter((k) => k === name || k.startsWith(name + '_'))
    .sort();
  for (const k of names) {
    for (const v of (env[k] ?? '').split(',')) {
      const key = v.trim();
      if (key && !keys.includes(key)) keys.push(key);
    }
  }
  const base = env[`${provider.envPrefix}_BASE_URL`]?.trim() || (provider.sdkBaseUrlEnv ? env[provider.sdkBaseUrlEnv]?.trim() : undefined) || provider.defaultBaseUrl;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new KeywardError('KW_BAD_CONFIG', `${provider.envPrefix}_BASE_URL is not a URL`, { hint: 'use e.g. http://127.0.0.1:9000/v1' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KeywardError('KW_BAD_CONFIG', `${provider.envPrefix}_BASE_URL must be http(s)`, { hint: 'use e.g. https://api.openai.com/v1' });
  }
  return { baseUrl: base.replace(/\/+$/, ''), keys };
}

/** Every provider's keys and base URL. */
export function upstreamsFromEnv(env: Record<string, string | undefined>): Record<ProviderName, UpstreamConfig> {
  return Object.fromEntries(PROVIDER_NAMES.map((n) => [n, upstreamFromEnv(PROVIDERS[n], env)])) as Record<ProviderName, UpstreamConfig>;
}

/** How many keys the providers hold together. */
export function keyCount(upstreams: Partial<Record<string, UpstreamConfig>>): number {
  return Object.values(upstreams).reduce((n, u) => n + (u?.keys.length ?? 0), 0);
}
