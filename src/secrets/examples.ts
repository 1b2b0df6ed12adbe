/**
 * Building example keys from parts at run time, so no whole key is ever written in the
 * repository (the repository must scan clean). Deterministic: the same seed gives the same keys.
 */
import { crc32Base62, isPlaceholder } from './checks.js';

export const ALPHABETS = {
  alnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  upperAlnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  lowerAlnum: 'abcdefghijklmnopqrstuvwxyz0123456789',
  letters: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  hex: '0123456789abcdef',
  upperHex: '0123456789ABCDEF',
  digits: '0123456789',
  base64: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-',
  base32: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567',
} as const;

export type AlphabetName = keyof typeof ALPHABETS;

/** A small seeded generator (mulberry32): examples must be reproducible. */
export class ExampleRandom {
  private state: number;
  constructor(seed = 0x6b657977) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** `n` random characters of a named alphabet (or of the given characters). */
  chars(alphabet: AlphabetName | string, n: number): string {
    const a = alphabet in ALPHABETS ? ALPHABETS[alphabet as AlphabetName] : alphabet;
    let out = '';
    for (let i = 0; i < n; i++) out += a[this.int(a.length)];
    // Random text can spell a placeholder word by chance; re-draw rather than flake.
    return isPlaceholder(out) ? this.chars(alphabet, n) : out;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** One shared generator for rule examples. */
export const rand = new ExampleRandom();

/** A GitHub/npm-style token: prefix + 30 random alphanumerics + base62 CRC32 checksum. */
export function checksummedToken(prefix: string, r: ExampleRandom = rand): string {
  const body = r.chars('alnum', 30);
  return prefix + body + crc32Base62(body);
}

/** Base64 (standard alphabet, no padding) of a string; used for keys whose payload is encoded text. */
export function b64(s: string): string {
  return Buffer.from(s, 'latin1').toString('base64').replace(/=+$/, '');
}
