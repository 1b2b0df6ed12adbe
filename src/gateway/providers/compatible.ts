/**
 * Providers that speak OpenAI's API (Groq, Mistral, DeepSeek, xAI, OpenRouter, Together, a vLLM or
 * Ollama server, …), named in the gateway config with a base URL and the models they serve. Their
 * keys come from the environment like the built-in providers' (`groq` reads GROQ_API_KEY, and
 * GROQ_BASE_URL overrides the config's base URL), and calls for their models through the OpenAI
 * routes go to them.
 */
import { openai } from './openai.js';
import { PROVIDER_NAMES } from './registry.js';
import type { Provider } from './types.js';

export interface CompatibleProviderConfig {
  /** OpenAI SDK meaning: the URL the API's paths (`/chat/completions`) are appended to. */
  baseUrl: string;
  /** Model ids it serves: exact, or a prefix ending in `*` (`qwen/*`, `llama-3*`). */
  models: string[];
  /** The header that carries its key: `Authorization: Bearer` (default), `api-key` (Azure OpenAI) or `x-api-key`. */
  auth?: CompatibleAuth;
}

export type CompatibleAuth = 'bearer' | 'api-key' | 'x-api-key';
export const COMPATIBLE_AUTH: readonly CompatibleAuth[] = ['bearer', 'api-key', 'x-api-key'];

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Why a name cannot name a provider, or undefined. */
export function providerNameError(name: string): string | undefined {
  if (!NAME.test(name)) return `'${name.slice(0, 40)}' is not lower-case letters, digits and dashes (at most 32, a letter first)`;
  if ((PROVIDER_NAMES as readonly string[]).includes(name)) return `'${name}' is built in; give the provider another name`;
  return undefined;
}

/** The environment variables' prefix for a provider name: `local-vllm` reads LOCAL_VLLM_API_KEY. */
export function envPrefixOf(name: string): string {
  return name.toUpperCase().replaceAll('-', '_');
}

export function compatibleProvider(name: string, config: CompatibleProviderConfig): Provider<string> {
  const auth = config.auth ?? 'bearer';
  return {
    ...openai,
    name,
    envPrefix: envPrefixOf(name),
    defaultBaseUrl: config.baseUrl,
    sdkBaseUrlEnv: undefined,
    authHeaders: auth === 'bearer' ? openai.authHeaders : (key) => ({ [auth]: key }),
  };
}

/** Whether a model is one of a provider's: exact ids in a set, prefixes (`qwen/*`) tried in turn. */
export class ModelList {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];
  /** The ids named exactly (a model list can show these; a prefix names no model). */
  readonly ids: string[] = [];

  constructor(patterns: string[]) {
    for (const p of patterns) {
      if (p.endsWith('*')) this.prefixes.push(p.slice(0, -1));
      else {
        this.exact.add(p);
        this.ids.push(p);
      }
    }
  }

  has(model: string): boolean {
    if (this.exact.has(model)) return true;
    for (const p of this.prefixes) if (model.startsWith(p)) return true;
    return false;
  }
}
