/**
 * Finds code that calls AI provider APIs straight from the browser, even when no key is
 * visible: a provider endpoint with an auth header built beside it, `dangerouslyAllowBrowser`
 * switched on, the `anthropic-dangerous-direct-browser-access` header, and keys inlined under
 * public env names (`NEXT_PUBLIC_*`, `VITE_*`, `REACT_APP_*`, `EXPO_PUBLIC_*`).
 *
 * Pure (text in, hits out) and neutral: the site scanner runs it on bundles, the project
 * audit on source code. Evidence is always an excerpt with any value masked.
 */

import { literalSpansAt } from './js-literals.js';
import { lineLocator } from './lines.js';

export type BrowserAiCallKind =
  /** A provider API host with an Authorization / x-api-key / key= credential built next to it. */
  | 'provider-call-with-credential'
  /** `dangerouslyAllowBrowser: true` (OpenAI and Anthropic SDKs). */
  | 'dangerously-allow-browser'
  /** The header Anthropic requires for calls made from a browser. */
  | 'anthropic-direct-browser-access'
  /** A credential-like value inlined under a public env name, e.g. `VITE_OPENAI_API_KEY:"…"`. */
  | 'public-env-key-value'
  /** Code that reads a credential from a public env name, e.g. `process.env.NEXT_PUBLIC_OPENAI_KEY`. */
  | 'public-env-key-reference';

export interface BrowserAiCallHit {
  kind: BrowserAiCallKind;
  /** Provider named by the endpoint or the env name, when one can be told. */
  provider?: string;
  /** The endpoint host, for `provider-call-with-credential`. */
  host?: string;
  /** The public env name, for the `public-env-*` kinds. */
  envName?: string;
  /** 1-based. */
  line: number;
  column: number;
  /** Offset and length of the hit in the text. */
  index: number;
  length: number;
  /** A short excerpt around the hit; values that look like credentials are masked. */
  evidence: string;
}

interface ProviderHost {
  provider: string;
  host: RegExp;
}

/** AI provider API hosts that must never be called with a real key from a browser. */
export const AI_PROVIDER_HOSTS: readonly ProviderHost[] = [
  { provider: 'OpenAI', host: /api\.openai\.com/ },
  // The resource name before it is read backwards from the match: a leading `[a-z0-9-]+` would make the search crawl.
  { provider: 'Azure OpenAI', host: /\.openai\.azure\.com/ },
  { provider: 'Anthropic', host: /api\.anthropic\.com/ },
  { provider: 'Google Gemini', host: /generativelanguage\.googleapis\.com/ },
  { provider: 'Groq', host: /api\.groq\.com/ },
  { provider: 'Mistral', host: /api\.mistral\.ai/ },
  { provider: 'Cohere', host: /api\.cohere\.(?:ai|com)/ },
  { provider: 'Together AI', host: /api\.together\.(?:xyz|ai)/ },
  { provider: 'Fireworks AI', host: /api\.fireworks\.ai/ },
  { provider: 'OpenRouter', host: /openrouter\.ai\/api/ },
  { provider: 'DeepSeek', host: /api\.deepseek\.com/ },
  { provider: 'xAI', host: /api\.x\.ai/ },
  { provider: 'Perplexity', host: /api\.perplexity\.ai/ },
  { provider: 'Hugging Face', host: /(?:api-inference|router)\.huggingface\.co/ },
  { provider: 'Replicate', host: /api\.replicate\.com/ },
  { provider: 'ElevenLabs', host: /api\.elevenlabs\.io/ },
];

/** Every host in one pass (one regex is much cheaper than a search per provider on a large bundle). */
const ANY_HOST = new RegExp(`(?:${AI_PROVIDER_HOSTS.map((h) => h.host.source).join('|')})(?![\\w-])`, 'g');
const EXACT_HOST = AI_PROVIDER_HOSTS.map((h) => ({ provider: h.provider, exact: new RegExp(`^(?:${h.host.source})$`) }));

/** How far (characters) around an endpoint a credential header still counts as "built beside it". */
const CREDENTIAL_WINDOW = 600;
const CREDENTIAL_NEAR =
  /\b(?:authorization|x-api-key|x-goog-api-key|api-key|xi-api-key)\b['"`]?\s*[:,=]|\bBearer\s|[?&]key=|\bapiKey\s*:/i;

const DANGEROUSLY_ALLOW = /\bdangerouslyAllowBrowser['"]?\s*[:=]\s*(?:true\b|!0\b|1\b)/g;
// Case-sensitive classes instead of /i: an /i search cannot skip ahead on a literal and is slow on large bundles.
const ANTHROPIC_HEADER = /[Aa]nthropic-[Dd]angerous-[Dd]irect-[Bb]rowser-[Aa]ccess['"`]?\s*[:,]\s*['"`]?true\b/g;

const PUBLIC_PREFIX = '(?:NEXT_PUBLIC|VITE|REACT_APP|EXPO_PUBLIC|NUXT_PUBLIC|PUBLIC|GATSBY)_';
/** The name part that says the variable holds a credential. */
const CREDENTIAL_NAME = '[A-Z0-9_]*(?:API_?KEY|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|PASSWORD|AUTH|_KEY(?![A-Z0-9]))[A-Z0-9_]*';
/** Public env names whose values are public by design (publishable keys, site keys, analytics ids, Firebase web config). */
const PUBLIC_BY_DESIGN = /PUBLISHABLE|PUBLIC_KEY|SITE_?KEY|ANON|MAPS|RECAPTCHA|HCAPTCHA|TURNSTILE|VAPID|SENTRY|POSTHOG|ANALYTICS|MEASUREMENT|FIREBASE|ALGOLIA_SEARCH|MAPBOX|SEGMENT|MIXPANEL|AMPLITUDE|INTERCOM|PUSHER_KEY|CLERK_PUBLISHABLE|STRIPE_PK/;
const PUBLIC_ENV_VALUE = new RegExp(`(?<![A-Za-z0-9_])["']?(${PUBLIC_PREFIX}${CREDENTIAL_NAME})["']?\\s*[:=]\\s*(["'\`])([^"'\`\\s]{12,512})\\2`, 'g');
const PUBLIC_ENV_REFERENCE = new RegExp(`\\b(?:process\\.env|import\\.meta\\.env)\\.(${PUBLIC_PREFIX}${CREDENTIAL_NAME})\\b`, 'g');

const PROVIDER_WORDS: ReadonlyArray<[RegExp, string]> = [
  [/OPENAI|GPT/, 'OpenAI'],
  [/ANTHROPIC|CLAUDE/, 'Anthropic'],
  [/GEMINI|GOOGLE_AI|GOOGLE_GENAI|GENERATIVE/, 'Google Gemini'],
  [/GROQ/, 'Groq'],
  [/MISTRAL/, 'Mistral'],
  [/COHERE/, 'Cohere'],
  [/TOGETHER/, 'Together AI'],
  [/FIREWORKS/, 'Fireworks AI'],
  [/OPENROUTER/, 'OpenRouter'],
  [/DEEPSEEK/, 'DeepSeek'],
  [/XAI|GROK/, 'xAI'],
  [/PERPLEXITY|PPLX/, 'Perplexity'],
  [/HUGGING|HF_/, 'Hugging Face'],
  [/REPLICATE/, 'Replicate'],
  [/ELEVENLABS/, 'ElevenLabs'],
  [/AZURE/, 'Azure OpenAI'],
];

/** Values that are obviously not a real credential. */
const PLACEHOLDER = /^(?:x{6,}|\.{3,}|<.*>|\$\{.*\}|%.*%|your[-_]|change[-_]?me|placeholder|example|dummy|test|undefined|null|todo|replace)/i;

function providerFromEnvName(name: string): string | undefined {
  for (const [re, provider] of PROVIDER_WORDS) if (re.test(name)) return provider;
  return undefined;
}

/** Masks a value to its first 4 and last 4 characters (never more than 8 of it shown). */
export function maskValue(value: string): string {
  if (value.length <= 12) return '…';
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}

/** An excerpt of at most `radius` characters each side, on one line, with masked spans replaced. */
function excerpt(text: string, start: number, end: number, masks: Array<[number, number]> = [], radius = 60): string {
  const from = Math.max(0, start - radius);
  const to = Math.min(text.length, end + radius);
  let out = '';
  let i = from;
  for (const [ms, me] of masks.filter(([ms, me]) => me > from && ms < to).sort((a, b) => a[0] - b[0])) {
    if (ms < i) continue; // overlaps a span already masked
    out += text.slice(i, ms);
    out += maskValue(text.slice(ms, me));
    i = me;
  }
  out += text.slice(i, to);
  return (from > 0 ? '…' : '') + out.replace(/\s+/g, ' ').trim() + (to < text.length ? '…' : '');
}

/** Long quoted values in the excerpt window: masked so that an excerpt never carries a key. */
function credentialLikeSpans(text: string, from: number, to: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const re = /[A-Za-z0-9_\-.+/=]{20,}/g;
  const window = text.slice(from, to);
  for (const m of window.matchAll(re)) {
    // Host names and paths are not credentials; only mask strings with mixed character classes.
    if (/^[a-z.\-/]+$/.test(m[0]) || !/\d/.test(m[0])) continue;
    spans.push([from + m.index, from + m.index + m[0].length]);
  }
  return spans;
}

export interface DetectOptions {
  /** Skip `public-env-key-reference` hits (bundles: a leftover reference holds no value). */
  valuesOnly?: boolean;
  /**
   * The text is compiled JavaScript: drop hits that lie wholly inside one string or template
   * literal (a docs site's code sample shipped as text), which code that runs never does.
   */
  skipStringSamples?: boolean;
}

export function detectBrowserAiCalls(text: string, options: DetectOptions = {}): BrowserAiCallHit[] {
  const hits: BrowserAiCallHit[] = [];
  const at = lineLocator(text);
  const safeExcerpt = (start: number, end: number, extra: Array<[number, number]> = []) =>
    excerpt(text, start, end, [...extra, ...credentialLikeSpans(text, Math.max(0, start - 60), Math.min(text.length, end + 60))]);

  // One hit per provider per window is enough: a bundle repeats the host in every helper.
  const lastReported = new Map<string, number>();
  /** Where the credential beside each endpoint hit starts (to tell code from a sample in a string). */
  const credentialAt = new Map<number, number>();
  for (const m of text.matchAll(ANY_HOST)) {
    // A host inside a longer name (`notapi.openai.com.evil`) is not the provider's.
    if (m.index > 0 && /[\w-]/.test(text[m.index - 1]!) && m[0][0] !== '.') continue;
    const provider = EXACT_HOST.find((h) => h.exact.test(m[0]))?.provider;
    if (!provider || m.index - (lastReported.get(provider) ?? -Infinity) < CREDENTIAL_WINDOW) continue;
    const from = Math.max(0, m.index - CREDENTIAL_WINDOW);
    const to = Math.min(text.length, m.index + m[0].length + CREDENTIAL_WINDOW);
    const near = CREDENTIAL_NEAR.exec(text.slice(from, to));
    if (!near) continue;
    lastReported.set(provider, m.index);
    let start = m.index;
    if (m[0][0] === '.') while (start > 0 && start > m.index - 63 && /[a-z0-9-]/.test(text[start - 1]!)) start--;
    credentialAt.set(start, from + near.index);
    const host = text.slice(start, m.index + m[0].length);
    hits.push({ kind: 'provider-call-with-credential', provider, host, index: start, length: host.length, ...at(start), evidence: safeExcerpt(start, start + host.length) });
  }

  for (const m of text.matchAll(DANGEROUSLY_ALLOW)) {
    hits.push({ kind: 'dangerously-allow-browser', index: m.index, length: m[0].length, ...at(m.index), evidence: safeExcerpt(m.index, m.index + m[0].length) });
  }
  for (const m of text.matchAll(ANTHROPIC_HEADER)) {
    hits.push({ kind: 'anthropic-direct-browser-access', provider: 'Anthropic', index: m.index, length: m[0].length, ...at(m.index), evidence: safeExcerpt(m.index, m.index + m[0].length) });
  }

  for (const m of text.matchAll(PUBLIC_ENV_VALUE)) {
    const envName = m[1]!;
    const value = m[3]!;
    if (PLACEHOLDER.test(value) || PUBLIC_BY_DESIGN.test(envName)) continue;
    const valueStart = m.index + m[0].lastIndexOf(value);
    hits.push({
      kind: 'public-env-key-value',
      provider: providerFromEnvName(envName),
      envName,
      index: m.index,
      length: m[0].length,
      ...at(m.index),
      evidence: safeExcerpt(m.index, m.index + m[0].length, [[valueStart, valueStart + value.length]]),
    });
  }
  if (!options.valuesOnly) {
    for (const m of text.matchAll(PUBLIC_ENV_REFERENCE)) {
      const envName = m[1]!;
      if (PUBLIC_BY_DESIGN.test(envName)) continue;
      hits.push({ kind: 'public-env-key-reference', provider: providerFromEnvName(envName), envName, index: m.index, length: m[0].length, ...at(m.index), evidence: safeExcerpt(m.index, m.index + m[0].length) });
    }
  }
  const sorted = hits.sort((a, b) => a.index - b.index);
  return options.skipStringSamples ? withoutStringSamples(text, sorted, credentialAt) : sorted;
}

/** Drops hits whose two ends (or endpoint and credential) sit in the same string or template literal. */
function withoutStringSamples(text: string, hits: BrowserAiCallHit[], credentialAt: Map<number, number>): BrowserAiCallHit[] {
  if (hits.length === 0) return hits;
  const ends = hits.map((h) => (h.kind === 'provider-call-with-credential' ? (credentialAt.get(h.index) ?? h.index) : h.index + h.length - 1));
  const spans = literalSpansAt(text, [...hits.map((h) => h.index), ...ends]);
  return hits.filter((_, i) => {
    const a = spans[i];
    const b = spans[hits.length + i];
    return !(a && b && a.start === b.start);
  });
}
