/** A throwaway git repository in a temp folder, with a fixed identity so commits work anywhere. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempRepo {
  dir: string;
  git(...args: string[]): string;
  write(rel: string, text: string): void;
  /** Writes the files, stages them and commits; returns the new commit's hash. */
  commit(message: string, files?: Record<string, string>, date?: string): string;
  remove(): void;
}

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function tempRepo(prefix = 'kw-repo-'): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  return {
    dir,
    git,
    write,
    commit(message, files = {}, date) {
      for (const [rel, text] of Object.entries(files)) write(rel, text);
      git('add', '-A');
      const env = date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {};
      execFileSync('git', ['commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env: { ...process.env, ...GIT_ENV, ...env } });
      return git('rev-parse', 'HEAD').trim();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
