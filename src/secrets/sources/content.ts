/**
 * Scans content whatever it turns out to be: text (streamed, so a 1 GiB log needs little memory),
 * UTF-16 text, archives (opened within limits), binaries worth reading for strings (dex, Mach-O,
 * ELF), other binaries (skipped). Files, stdin and archive entries all come through here.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { scanStream, scanText } from '../index.js';
import type { Engine } from '../engine.js';
import type { SecretMatch } from '../types.js';
import { scanTar, scanZip, gunzipBounded, type ArchiveBudget } from './archive.js';
import { detectKind, SNIFF_BYTES, type FileKind } from './detect.js';
import { DamagedArchiveError, SourceError } from './errors.js';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits.js';
import { binaryStrings } from './strings.js';
import { newStats, type SourceMatch, type SourceOptions, type SourceStats } from './types.js';

/** Files up to this size are read whole; larger ones are streamed in chunks. */
export const WHOLE_FILE_BYTES = 8 * 1024 * 1024;
const STREAM_CHUNK_BYTES = 1024 * 1024;

/** Resolved options plus the archive budget of the outermost archive being expanded, if any. */
interface Ctx {
  includeInfo: boolean;
  engine?: Engine;
  archives: boolean;
  limits: ArchiveLimits;
  stats: SourceStats;
  onSkip: NonNullable<SourceOptions['onSkip']>;
  archive?: { budget: ArchiveBudget; depth: number };
}

export function contentContext(options: SourceOptions): Ctx {
  return {
    includeInfo: options.includeInfo ?? false,
    ...(options.engine ? { engine: options.engine } : {}),
    archives: options.archives ?? true,
    limits: { ...DEFAULT_ARCHIVE_LIMITS, ...options.limits },
    stats: options.stats ?? newStats(),
    onSkip: options.onSkip ?? (() => undefined),
  };
}

// Decoding a whole buffer keeps no state, so one decoder of each kind serves every file.
const UTF8 = new TextDecoder('utf-8');
const UTF16 = new TextDecoder('utf-16le');

function textMatches(name: string, text: string, ctx: Ctx): SourceMatch[] {
  return scanText(text, { path: name, includeInfo: ctx.includeInfo, engine: ctx.engine }).map((match) => ({ match, file: name }));
}

async function* decodeStream(source: AsyncIterable<Uint8Array>, encoding: 'utf-8' | 'utf-16le'): AsyncGenerator<string> {
  const decoder = new TextDecoder(encoding); // strips a leading BOM, joins characters split across chunks
  for await (const chunk of source) {
    const s = decoder.decode(chunk, { stream: true });
    if (s) yield s;
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

async function* textStreamMatches(name: string, source: AsyncIterable<Uint8Array>, encoding: 'utf-8' | 'utf-16le', ctx: Ctx): AsyncGenerator<SourceMatch> {
  for await (const match of scanStream(decodeStream(source, encoding), { path: name, includeInfo: ctx.includeInfo, engine: ctx.engine })) yield { match, file: name };
}

/** Strings read out of a binary: the match's line is the string's index; report its byte offset instead. */
function stringsMatches(name: string, bytes: Uint8Array, ctx: Ctx): SourceMatch[] {
  const { text, offsets, strides } = binaryStrings(bytes);
  return scanText(text, { path: name, includeInfo: ctx.includeInfo, engine: ctx.engine }).map((match: SecretMatch) => ({
    match,
    file: name,
    byteOffset: (offsets[match.line - 1] ?? 0) + (match.column - 1) * (strides?.[match.line - 1] ?? 1),
  }));
}

function nested(name: string, ctx: Ctx): Ctx {
  if (!ctx.archive) return { ...ctx, archive: { budget: { totalBytes: 0, entries: 0 }, depth: 1 } };
  if (ctx.archive.depth >= ctx.limits.maxDepth)
    throw new SourceError('KW_ARCHIVE', `refusing to open '${name}': archives nested more than ${ctx.limits.maxDepth} deep`, {
      hint: 'this looks like a recursive archive (a zip bomb); skip archives with --no-archives',
    });
  return { ...ctx, archive: { budget: ctx.archive.budget, depth: ctx.archive.depth + 1 } };
}

function skip(name: string, reason: 'binary' | 'archives-off', ctx: Ctx, detail?: string): void {
  ctx.stats.skipped[reason]++;
  ctx.onSkip(name, reason, detail);
}

/** Runs an archive's scan; a damaged archive is skipped (and reported), a limit being hit is not. */
async function* guarded(name: string, ctx: Ctx, scan: AsyncGenerator<SourceMatch>): AsyncGenerator<SourceMatch> {
  try {
    yield* scan;
  } catch (e) {
    if (!(e instanceof DamagedArchiveError)) throw e;
    ctx.stats.skipped['damaged-archive']++;
    ctx.onSkip(name, 'damaged-archive', e.detail);
  }
}

function isArchive(kind: FileKind): boolean {
  return kind === 'zip' || kind === 'gzip' || kind === 'tar';
}

/** Content already in memory: a small file or an archive entry. */
export async function* scanBytes(name: string, bytes: Uint8Array, ctx: Ctx): AsyncGenerator<SourceMatch> {
  const kind = detectKind(bytes.subarray(0, SNIFF_BYTES));
  if (ctx.archive) ctx.stats.archiveEntries++;
  if (isArchive(kind) && !ctx.archives) return skip(name, 'archives-off', ctx);
  switch (kind) {
    case 'text':
      return yield* textMatches(name, UTF8.decode(bytes), ctx);
    case 'utf16':
      return yield* textMatches(name, UTF16.decode(bytes), ctx);
    case 'strings':
      return yield* stringsMatches(name, bytes, ctx);
    case 'zip': {
      const inner = nested(name, ctx);
      const onUnsupported = (entry: string, detail: string): void => {
        ctx.stats.skipped['unsupported-compression']++;
        ctx.onSkip(entry, 'unsupported-compression', detail);
      };
      return yield* guarded(name, ctx, scanZip(name, bytes, inner.limits, inner.archive!.budget, (n, b) => scanBytes(n, b, inner), onUnsupported));
    }
    case 'gzip':
    case 'tar':
      return yield* scanIterable(name, once(bytes), ctx);
    default:
      return skip(name, 'binary', ctx);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function collect(name: string, source: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > max)
      throw new SourceError('KW_ARCHIVE', `refusing to read '${name}' into memory: it is larger than ${Math.round(max / 1024 / 1024)} MiB`, {
        hint: 'raise the limit with --max-archive-mb, or skip archives with --no-archives',
      });
    chunks.push(Buffer.from(c.buffer, c.byteOffset, c.length));
  }
  return Buffer.concat(chunks);
}

/**
 * Reads the first `n` bytes of a stream and gives back the head and the whole stream again, and a
 * `close` that releases the source (a file descriptor) when the rest is not wanted.
 */
async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Buffer; all: AsyncIterable<Uint8Array>; close: () => Promise<void> }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    got += r.value.length;
  }
  const head = Buffer.concat(seen.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length))).subarray(0, n);
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const close = async (): Promise<void> => {
    await it.return?.();
  };
  return { head, all: all(), close };
}

/** Content as a stream of unknown kind: a large file, stdin, a gunzipped stream. */
export async function* scanIterable(name: string, source: AsyncIterable<Uint8Array>, ctx: Ctx): AsyncGenerator<SourceMatch> {
  const { head, all, close } = await peek(source, SNIFF_BYTES);
  try {
    yield* scanKind(name, detectKind(head), all, ctx);
  } finally {
    await close(); // a skipped or half-read stream still lets go of its file
  }
}

async function* scanKind(name: string, kind: FileKind, all: AsyncIterable<Uint8Array>, ctx: Ctx): AsyncGenerator<SourceMatch> {
  if (isArchive(kind) && !ctx.archives) return skip(name, 'archives-off', ctx);
  switch (kind) {
    case 'text':
      return yield* textStreamMatches(name, all, 'utf-8', ctx);
    case 'utf16':
      return yield* textStreamMatches(name, all, 'utf-16le', ctx);
    case 'gzip': {
      const inner = nested(name, ctx);
      return yield* guarded(name, ctx, scanIterable(name, gunzipBounded(name, all, inner.limits, inner.archive!.budget), inner));
    }
    case 'tar': {
      const inner = nested(name, ctx);
      return yield* guarded(name, ctx, scanTar(name, all, inner.limits, inner.archive!.budget, (n, b) => scanBytes(n, b, inner)));
    }
    case 'zip':
    case 'strings':
      return yield* scanBytes(name, await collect(name, all, ctx.limits.maxArchiveBytes), ctx);
    default:
      return skip(name, 'binary', ctx);
  }
}

/** One file on disk (`size` when the walk already knows it). Unreadable files go to onSkip; the scan goes on. */
export async function* scanFile(path: string, displayName: string, ctx: Ctx, size?: number, preloaded?: Promise<Buffer>): AsyncGenerator<SourceMatch> {
  const unreadable = (e: unknown): void => {
    ctx.stats.skipped.unreadable++;
    ctx.onSkip(displayName, 'unreadable', (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  };
  let bytes: number;
  try {
    bytes = size ?? (await stat(path)).size;
  } catch (e) {
    return unreadable(e);
  }
  if (bytes <= WHOLE_FILE_BYTES) {
    let data: Buffer;
    try {
      data = await (preloaded ?? readFile(path));
    } catch (e) {
      return unreadable(e);
    }
    ctx.stats.files++;
    ctx.stats.bytes += data.length;
    return yield* scanBytes(displayName, data, ctx);
  }
  const stream = createReadStream(path, { highWaterMark: STREAM_CHUNK_BYTES });
  // Open errors surface on the first read; check by opening before committing to the scan.
  try {
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
  } catch (e) {
    return unreadable(e);
  }
  ctx.stats.files++;
  ctx.stats.bytes += bytes;
  try {
    yield* scanIterable(displayName, stream, ctx);
  } catch (e) {
    // A read that fails half-way (a disk error, a file cut short) skips the rest of that file only.
    if ((e as NodeJS.ErrnoException).syscall === undefined) throw e;
    unreadable(e);
  }
}
