/**
 * Fixture projects for the audit tests, built in a temporary folder by each test: files with
 * modes, a real git repository with commits at chosen dates, and example keys built from parts at
 * run time (never written whole in the repository).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

export { fakeAnthropicKey as anthropicKey, fakeOpenAiKey as openaiKey, randomChars } from '../helpers/fake-keys.js';

export interface FileSpec {
  content: string;
  /** File mode, e.g. 0o600. Default 0o644 (umask permitting). */
  mode?: number;
  /** Modification time. */
  mtime?: Date;
}

export class Project {
  readonly dir: string;

  constructor(files: Record<string, string | FileSpec> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'keyward-audit-'));
    this.write(files);
  }

  write(files: Record<string, string | FileSpec>): this {
    for (const [path, spec] of Object.entries(files)) {
      const s = typeof spec === 'string' ? { content: spec } : spec;
      const abs = join(this.dir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, s.content);
      chmodSync(abs, s.mode ?? 0o644);
      if (s.mtime) utimesSync(abs, s.mtime, s.mtime);
    }
    return this;
  }

  path(p = ''): string {
    return join(this.dir, p);
  }

  /** Runs git in the project; `date` sets author and committer date (for commits made "long ago"). */
  git(args: string[], date?: Date): string {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 'Ada Dev', GIT_AUTHOR_EMAIL: 'ada@example.test', GIT_COMMITTER_NAME: 'Ada Dev', GIT_COMMITTER_EMAIL: 'ada@example.test' };
    if (date) env.GIT_AUTHOR_DATE = env.GIT_COMMITTER_DATE = date.toISOString();
    return execFileSync('git', args, { cwd: this.dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  gitInit(): this {
    this.git(['init', '-q', '-b', 'main']);
    this.git(['config', 'commit.gpgsign', 'false']);
    return this;
  }

  /** `git add` the paths (all when none) and commit; returns the commit hash. */
  commit(message: string, date?: Date, paths: string[] = ['-A']): string {
    this.git(['add', ...paths]);
    this.git(['commit', '-q', '-m', message], date);
    return this.git(['rev-parse', 'HEAD']).trim();
  }

  remove(): void {
    // Some tests take permissions away from the folder: give them back so it can be deleted.
    try {
      chmodSync(this.dir, 0o755);
    } catch {
      return; // already removed
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Returns a maker of fixture projects, each removed after the test that made it. */
export function projectsForEachTest(): (files?: ConstructorParameters<typeof Project>[0]) => Project {
  const made: Project[] = [];
  afterEach(() => {
    while (made.length) made.pop()!.remove();
  });
  return (files = {}) => {
    const p = new Project(files);
    made.push(p);
    return p;
  };
}

export const DAY = 86_400_000;

export function daysAgo(n: number, from = new Date()): Date {
  return new Date(from.getTime() - n * DAY);
}
