/**
 * Git as a source: the whole history (every commit's added lines, all branches) by streaming
 * `git log -p`, or the staged changes for a pre-commit hook. Only added lines are scanned: a key
 * removed by a commit was added by an earlier one and is reported there, with its commit and date.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { scanText } from '../index.js';
import { contentContext, scanBytes } from './content.js';
import { SourceError } from './errors.js';
import { readBlobs } from './git-blobs.js';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.js';
import type { SourceMatch, SourceOptions, SourceStats } from './types.js';

export interface GitSourceOptions extends Pick<SourceOptions, 'archives' | 'limits' | 'onSkip' | 'engine'> {
  /** A folder inside the repository (default: the working directory). */
  repo?: string;
  /** Only commits more recent than this (any date git understands: `2024-01-01`, `2 weeks ago`). */
  since?: string;
  /** Revisions to walk instead of all refs, e.g. `['abc123..def456']` or `['HEAD', '--not', '--remotes=origin']`. */
  revs?: readonly string[];
  includeInfo?: boolean;
  stats?: SourceStats;
  /** Called once per commit read, for progress. */
  onCommit?: () => void;
}

/** Flush the text collected for one file of one commit once it reaches this size. */
const BATCH_CHARS = 1024 * 1024;
const GIT_MAX_STDERR = 64 * 1024;
const COMMIT_MARK = '\u0000'; // git prints it for %x00 (an argument cannot hold a NUL)

const REV_OPTIONS = /^--(not|all|branches(=.+)?|remotes(=.+)?|tags(=.+)?)$/;

/** Revision arguments reach git as arguments, never through a shell; still, no options but these. */
export function checkRevs(revs: readonly string[]): void {
  for (const r of revs) {
    if (r.startsWith('-') ? !REV_OPTIONS.test(r) : !/^[\w./~^@{}:=-]+$/.test(r))
      throw new SourceError('KW_USAGE', `'${r}' is not a revision keyward passes to git`, {
        hint: 'give revisions and ranges such as main, abc123..def456, or --not --remotes=origin',
      });
  }
}

function runGit(args: readonly string[], cwd: string): ChildProcessWithoutNullStreams {
  return spawn('git', ['-c', 'core.quotepath=off', '-c', 'color.ui=false', ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a short git command and returns its stdout; a failure becomes a KW_GIT error. */
export async function gitOutput(args: readonly string[], cwd: string): Promise<string> {
  const child = runGit(args, cwd);
  child.stdin.end();
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(0, GIT_MAX_STDERR)));
  const code = await exitCode(child);
  if (code !== 0) throw gitFailed(args, err);
  return out;
}

function exitCode(child: ChildProcessWithoutNullStreams): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new SourceError('KW_GIT', 'git is not installed', { hint: 'install git (apt-get install git), or scan files without --git/--staged' })
          : new SourceError('KW_GIT', `cannot run git: ${e.message}`, { cause: e }),
      ),
    );
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function gitFailed(args: readonly string[], stderr: string): SourceError {
  const first = stderr.trim().split('\n')[0] ?? '';
  if (/not a git repository/i.test(first))
    return new SourceError('KW_GIT', 'not inside a git repository', { hint: 'run in a git repository, or scan the files without --git/--staged' });
  return new SourceError('KW_GIT', `git ${args[0] ?? ''} failed: ${first || 'no message'}`, { hint: 'check that the repository and the revisions exist' });
}

/** Fails with a clear KW_GIT error unless `dir` is inside a git work tree. */
export async function assertRepository(dir: string): Promise<string> {
  return (await gitOutput(['rev-parse', '--show-toplevel'], dir)).trim();
}

/**
 * Git reads any text as a date and falls back to "now" for what it cannot read, which would turn
 * `--since garbage` into a scan of nothing. Ask git how it reads the date and refuse that case.
 */
export async function checkSince(since: string, cwd: string): Promise<void> {
  const out = await gitOutput(['rev-parse', `--since=${since}`], cwd);
  const seconds = Number(/--max-age=(\d+)/.exec(out)?.[1]);
  const understood = Number.isFinite(seconds) && (seconds < Date.now() / 1000 - 2 || /\bnow\b/i.test(since));
  if (!understood)
    throw new SourceError('KW_USAGE', `git does not understand the date '${since}'`, { hint: "give a date such as 2024-01-31 or '2 weeks ago'" });
}

export async function countCommits(options: GitSourceOptions): Promise<number> {
  const args = ['rev-list', '--count', ...(options.since ? [`--since=${options.since}`] : []), ...(options.revs ?? ['--all'])];
  if (options.revs) checkRevs(options.revs);
  const out = await gitOutput(args, options.repo ?? '.');
  return Number.parseInt(out.trim(), 10) || 0;
}

/** Git's C-style quoting of unusual paths (`"b/tab\there"`), undone. */
export function unquotePath(p: string): string {
  if (!p.startsWith('"') || !p.endsWith('"')) return p;
  const bytes: number[] = [];
  const body = p.slice(1, -1);
  const ESC: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(ESC[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function stripPrefix(p: string): string | undefined {
  const path = unquotePath(p);
  if (path === '/dev/null') return undefined;
  return path.startsWith('b/') ? path.slice(2) : path;
}

/** Lines of a child's stdout, split on `\n` only (a lone `\r` inside a line is content). */
async function* lines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const p of parts) yield p.endsWith('\r') ? p.slice(0, -1) : p;
  }
  rest += decoder.end();
  if (rest) yield rest;
}

interface Batch {
  file?: string;
  lines: string[];
  lineNos: number[];
  chars: number;
}

/**
 * Parses a unified diff with `-U0` (as `git log -p` or `git diff --cached` print it) and scans the
 * added lines of each file in batches. Hunk headers give the new line numbers; the hunk's counts say
 * where it ends, so an added line that itself reads `+++ b/x` cannot be mistaken for a header.
 */
/** A binary file added or changed by a commit: the diff names it, its blob holds the content. */
export interface BinaryChange {
  blob: string;
  file: string;
  commit?: string;
  date?: string;
}

const BINARY_LINE = /^Binary files (.+) and (.+) differ$/;
/** Media and fonts: no key lives in them, and history can hold gigabytes of them, so their blobs are not read. */
const MEDIA = /\.(png|jpe?g|gif|webp|avif|ico|icns|bmp|tiff?|heic|psd|mp[34]|m4a|aac|mov|avi|mkv|webm|wav|ogg|flac|woff2?|ttf|otf|eot)$/i;
const NULL_BLOB = /^0+$/;

async function* scanDiff(source: AsyncIterable<string>, options: GitSourceOptions, binaries: BinaryChange[]): AsyncGenerator<SourceMatch> {
  let commit: string | undefined;
  let blob: string | undefined;
  let date: string | undefined;
  let batch: Batch = { lines: [], lineNos: [], chars: 0 };
  let newLine = 0;
  let removedLeft = 0;
  let addedLeft = 0;

  function* flush(): Generator<SourceMatch> {
    if (batch.file !== undefined && batch.lines.length > 0) {
      const lineNos = batch.lineNos;
      for (const m of scanText(batch.lines.join('\n'), { path: batch.file, includeInfo: options.includeInfo, engine: options.engine })) {
        yield { match: { ...m, line: lineNos[m.line - 1] ?? m.line }, file: batch.file, commit, date };
      }
    }
    batch = { file: batch.file, lines: [], lineNos: [], chars: 0 };
  }

  for await (const line of source) {
    if (removedLeft > 0 || addedLeft > 0) {
      const c = line[0];
      if (c === '+' && addedLeft > 0) {
        addedLeft--;
        batch.lines.push(line.slice(1));
        batch.lineNos.push(newLine++);
        batch.chars += line.length;
        if (batch.chars >= BATCH_CHARS) yield* flush();
        continue;
      }
      if (c === '-' && removedLeft > 0) {
        removedLeft--;
        continue;
      }
      if (c === '\\') continue; // "\ No newline at end of file"
      removedLeft = addedLeft = 0; // counts disagree with the text: fall back to header parsing
    }
    if (line.startsWith(COMMIT_MARK)) {
      yield* flush();
      const [hash, when] = line.slice(1).split(' ');
      commit = hash;
      date = when;
      batch.file = undefined;
      if (options.stats) options.stats.commits++;
      options.onCommit?.();
    } else if (line.startsWith('diff --git ')) {
      yield* flush();
      batch.file = undefined;
      blob = undefined;
    } else if (line.startsWith('index ')) {
      blob = /^index [0-9a-f]+\.\.([0-9a-f]+)/.exec(line)?.[1];
    } else if (line.startsWith('Binary files ')) {
      const b = BINARY_LINE.exec(line);
      const file = b ? stripPrefix(b[2]!) : undefined;
      if (file !== undefined && blob !== undefined && !NULL_BLOB.test(blob)) binaries.push({ blob, file, commit, date });
    } else if (line.startsWith('+++ ')) {
      // Git ends a name holding spaces with a tab, for patch(1).
      batch.file = stripPrefix(line.slice(4).replace(/\t$/, ''));
    } else if (line.startsWith('@@ ')) {
      const h = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      if (h) {
        removedLeft = h[1] === undefined ? 1 : Number(h[1]);
        newLine = Number(h[2]);
        addedLeft = h[3] === undefined ? 1 : Number(h[3]);
      }
    }
  }
  yield* flush();
}

async function* streamGit(args: readonly string[], cwd: string, options: GitSourceOptions): AsyncGenerator<SourceMatch> {
  const child = runGit(args, cwd);
  child.stdin.end();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(0, GIT_MAX_STDERR)));
  const done = exitCode(child);
  const binaries: BinaryChange[] = [];
  let finished = false;
  try {
    yield* scanDiff(lines(child.stdout), options, binaries);
    finished = true;
  } finally {
    if (!finished) child.kill();
  }
  const code = await done;
  if (code !== 0) throw gitFailed(args, stderr);
  yield* scanBinaries(binaries, cwd, options);
}

/** The binary files of the diff, read from git and scanned like files: archives opened, strings read. */
async function* scanBinaries(binaries: readonly BinaryChange[], cwd: string, options: GitSourceOptions): AsyncGenerator<SourceMatch> {
  const ctx = contentContext({ includeInfo: options.includeInfo, archives: options.archives, limits: options.limits, stats: options.stats, onSkip: options.onSkip, engine: options.engine });
  const wanted = binaries.filter((c) => {
    if (!MEDIA.test(c.file)) return true;
    ctx.stats.skipped.binary++;
    ctx.onSkip(c.file, 'binary');
    return false;
  });
  if (wanted.length === 0) return;
  const maxBytes = options.limits?.maxArchiveBytes ?? DEFAULT_ARCHIVE_LIMITS.maxArchiveBytes;
  let i = 0;
  for await (const b of readBlobs(cwd, wanted.map((c) => c.blob), maxBytes)) {
    const change = wanted[i++]!;
    if (!b.data) {
      if (b.size > 0) options.onSkip?.(change.file, 'unreadable', `larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
      continue;
    }
    for await (const m of scanBytes(change.file, b.data, ctx)) yield { ...m, commit: change.commit, date: change.date };
  }
}

// --full-index: binary files are named with their full blob id, which is how their content is read.
const DIFF_FLAGS = ['-p', '-U0', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv'];

/** Every commit's added lines, newest first, on all branches (or on `revs`). */
export async function* scanGitHistory(options: GitSourceOptions = {}): AsyncGenerator<SourceMatch> {
  const cwd = options.repo ?? '.';
  await assertRepository(cwd);
  if (options.revs) checkRevs(options.revs);
  if (options.since !== undefined) await checkSince(options.since, cwd);
  const args = ['log', ...DIFF_FLAGS, '--format=%x00%H %aI', ...(options.since ? [`--since=${options.since}`] : []), ...(options.revs ?? ['--all']), '--'];
  yield* streamGit(args, cwd, options);
}

/** The lines added by the changes staged for commit (what a pre-commit hook must check). */
export async function* scanGitStaged(options: GitSourceOptions = {}): AsyncGenerator<SourceMatch> {
  const cwd = options.repo ?? '.';
  await assertRepository(cwd);
  yield* streamGit(['diff', '--cached', ...DIFF_FLAGS, '--diff-filter=d', '--'], cwd, options);
}
