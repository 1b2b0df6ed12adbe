/**
 * The git hooks `keyward secrets install-hook` writes, exercised with real `git commit` and
 * `git push` in temp repositories.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runKeyward } from './helpers/cli.js';
import { fakeOpenAiKey } from './helpers/fake-keys.js';
import { GIT_ENV, tempRepo, type TempRepo } from './helpers/git-repo.js';
import { requireProgram } from './helpers/programs.js';

function gitTry(repo: TempRepo, ...args: string[]): { code: number; out: string } {
  const r = spawnSync('git', args, { cwd: repo.dir, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!requireProgram('git', 'git'))('keyward secrets install-hook', () => {
  let repo: TempRepo;
  beforeEach(() => {
    repo = tempRepo('kw-hook-');
    repo.commit('init', { 'README.md': '# demo\n' });
  });
  afterEach(() => repo.remove());

  it('installs a pre-commit hook that blocks a commit adding a key and says how to remove it', async () => {
    const installed = await runKeyward(['secrets', 'install-hook'], { cwd: repo.dir });
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain('pre-commit');
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    expect(statSync(hook).mode & 0o111).not.toBe(0);

    const key = fakeOpenAiKey();
    repo.write('src/ai.ts', `export const client = new OpenAI({ apiKey: '${key}' });\n`);
    repo.git('add', 'src/ai.ts');
    const blocked = gitTry(repo, 'commit', '-m', 'add ai client');
    expect(blocked.code).not.toBe(0);
    expect(blocked.out).toContain('commit blocked, the staged changes add 1 secret: 1 critical.');
    expect(blocked.out).toContain('src/ai.ts:1:');
    expect(blocked.out).toContain(`sk-proj-…${key.slice(-4)}`);
    expect(blocked.out).toContain('remove each key from the file');
    expect(blocked.out).not.toContain(key);
    expect(repo.git('rev-list', '--count', 'HEAD').trim()).toBe('1');

    repo.write('src/ai.ts', 'export const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });\n');
    repo.git('add', 'src/ai.ts');
    expect(gitTry(repo, 'commit', '-m', 'add ai client').code).toBe(0);
    expect(repo.git('rev-list', '--count', 'HEAD').trim()).toBe('2');
  });

  it('lets a commit through once its finding is in .keyward-baseline.json', async () => {
    await runKeyward(['secrets', 'install-hook'], { cwd: repo.dir });
    repo.write('test/fixture.env', `OPENAI_API_KEY=${fakeOpenAiKey()}\n`);
    repo.git('add', 'test/fixture.env');
    expect(gitTry(repo, 'commit', '-m', 'fixture').code).not.toBe(0);
    const accepted = await runKeyward(['secrets', '--staged', '--write-baseline', '.keyward-baseline.json'], { cwd: repo.dir });
    expect(accepted.code).toBe(0);
    repo.git('add', '.keyward-baseline.json');
    const ok = gitTry(repo, 'commit', '-m', 'fixture');
    expect(ok.out).not.toContain('blocked');
    expect(ok.code).toBe(0);
  });

  it('installs a pre-push hook that blocks pushing commits that add a key', async () => {
    const remote = mkdtempSync(join(tmpdir(), 'kw-remote-'));
    try {
      spawnSync('git', ['init', '-q', '--bare', remote]);
      repo.git('remote', 'add', 'origin', remote);
      expect(gitTry(repo, 'push', '-q', 'origin', 'main').code).toBe(0);
      expect((await runKeyward(['secrets', 'install-hook', '--pre-push'], { cwd: repo.dir })).code).toBe(0);

      repo.commit('clean change', { 'a.txt': 'a\n' });
      expect(gitTry(repo, 'push', '-q', 'origin', 'main').code).toBe(0);

      const key = fakeOpenAiKey();
      repo.commit('oops', { 'deploy/.env.prod': `OPENAI_API_KEY=${key}\n` });
      const blocked = gitTry(repo, 'push', 'origin', 'main');
      expect(blocked.code).not.toBe(0);
      expect(blocked.out).toContain('push blocked, the commits being pushed add 1 secret: 1 critical.');
      expect(blocked.out).toContain('deploy/.env.prod:1:16');
      expect(blocked.out).not.toContain(key);

      repo.git('checkout', '-q', '-b', 'topic');
      const newBranch = gitTry(repo, 'push', 'origin', 'topic');
      expect(newBranch.code).not.toBe(0);
      expect(newBranch.out).toContain('push blocked');

      // A force push over a remote commit this clone never fetched: the hook cannot diff from the
      // remote's tip, falls back to what no remote-tracking branch holds, and lets a clean push through.
      const other = tempRepo('kw-other-');
      try {
        other.git('remote', 'add', 'origin', remote);
        other.git('fetch', '-q', 'origin');
        other.git('reset', '-q', '--hard', 'origin/main');
        other.commit('elsewhere', { 'b.txt': 'b\n' });
        other.git('push', '-q', 'origin', 'main');
      } finally {
        other.remove();
      }
      repo.git('checkout', '-q', 'main');
      repo.git('reset', '-q', '--hard', 'HEAD~1');
      repo.commit('clean rewrite', { 'c.txt': 'c\n' });
      const forced = gitTry(repo, 'push', '--force', 'origin', 'main');
      expect(forced.out).not.toContain('blocked');
      expect(forced.code).toBe(0);
    } finally {
      rmSync(remote, { recursive: true, force: true });
    }
  });

  it('does not overwrite a hook it did not write, unless --force', async () => {
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const refused = await runKeyward(['secrets', 'install-hook'], { cwd: repo.dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('a pre-commit hook already exists');
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(hook, 'utf8')).toContain('echo mine');
    expect((await runKeyward(['secrets', 'install-hook', '--force'], { cwd: repo.dir })).code).toBe(0);
    expect(readFileSync(hook, 'utf8')).toContain('keyward secrets --staged');
    // Reinstalling over its own hook needs no --force.
    expect((await runKeyward(['secrets', 'install-hook'], { cwd: repo.dir })).code).toBe(0);
  });

  it('refuses outside a git repository', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'kw-plain-'));
    try {
      const r = await runKeyward(['secrets', 'install-hook'], { cwd: plain });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('not inside a git repository');
      expect(existsSync(join(plain, '.git'))).toBe(false);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
