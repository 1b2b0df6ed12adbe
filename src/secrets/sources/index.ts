/**
 * Where secrets are looked for: files and folders (honouring .gitignore), stdin, archives and app
 * bundles, binaries' strings, and git (history or staged changes). Every source yields
 * `SourceMatch`es; `toSecretFinding` turns one into a finding.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, posix, resolve } from 'node:path';
import { matchToFinding } from '../index.js';
import type { SecretFinding } from '../types.js';
import { contentContext, scanFile, scanIterable, WHOLE_FILE_BYTES } from './content.js';
import { SourceError } from './errors.js';
import type { SourceMatch, SourceOptions } from './types.js';
import { walkFiles, type WalkEntry } from './walk.js';

export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './limits.js';
export { detectKind, type FileKind } from './detect.js';
export { SourceError, type SourceErrorCode } from './errors.js';
export { assertRepository, countCommits, scanGitHistory, scanGitStaged, type GitSourceOptions } from './git.js';
export { binaryStrings, type BinaryStrings } from './strings.js';
export { newStats, type SkipReason, type SourceMatch, type SourceOptions, type SourceStats } from './types.js';
export { walkFiles, type WalkEntry, type WalkOptions } from './walk.js';

export interface ScanPathsOptions extends SourceOptions {
  /** What `-` reads (default: process.stdin). */
  stdin?: AsyncIterable<Uint8Array>;
}

async function* counted(source: AsyncIterable<Uint8Array>, stats: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    stats.bytes += chunk.length;
    yield chunk;
  }
}

function displayPath(root: string, rel: string): string {
  if (root === '.' || root === './') return rel;
  return posix.join(root.split('\\').join('/'), rel);
}

/**
 * Scans files and folders (`-` is stdin). A path that does not exist is a KW_FILE error; a file
 * that cannot be read inside a folder is reported through `onSkip` and the scan goes on.
 */
export async function* scanPaths(paths: readonly string[], options: ScanPathsOptions = {}): AsyncGenerator<SourceMatch> {
  const ctx = contentContext(options);
  for (const p of paths) {
    if (p === '-') {
      ctx.stats.files++;
      yield* scanIterable('-', counted(options.stdin ?? (process.stdin as AsyncIterable<Uint8Array>), ctx.stats), ctx);
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SourceError('KW_FILE', `cannot read '${p}': ${code === 'ENOENT' ? 'no such file or folder' : (code ?? (e as Error).message)}`, {
        hint: 'check the path; use - to read standard input',
        cause: e,
      });
    }
    if (st.isFile()) {
      yield* scanFile(resolve(p), p, ctx);
      continue;
    }
    if (!st.isDirectory()) throw new SourceError('KW_FILE', `cannot scan '${p}': not a file or folder`, { hint: 'give files or folders; use - to read standard input' });
    const onError = (path: string, e: NodeJS.ErrnoException): void => {
      ctx.stats.skipped.unreadable++;
      ctx.onSkip(isAbsolute(p) ? path : displayPath(p, posix.relative(resolve(p), path)), 'unreadable', e.code ?? e.message);
    };
    for await (const { entry, data } of readAhead(walkFiles(p, { gitignore: options.gitignore ?? true, onError }))) {
      yield* scanFile(entry.path, isAbsolute(p) ? entry.path : displayPath(p, entry.relPath), ctx, entry.size, data);
    }
  }
}

/** Files read while earlier ones are scanned: the disk and the thread pool work beside the engine. */
const READ_AHEAD = 8;

async function* readAhead(entries: AsyncGenerator<WalkEntry>): AsyncGenerator<{ entry: WalkEntry; data?: Promise<Buffer> }> {
  const pending: { entry: WalkEntry; data?: Promise<Buffer> }[] = [];
  let walking = true;
  try {
    for (;;) {
      while (walking && pending.length < READ_AHEAD) {
        const r = await entries.next();
        if (r.done) walking = false;
        else {
          const data = r.value.size <= WHOLE_FILE_BYTES ? readFile(r.value.path) : undefined;
          data?.catch(() => undefined); // a failure is reported when the file's turn comes
          pending.push({ entry: r.value, data });
        }
      }
      const next = pending.shift();
      if (!next) return;
      yield next;
    }
  } finally {
    await entries.return(undefined);
  }
}

/** A source match as a finding; strings read from binaries are located by byte offset, not line. */
export function toSecretFinding(m: SourceMatch): SecretFinding {
  const f = matchToFinding(m.match, { file: m.file, commit: m.commit, date: m.date });
  if (m.byteOffset === undefined) return f;
  const { line: _line, column: _column, ...where } = f.location ?? {};
  return { ...f, location: where, evidence: `${m.match.redacted} at byte offset ${m.byteOffset}, among the binary's strings` };
}
