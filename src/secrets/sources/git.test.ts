import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeAnthropicKey, fakeOpenAiKey } from '../../../test/helpers/fake-keys.js';
import { tempRepo, type TempRepo } from '../../../test/helpers/git-repo.js';
import { requireProgram } from '../../../test/helpers/programs.js';
import { checkRevs, countCommits, scanGitHistory, scanGitStaged, unquotePath, type GitSourceOptions } from './git.js';
import { newStats, type SourceMatch } from './types.js';

async function all(gen: AsyncGenerator<SourceMatch>): Promise<SourceMatch[]> {
  const out: SourceMatch[] = [];
  for await (const m of gen) out.push(m);
  return out;
}

const history = (o: GitSourceOptions): Promise<SourceMatch[]> => all(scanGitHistory(o));

describe.skipIf(!requireProgram('git', 'git'))('git history and staged changes', () => {
  let repo: TempRepo;
  beforeEach(() => {
    repo = tempRepo();
  });
  afterEach(() => repo.remove());

  it('finds a key added in an old commit and since deleted, with its commit, author date, path and line', async () => {
    const key = fakeOpenAiKey();
    repo.commit('init', { 'README.md': '# demo\n' }, '2023-01-02T10:00:00Z');
    const leak = repo.commit('add config', { 'src/config.js': `const a = 1;\nconst b = 2;\nexport const key = "${key}";\n` }, '2023-03-04T05:06:07Z');
    repo.commit('remove key', { 'src/config.js': 'export const key = process.env.OPENAI_API_KEY;\n' }, '2023-05-01T00:00:00Z');
    const found = await history({ repo: repo.dir });
    expect(found.map((m) => ({ file: m.file, commit: m.commit, line: m.match.line, column: m.match.column }))).toEqual([
      { file: 'src/config.js', commit: leak, line: 3, column: 21 },
    ]);
    expect(found[0]!.date).toMatch(/^2023-03-04T05:06:07/);
  });

  it('scans every branch, not only the current one', async () => {
    repo.commit('init', { 'a.txt': 'a\n' });
    repo.git('checkout', '-q', '-b', 'feature');
    const onBranch = repo.commit('wip', { 'b.env': `ANTHROPIC_API_KEY=${fakeAnthropicKey()}\n` });
    repo.git('checkout', '-q', 'main');
    const found = await history({ repo: repo.dir });
    expect(found.map((m) => m.commit)).toEqual([onBranch]);
  });

  it('limits the walk with since and with revisions', async () => {
    repo.commit('old', { 'old.env': `K=${fakeOpenAiKey()}\n` }, '2020-01-01T00:00:00Z');
    const base = repo.commit('middle', { 'x.txt': 'x\n' }, '2024-01-01T00:00:00Z');
    const recent = repo.commit('new', { 'new.env': `K=${fakeOpenAiKey()}\n` }, '2024-06-01T00:00:00Z');
    expect((await history({ repo: repo.dir, since: '2023-01-01' })).map((m) => m.commit)).toEqual([recent]);
    expect((await history({ repo: repo.dir, revs: [`${base}..HEAD`] })).map((m) => m.commit)).toEqual([recent]);
    expect(await countCommits({ repo: repo.dir })).toBe(3);
    expect(await countCommits({ repo: repo.dir, since: '2023-01-01' })).toBe(2);
    expect((await history({ repo: repo.dir, since: '3 years ago' })).length).toBeGreaterThanOrEqual(1);
    await expect(history({ repo: repo.dir, since: 'garbage' })).rejects.toMatchObject({ code: 'KW_USAGE', message: expect.stringMatching(/does not understand the date/) });
  });

  it('keeps line numbers exact across several hunks, and does not mistake an added "+++" line for a header', async () => {
    const body = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    repo.commit('init', { 'f.txt': body.join('\n') + '\n' });
    const key = fakeOpenAiKey();
    const next = [...body];
    next[4] = '++ b/not-a-header';
    next[24] = `token: ${key}`;
    repo.commit('edit', { 'f.txt': next.join('\n') + '\n' });
    const found = await history({ repo: repo.dir });
    expect(found.map((m) => [m.file, m.match.line, m.match.column])).toEqual([['f.txt', 25, 8]]);
  });

  it('reads paths that git quotes (spaces, tabs, non-ASCII)', async () => {
    repo.commit('odd names', { 'dir with space/naïve\tname.env': `K=${fakeOpenAiKey()}\n` });
    const found = await history({ repo: repo.dir });
    expect(found.map((m) => m.file)).toEqual(['dir with space/naïve\tname.env']);
  });

  it('opens binary files a commit adds (an APK) by reading their blobs, and skips images', async () => {
    const apk = Buffer.from(zipSync({ 'assets/config.json': strToU8(`{"key":"${fakeOpenAiKey()}"}`) }));
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), Buffer.from(fakeOpenAiKey())]);
    repo.commit('init', { 'README.md': 'x\n' });
    writeFileSync(join(repo.dir, 'logo.png'), png);
    writeFileSync(join(repo.dir, 'release.apk'), apk);
    const added = repo.commit('ship release');
    const stats = newStats();
    const found = await history({ repo: repo.dir, stats });
    expect(found.map((m) => [m.file, m.commit])).toEqual([['release.apk!/assets/config.json', added]]);
    expect(stats.skipped.binary).toBe(1);

    // A blob over the size limit is read past (and reported), and the blobs after it still line up.
    writeFileSync(join(repo.dir, 'big.bin'), Buffer.concat([Buffer.from([0, 1, 2, 3]), Buffer.alloc(2 * 1024 * 1024, 7)]));
    repo.commit('add a big binary');
    const skipped: string[] = [];
    const limited = await history({ repo: repo.dir, limits: { maxArchiveBytes: 1024 * 1024 }, onSkip: (f, r, d) => r === 'unreadable' && skipped.push(`${f}: ${d}`) });
    expect(limited.map((m) => m.file)).toEqual(['release.apk!/assets/config.json']);
    expect(skipped).toEqual(['big.bin: larger than 1 MiB']);

    writeFileSync(join(repo.dir, 'next.apk'), apk);
    repo.git('add', 'next.apk');
    expect((await all(scanGitStaged({ repo: repo.dir }))).map((m) => m.file)).toEqual(['next.apk!/assets/config.json']);
  });

  it('scans only the staged changes with scanGitStaged', async () => {
    repo.commit('init', { 'committed.env': `K=${fakeOpenAiKey()}\n` });
    repo.write('staged.env', `K=${fakeOpenAiKey()}\n`);
    repo.write('unstaged.env', `K=${fakeOpenAiKey()}\n`);
    repo.git('add', 'staged.env');
    const found = await all(scanGitStaged({ repo: repo.dir }));
    expect(found.map((m) => [m.file, m.commit])).toEqual([['staged.env', undefined]]);
  });

  it('finds staged keys in a repository with no commit yet', async () => {
    repo.write('first.env', `K=${fakeOpenAiKey()}\n`);
    repo.git('add', 'first.env');
    expect((await all(scanGitStaged({ repo: repo.dir }))).map((m) => m.file)).toEqual(['first.env']);
  });

  it('fails with KW_GIT outside a repository and for an unknown revision', async () => {
    await expect(history({ repo: '/' })).rejects.toMatchObject({ code: 'KW_GIT', message: 'not inside a git repository' });
    repo.commit('init', { 'a.txt': 'a\n' });
    await expect(history({ repo: repo.dir, revs: ['no-such-branch'] })).rejects.toMatchObject({ code: 'KW_GIT' });
  });
});

describe('git helpers', () => {
  it('undoes git path quoting', () => {
    expect(unquotePath('"b/a\\tb"')).toBe('b/a\tb');
    expect(unquotePath('"b/na\\303\\257ve"')).toBe('b/naïve');
    expect(unquotePath('b/plain')).toBe('b/plain');
  });

  it('refuses revision arguments that are git options', () => {
    expect(() => checkRevs(['--output=/tmp/x'])).toThrow(/not a revision/);
    expect(() => checkRevs(['abc..def', '--not', '--remotes=origin'])).not.toThrow();
  });
});
