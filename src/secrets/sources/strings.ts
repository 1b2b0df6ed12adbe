/**
 * Printable strings inside binaries (classes.dex, Mach-O, ELF .so, Android's resources.arsc and
 * binary XML, binary plists), where apps hide their keys: ASCII runs like `strings(1)` and UTF-16LE
 * runs like `strings -el` (Android string pools). Each string keeps its byte offset so a finding
 * can say where it is.
 */

export interface BinaryStrings {
  /** The strings joined by newlines: what the engine scans. */
  text: string;
  /** Byte offset in the binary of each line of `text`. */
  offsets: number[];
  /** Bytes per character of each line: 1, or 2 for UTF-16 strings (absent: all 1). */
  strides?: number[];
}

/** The shortest run worth keeping: shorter than any key, long enough to keep keyword context. */
const MIN_RUN = 6;

/** Printable ASCII and tab, as a table: the loops below run once per byte of large binaries. */
const PRINTABLE = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) PRINTABLE[b] = 1;
PRINTABLE[0x09] = 1;

/** Runs of printable ASCII, like `strings(1)`. */
export function printableRuns(bytes: Uint8Array, minRun = MIN_RUN): BinaryStrings {
  const parts: string[] = [];
  const offsets: number[] = [];
  const n = bytes.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    if (PRINTABLE[bytes[i]!] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= minRun) {
        parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, i - start).toString('latin1'));
        offsets.push(start);
      }
      start = -1;
    }
  }
  if (start >= 0 && n - start >= minRun) {
    parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, n - start).toString('latin1'));
    offsets.push(start);
  }
  return { text: parts.join('\n'), offsets };
}

/** Runs of printable ASCII stored as UTF-16LE (each character followed by a NUL byte), at either alignment. */
export function utf16Runs(bytes: Uint8Array, minRun = MIN_RUN): { start: number; text: string }[] {
  const runs: { start: number; text: string }[] = [];
  for (const align of [0, 1]) {
    let start = -1;
    for (let i = align; i <= bytes.length; i += 2) {
      const ok = i + 1 < bytes.length && bytes[i + 1] === 0 && PRINTABLE[bytes[i]!] === 1;
      if (ok && start < 0) start = i;
      else if (!ok && start >= 0) {
        if ((i - start) / 2 >= minRun) runs.push({ start, text: Buffer.from(bytes.buffer, bytes.byteOffset + start, i - start).toString('utf16le') });
        start = -1;
      }
    }
  }
  return runs.sort((a, b) => a.start - b.start);
}

/** ASCII and UTF-16LE runs together, in the order they sit in the binary. */
export function allRuns(bytes: Uint8Array): BinaryStrings {
  const ascii = printableRuns(bytes);
  const wide = utf16Runs(bytes);
  if (wide.length === 0) return ascii;
  const lines = ascii.text === '' ? [] : ascii.text.split('\n').map((text, i) => ({ start: ascii.offsets[i]!, text, stride: 1 }));
  for (const w of wide) lines.push({ start: w.start, text: w.text, stride: 2 });
  lines.sort((a, b) => a.start - b.start);
  return { text: lines.map((l) => l.text).join('\n'), offsets: lines.map((l) => l.start), strides: lines.map((l) => l.stride) };
}

function readUleb128(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let i = at;
  while (i < bytes.length && shift < 35) {
    const b = bytes[i++]!;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return [value >>> 0, i];
}

/**
 * The string table of an Android dex file. Each dex string is prefixed by its length, which
 * `strings(1)` would glue onto the front of a key (a 108-character key gets an `l`), so read the
 * table instead. Falls back to printable runs when the header does not add up.
 */
export function dexStrings(bytes: Uint8Array): BinaryStrings {
  if (bytes.length < 0x70) return printableRuns(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0x38, true);
  const idsOff = view.getUint32(0x3c, true);
  if (idsOff + count * 4 > bytes.length) return printableRuns(bytes);
  const parts: string[] = [];
  const offsets: number[] = [];
  for (let k = 0; k < count; k++) {
    const dataOff = view.getUint32(idsOff + k * 4, true);
    if (dataOff >= bytes.length) return printableRuns(bytes);
    const [, start] = readUleb128(bytes, dataOff);
    let end = start;
    while (end < bytes.length && bytes[end] !== 0) end++;
    if (end - start < MIN_RUN) continue;
    // MUTF-8; keys are ASCII, and a newline inside a string must not split our line mapping.
    parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8').replace(/[\r\n]/g, ' '));
    offsets.push(start);
  }
  return { text: parts.join('\n'), offsets };
}

/**
 * The string pools of Android's resources.arsc and binary XML (AndroidManifest.xml): each string is
 * prefixed by its length, which would glue onto a key in a run of characters, so read the pools.
 * Returns undefined when the chunks do not add up (the caller falls back to runs).
 */
export function androidStringPools(bytes: Uint8Array): BinaryStrings | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = [];
  const offsets: number[] = [];
  const strides: number[] = [];
  // Top-level chunks after the file's own header; the global string pool is among them.
  for (let at = view.getUint16(2, true); at + 8 <= bytes.length; ) {
    const type = view.getUint16(at, true);
    const headerSize = view.getUint16(at + 2, true);
    const size = view.getUint32(at + 4, true);
    if (size < 8 || at + size > bytes.length) return lines.length ? { text: lines.join('\n'), offsets, strides } : undefined;
    if (type === 0x0001 && headerSize >= 28) {
      const count = view.getUint32(at + 8, true);
      const utf8 = (view.getUint32(at + 16, true) & 0x100) !== 0;
      const stringsStart = at + view.getUint32(at + 20, true);
      if (at + headerSize + count * 4 > at + size) return undefined;
      for (let k = 0; k < count; k++) {
        let p = stringsStart + view.getUint32(at + headerSize + k * 4, true);
        if (p >= at + size) return undefined;
        if (utf8) {
          p += bytes[p]! & 0x80 ? 2 : 1; // length in characters
          const n = bytes[p]! & 0x80 ? ((bytes[p]! & 0x7f) << 8) | bytes[p + 1]! : bytes[p]!;
          p += bytes[p]! & 0x80 ? 2 : 1; // length in bytes
          if (n < MIN_RUN || p + n > bytes.length) continue;
          lines.push(Buffer.from(bytes.buffer, bytes.byteOffset + p, n).toString('utf8').replace(/[\r\n]/g, ' '));
          offsets.push(p);
          strides.push(1);
        } else {
          let n = view.getUint16(p, true);
          p += 2;
          if (n & 0x8000) {
            n = ((n & 0x7fff) << 16) | view.getUint16(p, true);
            p += 2;
          }
          if (n < MIN_RUN || p + n * 2 > bytes.length) continue;
          lines.push(Buffer.from(bytes.buffer, bytes.byteOffset + p, n * 2).toString('utf16le').replace(/[\r\n]/g, ' '));
          offsets.push(p);
          strides.push(2);
        }
      }
    }
    at += size;
  }
  return { text: lines.join('\n'), offsets, strides };
}

export function binaryStrings(bytes: Uint8Array): BinaryStrings {
  const isAndroidChunked = (bytes[0] === 0x02 && bytes[2] === 0x0c) || (bytes[0] === 0x03 && bytes[2] === 0x08);
  if (isAndroidChunked && bytes[1] === 0 && bytes[3] === 0) {
    const pools = androidStringPools(bytes);
    if (pools && pools.text !== '') return pools;
  }
  const isDex = bytes[0] === 0x64 && bytes[1] === 0x65 && bytes[2] === 0x78 && bytes[3] === 0x0a;
  return isDex ? dexStrings(bytes) : allRuns(bytes);
}
