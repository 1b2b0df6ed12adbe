/**
 * Walks a project tree the way git sees it: `.gitignore` files (at every level, and those of the
 * enclosing repository above the root) and `.git/info/exclude` are honoured with the `ignore`
 * package. `keyward secrets` and `keyward audit` both walk with this.
 */
import type { Dirent } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';

export interface WalkOptions {
  /** Honour .gitignore files (default true). `false` is `--no-ignore`: every file is yielded. */
  gitignore?: boolean;
  /**
   * Also yield git-ignored files, flagged `ignored: true`, and descend into ignored folders (the
   * audit checks build output and `.env` files that git ignores). Default false.
   */
  includeIgnored?: boolean;
  /** Folder names never entered, at any depth (default `['.git']`). */
  skipDirs?: readonly string[];
  /** Called for entries that cannot be read (permission, vanished); the walk goes on. */
  onError?: (path: string, error: NodeJS.ErrnoException) => void;
}

export interface WalkEntry {
  /** Absolute path. */
  path: string;
  /** Path relative to the root, with `/` separators. */
  relPath: string;
  size: number;
  /** True when a .gitignore rule excludes it (only yielded with `includeIgnored`). */
  ignored: boolean;
}

interface Rules {
  /** Folder (absolute) the patterns are relative to. */
  base: string;
  ig: Ignore;
}

async function readIgnoreFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The rules of the enclosing repository that apply above `root` (and its info/exclude), outermost first. */
async function ancestorRules(root: string): Promise<Rules[]> {
  let top: string | undefined;
  for (let d = root; ; d = dirname(d)) {
    if (await exists(join(d, '.git'))) {
      top = d;
      break;
    }
    if (dirname(d) === d) break;
  }
  if (top === undefined) return []; // not inside a repository: only the tree's own .gitignore files count
  const rules: Rules[] = [];
  const exclude = await readIgnoreFile(join(top, '.git', 'info', 'exclude'));
  if (exclude) rules.push({ base: top, ig: ignore().add(exclude) });
  const above: string[] = [];
  for (let d = dirname(root); root !== top && d.length >= top.length; d = dirname(d)) {
    above.unshift(d);
    if (d === top) break;
  }
  for (const d of above) {
    const text = await readIgnoreFile(join(d, '.gitignore'));
    if (text) rules.push({ base: d, ig: ignore().add(text) });
  }
  return rules;
}

function isIgnored(rules: readonly Rules[], abs: string, isDir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    // Every rule's base is an ancestor of `abs` (rules are collected on the way down), so slicing is enough.
    if (abs.length <= r.base.length || !abs.startsWith(r.base)) continue;
    let rel = abs.slice(r.base.length + 1);
    if (sep !== '/') rel = rel.split(sep).join('/');
    const t = r.ig.test(isDir ? `${rel}/` : rel);
    // A deeper .gitignore can re-include (`!pattern`) what a shallower one excluded.
    if (t.ignored) ignored = true;
    else if (t.unignored) ignored = false;
  }
  return ignored;
}

/** Yields every regular file under `root` (or `root` itself when it is a file), in a stable order. */
export async function* walkFiles(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const useIgnore = options.gitignore ?? true;
  const skipDirs = new Set(options.skipDirs ?? ['.git']);
  const absRoot = resolve(root);
  const rootStat = await stat(absRoot);
  if (rootStat.isFile()) {
    yield { path: absRoot, relPath: absRoot.split(sep).pop()!, size: rootStat.size, ignored: false };
    return;
  }
  let baseRules = useIgnore ? await ancestorRules(absRoot) : [];
  // A folder named explicitly is walked even when the repository ignores it (as ripgrep does).
  if (isIgnored(baseRules, absRoot, true)) baseRules = [];

  async function* walk(dir: string, rules: Rules[], parentIgnored: boolean): AsyncGenerator<WalkEntry> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      options.onError?.(dir, e as NodeJS.ErrnoException);
      return;
    }
    let here = rules;
    if (useIgnore && entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      const text = await readIgnoreFile(join(dir, '.gitignore'));
      if (text) here = [...rules, { base: dir, ig: ignore().add(text) }];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Decide what to keep, then stat the kept files of this folder together (one await, not one per file).
    const files: { abs: string; ignored: boolean }[] = [];
    const dirs: { abs: string; ignored: boolean }[] = [];
    for (const e of entries) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (skipDirs.has(e.name)) continue;
        const ignored = parentIgnored || (useIgnore && isIgnored(here, abs, true));
        if (!ignored || options.includeIgnored) dirs.push({ abs, ignored });
      } else if (e.isFile()) {
        const ignored = parentIgnored || (useIgnore && isIgnored(here, abs, false));
        if (!ignored || options.includeIgnored) files.push({ abs, ignored });
      }
      // Symbolic links are not followed: they may point out of the tree or loop.
    }
    const sizes = await Promise.all(
      files.map(({ abs }) =>
        stat(abs).then(
          (st) => st.size,
          (err: NodeJS.ErrnoException) => (options.onError?.(abs, err), -1),
        ),
      ),
    );
    // Files first, then subfolders, each in name order: a stable order for reports and tests.
    for (let i = 0; i < files.length; i++) {
      const size = sizes[i]!;
      if (size < 0) continue;
      const { abs, ignored } = files[i]!;
      yield { path: abs, relPath: relative(absRoot, abs).split(sep).join('/'), size, ignored };
    }
    for (const d of dirs) yield* walk(d.abs, here, d.ignored);
  }
  yield* walk(absRoot, baseRules, false);
}
