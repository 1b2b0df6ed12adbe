/** Every upstream API the gateway speaks, by name. */
import { anthropic } from './anthropic.js';
import { gemini } from './gemini.js';
import { openai } from './openai.js';
import type { Provider, ProviderName } from './types.js';

export const PROVIDERS: Readonly<Record<ProviderName, Provider>> = { openai, anthropic, gemini };

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as readonly ProviderName[];
