/**
 * What a file is, from its first bytes: text (scanned), an archive (opened), a binary whose strings
 * are worth reading (Android dex, resources and binary XML, Mach-O, ELF, Java class, binary plist),
 * or another binary (skipped).
 */

export type FileKind = 'text' | 'utf16' | 'zip' | 'gzip' | 'tar' | 'strings' | 'binary';

/** How many leading bytes `detectKind` needs. */
export const SNIFF_BYTES = 8192;

const STRINGS_MAGICS: readonly (readonly number[])[] = [
  [0x64, 0x65, 0x78, 0x0a], // dex\n: Android classes.dex
  [0xfe, 0xed, 0xfa, 0xce], // Mach-O 32-bit
  [0xfe, 0xed, 0xfa, 0xcf], // Mach-O 64-bit
  [0xce, 0xfa, 0xed, 0xfe], // Mach-O 32-bit, little-endian
  [0xcf, 0xfa, 0xed, 0xfe], // Mach-O 64-bit, little-endian
  [0xca, 0xfe, 0xba, 0xbe], // Mach-O universal binary, or a Java class file
  [0x7f, 0x45, 0x4c, 0x46], // ELF: Android native libraries (.so)
  [0x02, 0x00, 0x0c, 0x00], // Android resources.arsc (res/values/strings.xml, compiled)
  [0x03, 0x00, 0x08, 0x00], // Android binary XML (AndroidManifest.xml meta-data)
  [0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30], // bplist00: iOS Info.plist and other binary plists
];

function startsWith(head: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (head.length < at + magic.length) return false;
  return magic.every((b, i) => head[at + i] === b);
}

/**
 * A tar header: "ustar" at offset 257 (POSIX and GNU tar) and a header checksum that adds up, so
 * that a text file that happens to hold "ustar" there (tar libraries do) stays text.
 */
export function isTarHeader(head: Uint8Array): boolean {
  if (head.length < 512 || !startsWith(head, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return false;
  const field = Buffer.from(head.buffer, head.byteOffset + 148, 8).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]{1,7}$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!;
  return sum === Number.parseInt(field, 8);
}

/** UTF-16LE text without a BOM (some Windows tools write it): ASCII in every even byte, NUL in every odd one. */
function looksUtf16le(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512) & ~1;
  if (n < 16) return false;
  for (let i = 0; i < n; i += 2) {
    const c = head[i]!;
    if (head[i + 1] !== 0 || !(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f))) return false;
  }
  return true;
}

/** Classifies a file by its first bytes (at least SNIFF_BYTES of them when the file is that long). */
export function detectKind(head: Uint8Array): FileKind {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (isTarHeader(head)) return 'tar';
  if (STRINGS_MAGICS.some((m) => startsWith(head, m))) return 'strings';
  if (startsWith(head, [0xff, 0xfe]) || looksUtf16le(head)) return 'utf16';
  // Git's rule: a NUL byte in the first 8000 bytes means binary.
  const n = Math.min(head.length, 8000);
  for (let i = 0; i < n; i++) if (head[i] === 0) return 'binary';
  return 'text';
}
