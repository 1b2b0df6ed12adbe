/**
 * What an environment variable's name says about it: behind a public prefix (inlined into the
 * client bundle by the framework) and/or named like an AI provider's key.
 */

/** Prefixes that bundlers inline into client code, with the framework that does it. */
export const PUBLIC_ENV_PREFIXES: readonly { prefix: string; framework: string }[] = [
  // Longest first, so that NUXT_PUBLIC_ wins over PUBLIC_.
  { prefix: 'NEXT_PUBLIC_', framework: 'Next.js' },
  { prefix: 'NUXT_PUBLIC_', framework: 'Nuxt' },
  { prefix: 'EXPO_PUBLIC_', framework: 'Expo' },
  { prefix: 'REACT_APP_', framework: 'Create React App' },
  { prefix: 'VUE_APP_', framework: 'Vue CLI' },
  { prefix: 'GATSBY_', framework: 'Gatsby' },
  { prefix: 'VITE_', framework: 'Vite' },
  { prefix: 'PUBLIC_', framework: 'SvelteKit/Astro' },
];

export function publicPrefixOf(name: string): { prefix: string; framework: string } | undefined {
  const upper = name.toUpperCase();
  return PUBLIC_ENV_PREFIXES.find((p) => upper.startsWith(p.prefix) && upper.length > p.prefix.length);
}

/** Name parts that point at an AI provider. */
const AI_WORDS = new Set([
  'OPENAI', 'ANTHROPIC', 'CLAUDE', 'GEMINI', 'GENAI', 'GOOGLEAI', 'VERTEX', 'MISTRAL', 'COHERE', 'GROQ',
  'TOGETHER', 'TOGETHERAI', 'FIREWORKS', 'PERPLEXITY', 'PPLX', 'DEEPSEEK', 'XAI', 'GROK', 'HUGGINGFACE',
  'HF', 'REPLICATE', 'OPENROUTER', 'BEDROCK', 'AI21', 'VOYAGE', 'ELEVENLABS', 'STABILITY', 'DEEPGRAM',
  'ASSEMBLYAI', 'CEREBRAS', 'LLM', 'AI', 'GPT', 'CHATGPT', 'LANGSMITH', 'LANGCHAIN', 'PINECONE', 'AZURE',
]);
/** Name parts that say the value is a credential. */
const KEY_WORDS = new Set(['KEY', 'APIKEY', 'TOKEN', 'SECRET', 'PASSWORD', 'CREDENTIAL', 'CREDENTIALS']);
/** Name parts that say the value is meant to be public (e.g. Supabase's anon key, Stripe's publishable key). */
const PUBLIC_WORDS = new Set(['PUBLISHABLE', 'ANON', 'PUBLIC', 'SITE', 'CLIENT', 'ID', 'URL', 'HOST', 'MODEL', 'ENDPOINT', 'VERSION', 'REGION']);

/** Splits `VITE_openAiKey` into `['VITE', 'OPEN', 'AI', 'KEY']`-like upper-case words (both `_` and camelCase). */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
}

/**
 * True when the name reads like an AI provider credential, e.g. `OPENAI_API_KEY`,
 * `VITE_ANTHROPIC_KEY`, `NEXT_PUBLIC_AI_TOKEN`. The public prefix itself is ignored.
 */
export function looksLikeAiKeyName(name: string): boolean {
  const prefix = publicPrefixOf(name);
  const bare = prefix ? name.slice(prefix.prefix.length) : name;
  const words = nameWords(bare);
  const joined = words.join('');
  const hasAi = words.some((w) => AI_WORDS.has(w)) || /OPENAI|ANTHROPIC|HUGGINGFACE|OPENROUTER/.test(joined);
  // `OPENAI_API_KEY_2`, `ANTHROPIC_KEY_V2`: a trailing number or version does not change what it is.
  while (words.length > 1 && /^V?\d+$/.test(words.at(-1) ?? '')) words.pop();
  const hasKey = KEY_WORDS.has(words.at(-1) ?? '');
  if (!hasAi || !hasKey) return false;
  // `OPENAI_ORG_ID`-like names end in a non-credential word; `…_PUBLIC_KEY` of a provider is not a secret either.
  return !words.slice(0, -1).some((w) => w === 'PUBLISHABLE' || w === 'ANON');
}

/** True when the name reads like some credential (AI or not), for names behind a public prefix. */
export function looksLikeSecretName(name: string): boolean {
  const prefix = publicPrefixOf(name);
  const words = nameWords(prefix ? name.slice(prefix.prefix.length) : name);
  if (words.some((w) => w === 'PUBLISHABLE' || w === 'ANON')) return false;
  const last = words.at(-1) ?? '';
  if (PUBLIC_WORDS.has(last)) return false;
  return words.some((w) => w === 'SECRET' || w === 'PASSWORD' || w === 'PRIVATE') || looksLikeAiKeyName(name);
}
