/** Structural checks shared by rules: entropy, checksums, decoded prefixes, placeholders. */
import { crc32 } from 'node:zlib';

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** How many of: lowercase, uppercase, digit occur in `s`. */
export function charClasses(s: string): number {
  return (/[a-z]/.test(s) ? 1 : 0) + (/[A-Z]/.test(s) ? 1 : 0) + (/[0-9]/.test(s) ? 1 : 0);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** CRC32 of `s`, base62-encoded and left-padded to 6 chars: the checksum GitHub and npm tokens end with. */
export function crc32Base62(s: string): string {
  let n = crc32(s) >>> 0;
  let out = '';
  while (n > 0) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(6, '0');
}

/** True when `token` = prefix + 30 random chars + the base62 CRC32 of those 30 chars. */
export function hasCrc32Checksum(token: string, prefixLength: number): boolean {
  const body = token.slice(prefixLength);
  if (body.length !== 36) return false;
  return crc32Base62(body.slice(0, 30)) === body.slice(30);
}

/** Decodes standard or URL-safe base64, tolerating missing padding; '' when it is not base64. */
export function decodeBase64(s: string): string {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return '';
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
}

/**
 * Words and shapes that mark a value as a placeholder or documentation example rather than a
 * real key. Checked on the part after the key's fixed prefix, so `sk_test_` still counts.
 */
const PLACEHOLDER = new RegExp(
  [
    'x{4,}', 'X{4,}', '\\*{3,}', '\\.{3}', '…', '<', '>', '\\$\\{', '\\{\\{', '%s',
    'your', 'YOUR', 'Your', 'example', 'EXAMPLE', 'Example', 'placeholder', 'PLACEHOLDER', 'dummy', 'DUMMY',
    'sample', 'SAMPLE', 'fake', 'FAKE', 'redacted', 'REDACTED', 'changeme', 'CHANGEME', 'insert', 'INSERT',
    'replace', 'REPLACE', 'here', 'HERE', 'secret', 'SECRET', 'token', 'TOKEN', 'apikey', 'APIKEY', 'api_key', 'API_KEY',
    '0{6,}', '1234567', 'abcdefgh', 'ABCDEFGH', '(.)\\1{7,}',
  ].join('|'),
);

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/** Capitalised two-letter words that appear inside identifiers (`SingleSignOnProvider`). */
const TWO_LETTER_WORDS = new Set(['On', 'In', 'Of', 'To', 'By', 'At', 'Is', 'Or', 'As', 'Up', 'Id', 'No', 'Do', 'Go', 'If', 'It', 'My', 'So', 'Us', 'We', 'Ok']);

/** Identifier-like text (`getUserAccessTokenFromSession`) rather than random characters. */
export function looksLikeIdentifier(s: string): boolean {
  // Mostly letters in camelCase/snake_case words with few digits.
  const words = s.split(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|[_\-.]/).filter(Boolean);
  const digits = (s.match(/[0-9]/g) ?? []).length;
  // Short lowercase pieces with a digit (`k8s`, `utf8`, `v2`, `s3`) are words in names too.
  // A word has a vowel and no long consonant run; an acronym is short. Random letters split into
  // pieces like `Prq` or `QPIOZZ` that fail one of these.
  const spoken = (w: string) => /[aeiouy]/i.test(w) && !/[^aeiouy0-9]{5}/i.test(w);
  const word = (w: string) =>
    (/^[A-Z]?[a-z]{2,}$/.test(w) && spoken(w)) || /^[A-Z]{2,5}$/.test(w) || (/^[a-z][a-z0-9]{0,3}$/.test(w) && (spoken(w) || /[0-9]/.test(w))) || TWO_LETTER_WORDS.has(w);
  return digits <= 2 && words.filter((w) => /^[A-Z]?[a-z]{2,}$/.test(w)).length >= 2 && words.every(word);
}

/**
 * Whether `s` looks like random key material rather than a word, identifier or filler: enough
 * character classes, not identifier-shaped, and an entropy near what random text of its length
 * and alphabet reaches. A random string of n characters over k symbols measures about
 * log2(k) − (k−1)/(2n·ln 2) bits per character; 0.75 below that rejects at most about 1 in 5 000
 * random keys (the short ones; long ones almost never) while repeats fall short. Words are caught
 * as identifiers.
 */
export function looksRandom(s: string, minClasses = 2): boolean {
  if (charClasses(s) < minClasses || looksLikeIdentifier(s)) return false;
  const k = /^[0-9a-f]+$/i.test(s) ? 16 : /^[A-Za-z]+$/.test(s) ? 52 : /^[A-Za-z0-9]+$/.test(s) ? 62 : 64;
  const expected = Math.log2(k) - (k - 1) / (2 * s.length * Math.LN2);
  return shannonEntropy(s) >= Math.max(2, expected - 0.75);
}
