/**
 * `keyward secrets install-hook [--pre-push] [--force]`: writes a git hook that runs
 * `keyward secrets --staged` before each commit (or `--git --revs <pushed commits>` before each
 * push) and blocks it when a key is being added. The hook calls this very installation of keyward
 * (node + dist/cli/main.js), falling back to a `keyward` on PATH.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { KeywardError } from '../errors.js';
import { assertRepository } from '../secrets/sources/index.js';
import { gitOutput } from '../secrets/sources/git.js';
import { BASELINE_FILE } from './secrets.js';

const MARKER = 'installed by `keyward secrets install-hook`';

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function locator(): string {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  return [
    `KEYWARD_NODE=${shQuote(process.execPath)}`,
    `KEYWARD_MAIN=${shQuote(main)}`,
    'keyward() {',
    '  if [ -f "$KEYWARD_MAIN" ] && [ -x "$KEYWARD_NODE" ]; then "$KEYWARD_NODE" "$KEYWARD_MAIN" "$@"',
    '  elif command -v keyward >/dev/null 2>&1; then command keyward "$@"',
    '  else',
    '    echo "keyward: the hook cannot find keyward (it was at $KEYWARD_MAIN)" >&2',
    '    echo "  hint: reinstall it with \'npx keyward secrets install-hook\', or skip this check once with --no-verify" >&2',
    '    return 2',
    '  fi',
    '}',
  ].join('\n');
}

export function preCommitScript(): string {
  return [
    '#!/bin/sh',
    `# keyward pre-commit hook: blocks a commit that adds an API key or another secret.`,
    `# ${MARKER}; delete this file to remove it.`,
    locator(),
    '# Hooks run at the top of the work tree, where keyward finds .keyward-baseline.json by itself.',
    'keyward secrets --staged --hook pre-commit',
    '',
  ].join('\n');
}

export function prePushScript(): string {
  return [
    '#!/bin/sh',
    `# keyward pre-push hook: blocks a push whose commits add an API key or another secret.`,
    `# ${MARKER} --pre-push; delete this file to remove it.`,
    locator(),
    'remote="$1"',
    'status=0',
    'while read -r local_ref local_sha remote_ref remote_sha; do',
    '  case "$local_sha" in *[!0]*) ;; *) continue ;; esac  # a branch being deleted adds nothing',
    '  # What the remote does not have yet: from its tip when we know that commit, else (a new branch,',
    '  # or a force push over commits never fetched) everything no remote-tracking branch holds.',
    '  if git cat-file -e "$remote_sha^{commit}" 2>/dev/null; then revs="$remote_sha..$local_sha"',
    '  else revs="$local_sha --not --remotes=$remote"',
    '  fi',
    '  keyward secrets --git --revs "$revs" --no-progress --hook pre-push </dev/null || status=1',
    'done',
    'exit $status',
    '',
  ].join('\n');
}

export async function installHook(options: { cwd?: string; prePush?: boolean; force?: boolean }): Promise<string> {
  const cwd = options.cwd ?? '.';
  await assertRepository(cwd);
  const hooksDir = resolve(cwd, (await gitOutput(['rev-parse', '--git-path', 'hooks'], cwd)).trim());
  const name = options.prePush ? 'pre-push' : 'pre-commit';
  const file = join(hooksDir, name);
  let existing: string | undefined;
  try {
    existing = await readFile(file, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing !== undefined && !existing.includes(MARKER) && !options.force)
    throw new KeywardError('KW_USAGE', `a ${name} hook already exists at ${relative(process.cwd(), file) || file}`, {
      hint: `add the line \`keyward secrets ${options.prePush ? '--git --revs <range>' : '--staged'} --hook ${name}\` to it yourself, or replace it with --force`,
    });
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, options.prePush ? prePushScript() : preCommitScript());
    await chmod(file, 0o755);
  } catch (e) {
    throw new KeywardError('KW_FILE', `cannot write the hook ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check the permissions of the hooks folder' });
  }
  return file;
}

export async function runInstallHook(argv: string[]): Promise<number> {
  const program = new Command('keyward secrets install-hook')
    .description('Install a git hook that blocks a commit (or, with --pre-push, a push) that adds a secret.')
    .option('--pre-push', 'install a pre-push hook instead of a pre-commit hook')
    .option('--force', 'replace an existing hook of the same name')
    .option('-C, --repo <dir>', 'the repository (default: the current folder)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let status = 0;
  program.action(async (o: { prePush?: boolean; force?: boolean; repo?: string }) => {
    const file = await installHook({ cwd: o.repo, prePush: o.prePush, force: o.force });
    const what = o.prePush ? 'pushes whose commits add' : 'commits that add';
    process.stdout.write(`keyward: installed ${file}: ${what} an API key or another secret are now blocked.\n`);
    process.stdout.write(`  Accepted findings go in ${BASELINE_FILE} at the repository's top (keyward secrets --write-baseline).\n`);
    status = 0;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help') return 0;
    throw e;
  }
  return status;
}
