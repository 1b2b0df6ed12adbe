/**
 * Opens zip-family archives (zip, jar, apk, ipa, aab) with fflate and tar/tgz with tar-stream,
 * in memory, within `ArchiveLimits`: a zip bomb ends with a KW_ARCHIVE error instead of eating the
 * machine. Each entry is handed to `scanEntry`, which may open nested archives with the same budget.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { unzipSync, type UnzipFileInfo, type Unzipped } from 'fflate';
import tar from 'tar-stream';
import { DamagedArchiveError, SourceError } from './errors.js';
import { RATIO_FLOOR_BYTES, type ArchiveLimits } from './limits.js';
import type { SourceMatch } from './types.js';

/** What one outermost archive has used so far; nested archives draw on the same budget. */
export interface ArchiveBudget {
  totalBytes: number;
  entries: number;
}

export type EntryScanner = (name: string, bytes: Uint8Array) => AsyncGenerator<SourceMatch>;

const MiB = 1024 * 1024;
/** Entries are expanded this many bytes at a time, so memory holds one batch, not the archive. */
const ZIP_BATCH_BYTES = 64 * MiB;

function bomb(name: string, what: string): SourceError {
  return new SourceError('KW_ARCHIVE', `refusing to expand '${name}': ${what}; it looks like a zip bomb`, {
    hint: 'if this archive is genuine, raise the limit with --max-archive-mb, or skip archives with --no-archives',
  });
}

function tooBig(name: string, what: string): SourceError {
  return new SourceError('KW_ARCHIVE', `refusing to expand '${name}': ${what}`, {
    hint: 'raise the limit with --max-archive-mb, or skip archives with --no-archives',
  });
}

function mb(n: number): string {
  return `${Math.round(n / MiB)} MiB`;
}

export function chargeEntry(name: string, budget: ArchiveBudget, limits: ArchiveLimits): void {
  budget.entries++;
  if (budget.entries > limits.maxEntries) throw bomb(name, `more than ${limits.maxEntries} entries`);
}

export function chargeBytes(name: string, bytes: number, budget: ArchiveBudget, limits: ArchiveLimits): void {
  budget.totalBytes += bytes;
  if (budget.totalBytes > limits.maxTotalBytes) throw bomb(name, `it expands to more than ${mb(limits.maxTotalBytes)}`);
}

function isDirectory(info: UnzipFileInfo): boolean {
  return info.name.endsWith('/');
}

/** Zip, jar, apk, ipa, aab and other zip containers, read from the central directory. */
export async function* scanZip(
  name: string,
  bytes: Uint8Array,
  limits: ArchiveLimits,
  budget: ArchiveBudget,
  scanEntry: EntryScanner,
  onUnsupported: (entry: string, detail: string) => void,
): AsyncGenerator<SourceMatch> {
  if (bytes.length > limits.maxArchiveBytes) throw tooBig(name, `the archive is larger than ${mb(limits.maxArchiveBytes)}`);
  const infos: UnzipFileInfo[] = [];
  try {
    unzipSync(bytes, { filter: (info) => (infos.push(info), false) });
  } catch (e) {
    throw new DamagedArchiveError(name, `not a readable zip archive (${(e as Error).message})`, e);
  }
  // Judge the whole archive by its directory before expanding anything.
  let declared = 0;
  const wanted = infos.map((info) => {
    if (isDirectory(info)) return false;
    chargeEntry(`${name}!/${info.name}`, budget, limits);
    if (info.compression !== 0 && info.compression !== 8) {
      onUnsupported(`${name}!/${info.name}`, `compression method ${info.compression}`);
      return false;
    }
    if (info.originalSize > limits.maxEntryBytes) throw tooBig(`${name}!/${info.name}`, `the entry expands to more than ${mb(limits.maxEntryBytes)}`);
    if (info.originalSize > RATIO_FLOOR_BYTES && info.originalSize / Math.max(info.size, 1) > limits.maxRatio)
      throw bomb(`${name}!/${info.name}`, `it expands ${Math.round(info.originalSize / Math.max(info.size, 1))} times`);
    declared += info.originalSize;
    if (budget.totalBytes + declared > limits.maxTotalBytes) throw bomb(name, `its entries add up to more than ${mb(limits.maxTotalBytes)}`);
    return true;
  });
  // A lying directory cannot hurt: fflate expands each entry into a buffer of its declared size.
  for (let start = 0; start < infos.length; ) {
    let end = start;
    let batch = 0;
    while (end < infos.length) {
      const size = wanted[end] ? infos[end]!.originalSize : 0;
      if (end > start && batch + size > ZIP_BATCH_BYTES) break;
      batch += size;
      end++;
    }
    const files = expandBatch(name, bytes, start, end, wanted, infos, onUnsupported);
    for (const [entry, data] of Object.entries(files)) {
      chargeBytes(name, data.length, budget, limits);
      yield* scanEntry(`${name}!/${entry}`, data);
    }
    start = end;
  }
}

/**
 * Expands entries [start, end) that are wanted. When the batch fails (an entry's data is damaged or
 * encrypted), the entries are expanded one by one so only the bad ones are skipped, and reported.
 */
function expandBatch(
  name: string,
  bytes: Uint8Array,
  start: number,
  end: number,
  wanted: readonly boolean[],
  infos: readonly UnzipFileInfo[],
  onUnsupported: (entry: string, detail: string) => void,
): Unzipped {
  const pick = (from: number, to: number): Unzipped => {
    let k = -1;
    return unzipSync(bytes, { filter: () => (k++, k >= from && k < to && wanted[k] === true) });
  };
  try {
    return pick(start, end);
  } catch {
    const files: Unzipped = {};
    for (let k = start; k < end; k++) {
      if (!wanted[k]) continue;
      try {
        Object.assign(files, pick(k, k + 1));
      } catch (e) {
        onUnsupported(`${name}!/${infos[k]!.name}`, `cannot be expanded (${(e as Error).message}); damaged or encrypted`);
      }
    }
    return files;
  }
}

async function* counted(source: AsyncIterable<Uint8Array>, total: { n: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    total.n += chunk.length;
    yield chunk;
  }
}

/** Gunzips a stream, stopping a gzip bomb by its expansion ratio and by the archive budget. */
export async function* gunzipBounded(name: string, source: AsyncIterable<Uint8Array>, limits: ArchiveLimits, budget: ArchiveBudget): AsyncGenerator<Buffer> {
  const input = { n: 0 };
  const raw = Readable.from(counted(source, input));
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  let out = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      out += chunk.length;
      if (out > RATIO_FLOOR_BYTES && out / Math.max(input.n, 1) > limits.maxRatio) throw bomb(name, `it expands more than ${limits.maxRatio} times`);
      chargeBytes(name, chunk.length, budget, limits);
      yield chunk;
    }
  } catch (e) {
    if (e instanceof SourceError) throw e;
    throw new DamagedArchiveError(name, `not readable gzip data (${(e as Error).message})`, e);
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}

/** Tar streams (already gunzipped): each regular file is read, within the limits, and scanned. */
export async function* scanTar(
  name: string,
  source: AsyncIterable<Uint8Array>,
  limits: ArchiveLimits,
  budget: ArchiveBudget,
  scanEntry: EntryScanner,
): AsyncGenerator<SourceMatch> {
  const extract = tar.extract();
  const raw = Readable.from(source);
  raw.on('error', (e) => extract.destroy(e));
  raw.pipe(extract);
  try {
    for await (const entry of extract) {
      const { header } = entry;
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const entryName = `${name}!/${header.name}`;
      chargeEntry(entryName, budget, limits);
      if ((header.size ?? 0) > limits.maxEntryBytes) throw tooBig(entryName, `the entry is larger than ${mb(limits.maxEntryBytes)}`);
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        chargeBytes(name, chunk.length, budget, limits);
        chunks.push(chunk);
      }
      yield* scanEntry(entryName, Buffer.concat(chunks));
    }
  } catch (e) {
    if (e instanceof SourceError) throw e;
    throw new DamagedArchiveError(name, `not a readable tar archive (${(e as Error).message})`, e);
  } finally {
    raw.destroy();
    extract.destroy();
  }
}
