/**
 * Finds a `"usage"` key (its opening quote at `from` or later) whose value is an object in a one-byte (latin1) view of SSE bytes, in compact
 * or spaced JSON (`"usage":{`, `"usage": {`); `"usage":null` rides on every OpenAI chunk and is skipped.
 *
 * The search is for `usage"`, not `"usage"`: V8's string search finds a pattern's first character
 * with memchr and checks each hit, and in JSON a `"` comes every few bytes, which made the search
 * several times slower than one starting with a rarer letter.
 */
export function usageObjectAt(text: string, from: number): number {
  for (let i = text.indexOf('usage"', from + 1); i !== -1; i = text.indexOf('usage"', i + 6)) {
    if (text.charCodeAt(i - 1) !== 34 /* " */) continue;
    let j = i + 6;
    while (text.charCodeAt(j) === 32) j++;
    if (text.charCodeAt(j) !== 58 /* : */) continue;
    j++;
    while (text.charCodeAt(j) === 32) j++;
    if (text.charCodeAt(j) === 123 /* { */) return i - 1;
  }
  return -1;
}

/** Whether `"<key>": []` (compact or spaced) occurs in text[start, stop). */
export function emptyArrayWithin(text: string, key: string, start: number, stop: number): boolean {
  const needle = `${key}"`;
  for (let i = text.indexOf(needle, start + 1); i !== -1 && i < stop; i = text.indexOf(needle, i + needle.length)) {
    if (text.charCodeAt(i - 1) !== 34) continue;
    let j = i + needle.length;
    while (text.charCodeAt(j) === 32) j++;
    if (text.charCodeAt(j) !== 58) continue;
    j++;
    while (text.charCodeAt(j) === 32) j++;
    if (text.charCodeAt(j) !== 91 /* [ */) continue;
    j++;
    while (text.charCodeAt(j) === 32) j++;
    if (text.charCodeAt(j) === 93 /* ] */ && j < stop) return true;
  }
  return false;
}
