/**
 * What git knows about the project: which files it tracks, which `.env` files were ever
 * committed (and by which commit), and when a variable's line last changed. Asks the `git`
 * program, so that every repository layout git understands (worktrees, submodules) works.
 */
import { execFile } from 'node:child_process';

export interface EnvCommit {
  /** POSIX path relative to the project root. */
  path: string;
  commit: string;
  /** ISO author date. */
  date: string;
  author: string;
  subject: string;
}

export interface AddedLines {
  commit: string;
  date: string;
  /** The added lines joined with newlines, and the line number each has in the file at that commit. */
  text: string;
  lineNumbers: number[];
}

export interface GitFacts {
  /** Files tracked now, relative to the project root. */
  tracked: ReadonlySet<string>;
  /** Every commit (on any ref) that added a `.env`-like file (or renamed or copied one into place), oldest first. */
  envAdds: readonly EnvCommit[];
  /** Every version of a file on any ref: the lines each commit added, oldest first. */
  addedLines(path: string): Promise<AddedLines[]>;
  /** The last commit on HEAD that wrote an assignment of `name` in `path`, with the line it wrote. */
  lastChange(path: string, name: string): Promise<{ commit: string; date: string; line: string } | undefined>;
}

export interface GitRun {
  ok: boolean;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

export function git(cwd: string, args: string[]): Promise<GitRun> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: !err, stdout, stderr, missing });
    });
  });
}

const ENV_PATHSPECS = [':(glob)**/.env', ':(glob)**/.env.*'];

/**
 * Git facts for the project at `root`, or undefined when it is not inside a git work tree.
 * Problems that do not stop the audit (git missing, an unsafe repository) go to `warn`.
 */
export async function gatherGit(root: string, warn: (m: string) => void): Promise<GitFacts | undefined> {
  const inside = await git(root, ['rev-parse', '--is-inside-work-tree']);
  if (inside.missing) {
    warn('git is not installed: the checks of tracked and committed .env files and key age from history were skipped');
    return undefined;
  }
  if (!inside.ok || inside.stdout.trim() !== 'true') {
    if (/dubious ownership|safe\.directory/.test(inside.stderr)) {
      warn(`git refuses to read this repository (it belongs to another user); git checks skipped. Run: git config --global --add safe.directory ${root}`);
    }
    return undefined;
  }
  const listed = await git(root, ['ls-files', '-z', '--full-name', '--', '.']);
  const prefix = (await git(root, ['rev-parse', '--show-prefix'])).stdout.trim();
  const tracked = new Set<string>();
  for (const p of listed.stdout.split('\0')) {
    if (!p) continue;
    // --full-name gives repository paths; keep those under the project root, relative to it.
    if (prefix && !p.startsWith(prefix)) continue;
    tracked.add(p.slice(prefix.length));
  }

  const envAdds: EnvCommit[] = [];
  const log = await git(root, ['log', '--all', '--reverse', '--diff-filter=ACR', '--relative', '--name-only', '--format=%x01%H%x09%aI%x09%an%x09%s', '--', ...ENV_PATHSPECS]);
  // A repository without commits answers with an error here: nothing was ever committed.
  if (log.ok) {
    let current: Omit<EnvCommit, 'path'> | undefined;
    for (const line of log.stdout.split('\n')) {
      if (line.startsWith('\x01')) {
        const [commit = '', date = '', author = '', subject = ''] = line.slice(1).split('\t');
        current = { commit, date, author, subject };
      } else if (line && current) {
        envAdds.push({ path: unquote(line), ...current });
      }
    }
  }

  return {
    tracked,
    envAdds,
    async addedLines(path) {
      const r = await git(root, ['log', '--all', '--reverse', '--format=%x01%H%x09%aI', '-p', '--unified=0', '--no-color', '--no-ext-diff', '--', path]);
      if (!r.ok) return [];
      const out: AddedLines[] = [];
      let current: AddedLines | undefined;
      let next = 0;
      for (const line of r.stdout.split('\n')) {
        if (line.startsWith('\x01')) {
          const [commit = '', date = ''] = line.slice(1).split('\t');
          current = { commit, date, text: '', lineNumbers: [] };
          out.push(current);
        } else if (line.startsWith('@@')) {
          next = Number(/\+(\d+)/.exec(line)?.[1] ?? 0);
        } else if (current && line.startsWith('+') && !line.startsWith('+++')) {
          current.text += (current.lineNumbers.length ? '\n' : '') + line.slice(1);
          current.lineNumbers.push(next++);
        }
      }
      return out.filter((v) => v.lineNumbers.length > 0);
    },
    async lastChange(path, name) {
      const escaped = name.replace(/[.[\]\\*^$()+?{}|]/g, '\\$&');
      const r = await git(root, ['log', '--format=%x01%H%x09%aI', '-p', '--unified=0', '--no-color', '--no-ext-diff', '-G', `^[[:space:]]*(export[[:space:]]+)?${escaped}[[:space:]]*=`, '--', path]);
      if (!r.ok) return undefined;
      const assignment = new RegExp(`^\\+\\s*(?:export\\s+)?${escaped}\\s*=(.*)$`);
      // Newest first: the first commit whose diff adds the assignment is when its value was put in.
      let current: { commit: string; date: string } | undefined;
      for (const line of r.stdout.split('\n')) {
        if (line.startsWith('\x01')) {
          const [commit = '', date = ''] = line.slice(1).split('\t');
          current = { commit, date };
          continue;
        }
        const m = current && !line.startsWith('+++') ? assignment.exec(line) : null;
        if (m && current) return { ...current, line: line.slice(1) };
      }
      return undefined;
    },
  };
}

/** git quotes unusual path names ("a\tb"); undo the common escapes. */
function unquote(p: string): string {
  if (!p.startsWith('"') || !p.endsWith('"')) return p;
  return p.slice(1, -1).replace(/\\(["\\tn])/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c));
}
