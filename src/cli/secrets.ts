/**
 * `keyward secrets [paths…]`: find AI keys and other secrets in files, folders, stdin, archives and
 * app bundles, git history (`--git`) or staged changes (`--staged`); report them as text, JSON or
 * SARIF; exit 1 when one is at or above `--fail-on`. `keyward secrets install-hook` installs the
 * git hook that runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { KeywardError } from '../errors.js';
import type { Finding } from '../finding.js';
import {
  baselineEntries,
  countLine,
  parseBaselineEntries,
  exitStatusFor,
  parseFailOn,
  parseReportFormat,
  renderReport,
  shouldColor,
  writeBaseline,
  type FailOn,
  type ReportFormat,
} from '../report/index.js';
import { checkLive, engineWith, LIVE_FAMILIES, loadBaseline, loadRules, RULES_FILE, type Engine, type LiveCandidate } from '../secrets/index.js';
import { parseVerifyUrls } from './verify-urls.js';
import {
  countCommits,
  newStats,
  scanGitHistory,
  scanGitStaged,
  scanPaths,
  toSecretFinding,
  type SkipReason,
  type SourceMatch,
  type SourceStats,
} from '../secrets/sources/index.js';
import { VERSION } from '../version.js';

/** The baseline `keyward secrets` reads from the working directory, and the hooks use. */
export const BASELINE_FILE = '.keyward-baseline.json';

interface Opts {
  git?: boolean;
  since?: string;
  revs?: string;
  staged?: boolean;
  ignore: boolean;
  archives: boolean;
  maxArchiveMb?: string;
  format: string;
  output?: string;
  failOn: string;
  includeInfo?: boolean;
  baseline?: string | false;
  writeBaseline?: string;
  rules?: string | false;
  progress: boolean;
  verbose?: boolean;
  hook?: 'pre-commit' | 'pre-push';
  verify?: boolean;
  onlyLive?: boolean;
  verifyUrl: string[];
}

function command(): Command {
  return new Command('keyward secrets')
    .usage('[options] [paths...]\n       keyward secrets install-hook [--pre-push] [--force]')
    .description('Find AI keys and other secrets in files, folders, archives and app bundles, stdin (-), git history or staged changes.')
    .argument('[paths...]', 'files and folders to scan (default: .); - reads standard input')
    .option('--git', 'scan the git history of the repository at the path: every commit on every branch')
    .option('--since <date>', 'with --git: only commits after this date (2024-01-31, "2 weeks ago")')
    .option('--revs <revisions>', 'with --git: walk these revisions instead of all branches (e.g. "origin/main..HEAD")')
    .option('--staged', 'scan only the changes staged for commit (what a pre-commit hook checks)')
    .option('--no-ignore', 'also scan files that .gitignore excludes')
    .option('--no-archives', 'do not open zip, jar, apk, ipa, aab, tar and tgz files')
    .option('--max-archive-mb <n>', 'the most an archive may expand to, in MiB (default 2048)')
    .addOption(new Option('-f, --format <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .option('-o, --output <file>', 'write the report to a file instead of standard output')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above: critical, high, medium, low, info, none', 'low')
    .option('--include-info', 'also report info findings (JWTs and other tokens that are rarely secret)')
    .option('--baseline <file>', `do not report findings whose fingerprints this file lists (default: ${BASELINE_FILE} when it exists)`)
    .option('--no-baseline', `ignore ${BASELINE_FILE}`)
    .option('--rules <file>', `add your own rules (and paths never scanned) from this file (default: ${RULES_FILE} when it exists)`)
    .option('--no-rules', `ignore ${RULES_FILE}`)
    .option('--write-baseline <file>', 'write the fingerprints of every finding to this file (accepting them) and exit 0')
    .option('--verify', "ask each key's issuer whether it still accepts the key (a free read such as its model list), and report it live, rejected or unknown")
    .option('--only-live', 'with --verify: report only the keys their issuer still accepts')
    .option('--verify-url <family=url>', `with --verify: ask a family's keys at this base URL instead of its own API (a self-hosted gateway); families: ${Object.keys(LIVE_FAMILIES).join(', ')}`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--no-progress', 'no progress bar for history scans')
    .option('-v, --verbose', 'also list the binary files skipped')
    .addOption(new Option('--hook <kind>', 'explain how to unblock a commit or push').choices(['pre-commit', 'pre-push']))
    .addHelpText(
      'after',
      '\nExit status: 0 clean, 1 a finding at or above --fail-on, 2 usage or runtime error.\nMark a false positive with a `keyward:allow` comment on its line, or accept it with --write-baseline.',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function parseMb(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new KeywardError('KW_USAGE', `--max-archive-mb must be a positive number, not '${s}'`, { hint: 'e.g. --max-archive-mb 4096' });
  return Math.round(n * 1024 * 1024);
}

function checkCombination(paths: string[], o: Opts): void {
  if ((o.onlyLive || o.verifyUrl.length > 0) && !o.verify) throw new KeywardError('KW_USAGE', `${o.onlyLive ? '--only-live' : '--verify-url'} only applies with --verify`, { hint: 'add --verify' });
  if (o.staged && o.git) throw new KeywardError('KW_USAGE', '--staged and --git cannot be combined', { hint: '--staged checks what is about to be committed; --git checks the history' });
  if ((o.since !== undefined || o.revs !== undefined) && !o.git) throw new KeywardError('KW_USAGE', '--since and --revs only apply to history scans', { hint: 'add --git' });
  if ((o.git || o.staged) && paths.length > 1) throw new KeywardError('KW_USAGE', 'give one repository folder with --git or --staged', { hint: `e.g. keyward secrets ${o.git ? '--git' : '--staged'} path/to/repo` });
  if ((o.git || o.staged) && paths[0] === '-') throw new KeywardError('KW_USAGE', 'standard input (-) is not a git repository', { hint: 'drop --git/--staged to scan standard input' });
}

const SKIP_WORDS: Record<SkipReason, [string, string]> = {
  binary: ['binary file', 'binary files'],
  unreadable: ['unreadable file', 'unreadable files'],
  'damaged-archive': ['damaged archive', 'damaged archives'],
  'unsupported-compression': ['entry with an unsupported compression', 'entries with an unsupported compression'],
  'archives-off': ['archive (--no-archives)', 'archives (--no-archives)'],
};

function skipWords(reason: SkipReason, n: number): string {
  return `${n} ${SKIP_WORDS[reason][n === 1 ? 0 : 1]}`;
}

function summaryLine(stats: SourceStats, o: Opts, seconds: number, baselined: number): string {
  const parts: string[] = [];
  if (o.staged) parts.push('scanned the staged changes');
  else if (o.git) parts.push(`scanned ${stats.commits} commit${stats.commits === 1 ? '' : 's'}`);
  else parts.push(`scanned ${stats.files} file${stats.files === 1 ? '' : 's'} (${(stats.bytes / 1024 / 1024).toFixed(1)} MB${stats.archiveEntries ? `, ${stats.archiveEntries} archive ${stats.archiveEntries === 1 ? 'entry' : 'entries'}` : ''})`);
  const skipped = (Object.entries(stats.skipped) as [SkipReason, number][]).filter(([, n]) => n > 0).map(([r, n]) => skipWords(r, n));
  if (skipped.length) parts.push(`skipped ${skipped.join(', ')}`);
  if (baselined) parts.push(`${baselined} accepted by the baseline`);
  return `${parts.join('; ')} in ${seconds.toFixed(1)} s.`;
}

function hookAdvice(kind: 'pre-commit' | 'pre-push', findings: readonly Finding[]): string {
  const n = countLine(findings, ['secret', 'secrets']);
  if (kind === 'pre-commit')
    return [
      `keyward: commit blocked, the staged changes add ${n}.`,
      '  To fix: remove each key from the file named above, load it from an environment variable or a secret manager instead, then `git add` the file again.',
      '  If the key was ever pushed, shared or logged, revoke it at its provider too (the "fix" line above says where): deleting it does not make it safe.',
      '  A false positive? Put `keyward:allow` in a comment on that line, or accept it with `keyward secrets --staged --write-baseline .keyward-baseline.json`.',
      '',
    ].join('\n');
  return [
    `keyward: push blocked, the commits being pushed add ${n}.`,
    '  The key is in your local history: remove it and rewrite those commits (`git commit --amend` for the last one, `git rebase -i <base>` for older ones), then push again.',
    '  Revoke the key at its provider (the "fix" line above says where) if it ever left this machine.',
    '  A false positive? Put `keyward:allow` in a comment on that line, or add its fingerprint to .keyward-baseline.json (`--write-baseline`).',
    '',
  ].join('\n');
}

interface Progress {
  tick(): void;
  stop(): void;
}

/** A progress bar for history scans, on a terminal only (stderr), so pipes and CI logs stay clean. */
async function historyProgress(o: Opts, repo: string): Promise<Progress | undefined> {
  if (!o.progress || !process.stderr.isTTY) return undefined;
  const total = await countCommits({ repo, since: o.since, revs: o.revs?.split(/\s+/).filter(Boolean) });
  if (total < 2) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: 'scanning history [{bar}] {value}/{total} commits', stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}

async function scan(paths: string[], o: Opts): Promise<number> {
  checkCombination(paths, o);
  const verifyUrls = o.verify ? parseVerifyUrls(o.verifyUrl) : undefined;
  const format: ReportFormat = parseReportFormat(o.format);
  const failOn: FailOn = parseFailOn(o.failOn);
  const includeInfo = o.includeInfo === true || failOn === 'info';
  // Like .gitignore, a baseline at the top of the project applies without being named.
  const baselineFile = o.baseline === undefined ? (existsSync(BASELINE_FILE) ? BASELINE_FILE : undefined) : o.baseline || undefined;
  const accepted = baselineFile !== undefined ? loadBaseline(baselineFile) : new Set<string>();
  // The same for a project's own rules.
  const rulesFile = o.rules === undefined ? (existsSync(RULES_FILE) ? RULES_FILE : undefined) : o.rules || undefined;
  const engine: Engine | undefined = rulesFile !== undefined ? engineWith(loadRules(rulesFile)) : undefined;
  const stats = newStats();
  const started = performance.now();

  const onSkip = (file: string, reason: SkipReason, detail?: string): void => {
    if (reason === 'unreadable') process.stderr.write(`keyward: skipped '${file}': cannot read it (${detail ?? 'unknown error'})\n`);
    else if (reason === 'unsupported-compression' || reason === 'damaged-archive') process.stderr.write(`keyward: skipped '${file}': ${detail ?? SKIP_WORDS[reason][0]}\n`);
    else if (o.verbose) process.stderr.write(`keyward: skipped '${file}' (${SKIP_WORDS[reason][0]})\n`);
  };

  let source: AsyncGenerator<SourceMatch>;
  let progress: Progress | undefined;
  const repo = paths[0] ?? '.';
  const limit = parseMb(o.maxArchiveMb);
  const limits = limit === undefined ? undefined : { maxTotalBytes: limit, maxArchiveBytes: limit, maxEntryBytes: limit };
  const common = { includeInfo, archives: o.archives, limits, stats, onSkip, ...(engine ? { engine } : {}) };
  if (o.staged) source = scanGitStaged({ repo, ...common });
  else if (o.git) {
    progress = await historyProgress(o, repo);
    source = scanGitHistory({ repo, since: o.since, revs: o.revs?.split(/\s+/).filter(Boolean), onCommit: progress?.tick, ...common });
  } else source = scanPaths(paths.length ? paths : ['.'], { gitignore: o.ignore, ...common });

  let findings: Finding[] = [];
  let baselined = 0;
  // With --verify, the keys to ask about, held in memory until asked and never printed.
  const candidates: LiveCandidate[] = [];
  try {
    for await (const m of source) {
      const f = toSecretFinding(m);
      if (f.secret && accepted.has(f.secret.fingerprint)) baselined++;
      else {
        findings.push(f);
        if (o.verify) candidates.push({ ruleId: m.match.ruleId, secret: m.match.secret, fingerprint: m.match.fingerprint });
      }
    }
  } finally {
    progress?.stop();
  }

  if (o.writeBaseline !== undefined) {
    // Adding to an existing baseline never drops what it already accepted.
    const previous = existsSync(o.writeBaseline) ? loadBaseline(o.writeBaseline) : new Set<string>();
    const details = previous.size > 0 ? parseBaselineEntries(readFileSync(o.writeBaseline, 'utf8')) : [];
    const entries = baselineEntries(findings, [...accepted, ...previous], details);
    await writeBaseline(o.writeBaseline, entries);
    process.stderr.write(`keyward: wrote ${entries.length} accepted fingerprint${entries.length === 1 ? '' : 's'} to ${o.writeBaseline}\n`);
    return 0;
  }

  let verifiedLine: string | undefined;
  if (o.verify) {
    const checks = await checkLive(candidates, { urls: verifyUrls });
    candidates.length = 0;
    findings = findings.map((f) => (f.secret && checks.has(f.secret.fingerprint) ? { ...f, secret: { ...f.secret, live: checks.get(f.secret.fingerprint)! } } : f));
    const n = { live: 0, rejected: 0, unknown: 0 };
    for (const c of checks.values()) n[c.verdict]++;
    verifiedLine = `verified ${checks.size} distinct key${checks.size === 1 ? '' : 's'}: ${n.live} live, ${n.rejected} rejected, ${n.unknown} unknown${o.onlyLive ? '; only the live ones are reported' : ''}.`;
    if (o.onlyLive) findings = findings.filter((f) => f.secret?.live?.verdict === 'live');
  }

  const seconds = (performance.now() - started) / 1000;
  const toStdout = o.output === undefined;
  const status = exitStatusFor(findings, failOn);
  const verdict =
    findings.length === 0
      ? o.onlyLive
        ? 'no live keys found.'
        : 'no secrets found.'
      : `${countLine(findings, ['secret', 'secrets'])}. Revoke each key at its provider first, then remove it from the code and load it from the environment.`;
  const report = renderReport(findings, {
    format,
    schema: 'keyward.secrets/1',
    version: VERSION,
    color: toStdout && shouldColor(process.stdout),
    footer: [verdict, ...(verifiedLine !== undefined ? [verifiedLine] : []), summaryLine(stats, o, seconds, baselined)],
    sarifTags: ['security', 'secret'],
  });
  if (toStdout) await writeOut(report);
  else {
    try {
      await writeFile(o.output!, report);
    } catch (e) {
      throw new KeywardError('KW_FILE', `cannot write the report to '${o.output}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        hint: 'check that the folder exists and is writable',
      });
    }
    process.stderr.write(`keyward: ${verdict} Report written to ${o.output}.\n`);
  }
  if (o.hook && status !== 0) process.stderr.write(hookAdvice(o.hook, findings));
  return status;
}

/** Writes to stdout and waits, so a large report is not cut off by the exit; a closed pipe is not an error. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.write(text, () => resolve());
    process.stdout.once('error', () => resolve());
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'install-hook') {
    const { runInstallHook } = await import('./secrets-hook.js');
    return runInstallHook(argv.slice(1));
  }
  const program = command();
  let status = 0;
  program.action(async (paths: string[], o: Opts) => {
    status = await scan(paths, o);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') return 0;
    throw e;
  }
  return status;
}
