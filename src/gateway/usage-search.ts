/**
 * Searches over a one-byte (latin1) view of SSE bytes or of a JSON answer for the usage the upstream
 * reports, in compact or spaced JSON (`"usage":{`, `"usage": {`).
 *
 * The searches are for `usage"`, not `"usage"`: V8's string search finds a pattern's first character
 * with memchr and checks each hit, and in JSON a `"` comes every few bytes, which made the search
 * several times slower than one starting with a rarer letter.
 */
import type { Provider, ServiceTier, Usage } from './providers/types.js';

/**
 * Where a `"usage"` key (or the provider's own name for it, Gemini's `usageMetadata`) whose value is an object starts (its opening quote at `from` or later), or -1;
 * `"usage":null`, which rides on every OpenAI chunk, is skipped.
 */
export function usageObjectAt(text: string, from: number, key = 'usage'): number {
  const needle = key + '"';
  for (let i = text.indexOf(needle, from + 1); i !== -1; i = text.indexOf(needle, i + needle.length)) {
    if (objectOfUsageKey(text, i, needle.length) !== -1) return i - 1;
  }
  return -1;
}

/** For a `usage"` (`needle` characters long) found at `i`: where its object value opens, or -1 when it is not the key or its value is no object. */
function objectOfUsageKey(text: string, i: number, needle: number): number {
  if (text.charCodeAt(i - 1) !== 34 /* " */) return -1;
  const v = valueAt(text, i + needle);
  return v !== -1 && text.charCodeAt(v) === 123 /* { */ ? v : -1;
}

/**
 * The last `"usage": { … }` object of a JSON answer (start and end offsets of the object itself), or
 * undefined. A provider puts the answer's usage last at the top level, so parsing this object alone
 * bills an answer without parsing all of it (a long answer costs tens of microseconds to parse whole).
 */
export function lastUsageObject(text: string, key = 'usage'): { start: number; end: number } | undefined {
  const needle = key + '"';
  for (let i = text.lastIndexOf(needle); i > 0; i = text.lastIndexOf(needle, i - 1)) {
    const v = objectOfUsageKey(text, i, needle.length);
    if (v === -1) continue;
    const end = objectEnd(text, v);
    return end === -1 ? undefined : { start: v, end };
  }
  return undefined;
}

/** What an answer that ran searches or code holds (OpenAI's search and code calls, Gemini's grounding). */
const SEARCHED = /"(?:web_search_call|file_search_call|image_generation_call|code_interpreter_call|groundingMetadata)"/;

/** The usage a JSON answer reports: its last usage object parsed alone, or (when that is not one) the whole answer. */
export function usageOfAnswer(provider: Provider<string>, buf: Buffer): Usage | undefined {
  const text = buf.toString('latin1');
  const at = lastUsageObject(text, provider.usageKey);
  if (at === undefined) return undefined;
  let u: Usage | undefined;
  try {
    u = provider.usageFromJson({ [provider.usageKey]: JSON.parse(buf.toString('utf8', at.start, at.end)) });
  } catch {
    u = undefined;
  }
  // OpenAI says which tier processed the answer beside its usage, not in it.
  if (u && provider.name === 'openai') {
    const tier = tierIn(text);
    if (tier !== undefined) u.serviceTier = tier;
  }
  // The web searches an answer ran are listed in its output, not its usage: then it is read whole.
  if (u && !SEARCHED.test(text)) return u;
  try {
    return provider.usageFromJson(JSON.parse(buf.toString('utf8'))) ?? u;
  } catch {
    return u;
  }
}

/**
 * The tier an answer's top-level `"service_tier"` names, when it is billed other than standard: the
 * first one (in a string its quote would be escaped; a nested object that could repeat the key, the
 * Responses API's `metadata`, comes after it). A forward search: `lastIndexOf` scans byte by byte.
 */
function tierIn(text: string): ServiceTier | undefined {
  const i = text.indexOf('service_tier"');
  if (i <= 0 || text.charCodeAt(i - 1) !== 34 /* " */) return undefined;
  const m = /^service_tier"\s*:\s*"(priority|flex)"/.exec(text.slice(i, i + 48));
  return m === null ? undefined : (m[1] as ServiceTier);
}

/** Just past the `}` closing the object that opens at `open`, strings skipped; -1 if it does not close. */
function objectEnd(text: string, open: number): number {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 34 /* " */) {
      for (j++; j < text.length && text.charCodeAt(j) !== 34; j++) if (text.charCodeAt(j) === 92 /* \ */) j++;
    } else if (c === 123) depth++;
    else if (c === 125 /* } */ && --depth === 0) return j + 1;
  }
  return -1;
}

/** Whether `"<key>": []` (compact or spaced) occurs in text[start, stop). */
export function emptyArrayWithin(text: string, key: string, start: number, stop: number): boolean {
  const needle = `${key}"`;
  for (let i = text.indexOf(needle, start + 1); i !== -1 && i < stop; i = text.indexOf(needle, i + needle.length)) {
    if (text.charCodeAt(i - 1) !== 34) continue;
    const v = valueAt(text, i + needle.length);
    if (v === -1 || text.charCodeAt(v) !== 91 /* [ */) continue;
    const close = skipSpaces(text, v + 1);
    if (text.charCodeAt(close) === 93 /* ] */ && close < stop) return true;
  }
  return false;
}

/** Where a key's value starts, the key's closing quote being just before `j`: past the colon and spaces (-1 if no colon). */
function valueAt(text: string, j: number): number {
  const colon = skipSpaces(text, j);
  return text.charCodeAt(colon) === 58 /* : */ ? skipSpaces(text, colon + 1) : -1;
}

function skipSpaces(text: string, j: number): number {
  while (text.charCodeAt(j) === 32) j++;
  return j;
}
