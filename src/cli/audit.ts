/**
 * `keyward audit [dir]`: a project's key hygiene. Prints findings as text, JSON
 * (`keyward.audit/1`) or SARIF; exits 1 when a finding is at or above `--fail-on`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { auditProject } from '../audit/index.js';
import { CHECK_IDS } from '../audit/checks/index.js';
import { countLine, exitStatusFor, parseFailOn, renderReport, REPORT_FORMATS, shouldColor, type FailOn, type ReportFormat } from '../report/index.js';
import { VERSION } from '../version.js';

export const AUDIT_SCHEMA = 'keyward.audit/1';

function failOn(s: string): FailOn {
  try {
    return parseFailOn(s);
  } catch (e) {
    throw new InvalidArgumentError((e as { hint?: string }).hint ?? String(e));
  }
}

function days(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('give a whole number of days, e.g. 90');
  return n;
}

function checkId(s: string, prev: string[] = []): string[] {
  if (!CHECK_IDS.includes(s)) throw new InvalidArgumentError(`unknown check; the checks are: ${CHECK_IDS.join(', ')}`);
  return [...prev, s];
}

interface Flags {
  format: ReportFormat;
  failOn: FailOn;
  check?: string[];
  rotationDays?: number;
  rules?: string | false;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward audit')
    .description("Check a project's key hygiene: .env files (mode, .gitignore, git history), keys behind public env prefixes, keys in build output, AI calls from browser code, keys in logs, key age, CI logs.")
    .argument('[dir]', 'project folder', '.')
    .addOption(new Option('--format <format>', 'report format').choices(REPORT_FORMATS).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above: critical, high, medium, low, info, none').argParser(failOn).default('low'))
    .option('--check <id>', `run only this check (repeatable): ${CHECK_IDS.join(', ')}`, checkId)
    .option('--rotation-days <days>', 'rotation period for the key-age check (default 90, or keyward.config.json)', days)
    .option('--rules <file>', "the project's own secret rules, as keyward secrets takes them (default: .keyward-rules.json in the folder when it exists)")
    .option('--no-rules', 'the built-in secret rules alone')
    .addHelpText('after', '\nExit status: 0 clean, 1 a finding at or above --fail-on, 2 usage or runtime error.\nEach check, what it looks at and how to fix its findings: docs/audit.md')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run `keyward audit --help` for the options)');
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    throw e;
  }
  const flags = program.opts<Flags>();
  const dir = program.processedArgs[0] as string;

  const started = process.hrtime.bigint();
  const result = await auditProject(dir, { checks: flags.check, rotationDays: flags.rotationDays, ...(flags.rules !== undefined ? { rules: flags.rules } : {}) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  for (const w of result.warnings) process.stderr.write(`keyward: warning: ${w}\n`);
  const footer = [
    `${countLine(result.findings)} in ${result.root} (${result.filesSeen} files, ${result.filesRead} read, ${seconds.toFixed(2)} s)`,
    ...(result.findings.length === 0 ? ['Keys are handled the way a security review asks. To look for keys in every file and in git history: keyward secrets . --git'] : []),
  ];
  process.stdout.write(
    renderReport(result.findings, { format: flags.format, schema: AUDIT_SCHEMA, version: VERSION, color: shouldColor(process.stdout), footer, sarifTags: ['security', 'audit'] }),
  );
  return exitStatusFor(result.findings, flags.failOn);
}
