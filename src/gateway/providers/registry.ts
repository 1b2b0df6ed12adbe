/** Every upstream API the gateway speaks, by name. */
import { anthropic, ANTHROPIC_VERSION, anthropicModelsPath } from './anthropic.js';
import { gemini, geminiModelsPath } from './gemini.js';
import { openai } from './openai.js';
import type { Provider, ProviderName } from './types.js';

export const PROVIDERS: Readonly<Record<ProviderName, Provider>> = { openai, anthropic, gemini };

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as readonly ProviderName[];

/**
 * How to ask a provider for its model list, under its base URL: the path, with the paging parameters
 * of `url` (a client's request, or one of our own), and the headers besides the key.
 */
export function modelListRequest(provider: Provider<string>, url: string): { path: string; headers: Record<string, string> } {
  if (provider === anthropic) return { path: anthropicModelsPath(url), headers: { 'anthropic-version': ANTHROPIC_VERSION } };
  if (provider === gemini) return { path: geminiModelsPath(url), headers: {} };
  return { path: '/models', headers: {} };
}
