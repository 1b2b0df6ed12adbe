/**
 * Bytes of UTF-8 text cut where no character is split. A file sent in pieces is cut at byte offsets,
 * often inside a character; a piece read with a split character decodes to U+FFFD, which the secrets
 * check takes for binary and skips, so the text at an upload's cuts is trimmed to whole characters
 * before it is read.
 */

/** True for a byte that continues a character (10xxxxxx). */
const continues = (byte: number): boolean => (byte & 0xc0) === 0x80;

/** Up to `n` bytes from the start, the character they would cut left out. */
export function firstBytes(b: Buffer, n: number): Buffer {
  if (b.length <= n) return b;
  let end = n;
  while (end > 0 && continues(b[end]!)) end--;
  return b.subarray(0, end);
}

/** Up to `n` bytes from the end, the character they would cut left out. */
export function lastBytes(b: Buffer, n: number): Buffer {
  if (b.length <= n) return b;
  let start = b.length - n;
  while (start < b.length && continues(b[start]!)) start++;
  return b.subarray(start);
}

/** The bytes without a character cut off at their end (its first bytes there, the rest to come). */
export function withoutCutEnd(b: Buffer): Buffer {
  // The last character starts at most three bytes back.
  let start = b.length - 1;
  while (start > 0 && start > b.length - 4 && continues(b[start]!)) start--;
  if (start < 0) return b;
  const lead = b[start]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return b.length - start < size ? b.subarray(0, start) : b;
}

/** The bytes without a character cut off at their start (its last bytes there, its first in the piece before). */
export function withoutCutStart(b: Buffer): Buffer {
  let start = 0;
  while (start < 3 && start < b.length && continues(b[start]!)) start++;
  return b.subarray(start);
}
