/**
 * `keyward scan <url…>`: grade sites and find AI keys exposed in their client-side code.
 * Exit status: 0 done, 1 a grade is below --fail-under, 2 a usage or network error.
 * Imports stay lazy: the CLI must answer a loopback scan in well under 300 ms, cold.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { KeywardError, isKeywardError } from '../errors.js';
import type { ScanOptions, ScanReport } from '../scan/scan-site.js';
import type { ScanOutcome } from '../scan/report/summary.js';
import type { SectionName } from '../scan/types.js';
import type { LiveCandidate } from '../secrets/live.js';

interface Flags {
  file?: string;
  concurrency: number;
  json?: boolean;
  html?: string;
  failUnder?: string;
  resolve: string[];
  ca: string[];
  timeout: number;
  httpPort?: number;
  sections?: string;
  strictTls?: boolean;
  verify?: boolean;
  verifyUrl: string[];
}

/** Best first, as GRADE_CHART in src/scan/grade.ts; repeated so that usage errors and --help load nothing else. */
const GRADES = ['A+', 'A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'D-', 'F'];

function positiveInt(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}.`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw new InvalidArgumentError('--timeout is in seconds, more than 0 and at most 600.');
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function program(): Command {
  return new Command('keyward scan')
    .description('Grade websites (headers, TLS, exposed keys and files) and show how to fix every finding.')
    .argument('[urls...]', 'URLs or bare host names (example.com is tried over https first)')
    .option('-f, --file <path>', 'read URLs from a file, one a line (# comments and blank lines ignored)')
    .option('-c, --concurrency <n>', 'sites scanned at once', positiveInt('--concurrency', 64), 4)
    .option('--json', `print the report as JSON (schema keyward.scan/1; an array for several sites)`)
    .option('--html <file>', 'also write a self-contained HTML report to this file')
    .option('--fail-under <grade>', 'exit 1 when a site grades lower than this (A+ … F)')
    .option('--resolve <host:port:address>', "connect to this address for host:port (repeatable, '*' for any host, like curl)", collect, [])
    .option('--ca <file>', 'trust this extra CA certificate (PEM; repeatable; NODE_EXTRA_CA_CERTS works too)', collect, [])
    .option('--timeout <seconds>', 'time bound per site (each request gets at most 5 s of it)', seconds, 10)
    .option('--sections <list>', 'only these sections, comma-separated: headers,tls,exposure (default all)')
    .option('--strict-tls', 'stop with an error (exit 2) when a certificate fails verification, instead of grading the site F')
    .option('--http-port <port>', 'port of the plain-http visit that checks the redirect to HTTPS', positiveInt('--http-port', 65535))
    .option('--verify', "ask each exposed key's issuer whether it still accepts the key (a read it does not bill), and say so in the finding")
    .option('--verify-url <family=url>', 'with --verify: ask a family of keys at this base URL instead of its own API (families as in keyward secrets --help)', collect, [])
    .addHelpText(
      'after',
      '\nExit status: 0 scanned, 1 a grade is below --fail-under, 2 usage or network error (unreachable, timeout; a bad certificate only with --strict-tls, else it grades F).\nPrivate and loopback addresses are allowed here (your dev servers); the library and server mode refuse them.',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

/** Asks each key found its issuer, once, and writes the answer into the findings that name it. */
async function markLive(outcomes: readonly ScanOutcome[], found: Map<string, LiveCandidate>, urls: Record<string, string>): Promise<void> {
  const { checkLive } = await import('../secrets/live.js');
  const checks = await checkLive([...found.values()], { urls });
  found.clear();
  for (const o of outcomes) {
    if (!('report' in o)) continue;
    for (const f of o.report.findings) {
      const live = f.secret ? checks.get(f.secret.fingerprint) : undefined;
      if (live === undefined || f.secret === undefined) continue;
      f.secret.live = live;
      f.evidence = `${f.evidence ?? ''}${f.evidence ? '\n' : ''}live: ${live.verdict === 'live' ? 'LIVE' : live.verdict}: ${live.detail}`;
    }
  }
}

export async function run(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    // commander has printed help or its own message already.
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' ? 0 : 2;
    throw err;
  }
  const flags = cmd.opts<Flags>();
  const inputs = [...(cmd.args as string[]), ...(flags.file ? readUrlFile(flags.file) : [])];
  if (inputs.length === 0) {
    throw new KeywardError('KW_USAGE', 'no site to scan', { hint: 'give one or more URLs (keyward scan example.com) or --file urls.txt' });
  }
  if (flags.failUnder !== undefined && !GRADES.includes(flags.failUnder.toUpperCase())) {
    throw new KeywardError('KW_USAGE', `--fail-under '${flags.failUnder}' is not a grade`, { hint: `use one of ${GRADES.join(' ')}` });
  }
  const options: ScanOptions = {
    allowPrivate: true,
    resolve: flags.resolve,
    ca: flags.ca.map(readCa),
    timeoutMs: flags.timeout * 1000,
    ...(flags.httpPort !== undefined ? { httpPort: flags.httpPort } : {}),
    ...(flags.sections !== undefined ? { sections: parseSections(flags.sections) } : {}),
    ...(flags.strictTls ? { strictTls: true } : {}),
  };
  if (flags.verifyUrl.length > 0 && !flags.verify) throw new KeywardError('KW_USAGE', '--verify-url only applies with --verify', { hint: 'add --verify' });
  // With --verify, each key found, whole, kept in memory until its issuer is asked, never printed.
  const found = new Map<string, LiveCandidate>();
  let verifyUrls: Record<string, string> | undefined;
  if (flags.verify) {
    verifyUrls = (await import('./verify-urls.js')).parseVerifyUrls(flags.verifyUrl);
    options.onSecret = (s) => void found.set(s.fingerprint, s);
  }
  const { scanSite } = await import('../scan/scan-site.js');
  // Validate --resolve and --ca once, before any site is scanned.
  const { createFetchContext } = await import('../scan/fetch/context.js');
  createFetchContext(options).close();

  const outcomes = await scanAll(inputs, flags.concurrency, (input) => scanSite(input, options));
  if (flags.verify) await markLive(outcomes, found, verifyUrls ?? {});
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;

  if (flags.json) {
    const { renderJson } = await import('../scan/report/json.js');
    process.stdout.write(renderJson(outcomes, { array: inputs.length > 1 }));
  } else {
    const { renderTerminal } = await import('../scan/report/terminal.js');
    for (const o of outcomes) if ('report' in o) process.stdout.write(`${renderTerminal(o.report, { color })}\n`);
    if (outcomes.length > 1) {
      const { renderSummary } = await import('../scan/report/summary.js');
      process.stdout.write(renderSummary(outcomes, { color }));
    }
  }
  if (flags.html) {
    const { renderHtml } = await import('../scan/report/html.js');
    writeReportFile(flags.html, renderHtml(outcomes));
  }
  const errorColor = process.stderr.isTTY === true && !process.env.NO_COLOR;
  for (const o of outcomes) {
    if ('error' in o) process.stderr.write(`keyward: ${errorColor ? '\x1b[31m' : ''}${o.input}: ${o.error.message}${errorColor ? '\x1b[39m' : ''}\n${o.error.hint ? `  hint: ${o.error.hint}\n` : ''}`);
  }
  if (outcomes.some((o) => 'error' in o)) return 2;
  if (flags.failUnder !== undefined) {
    const limit = GRADES.indexOf(flags.failUnder.toUpperCase());
    const below = outcomes.filter((o): o is { input: string; report: ScanReport } => 'report' in o && GRADES.indexOf(o.report.grade) > limit);
    for (const o of below) process.stderr.write(`keyward: ${o.input} grades ${o.report.grade}, below --fail-under ${flags.failUnder.toUpperCase()}\n`);
    if (below.length > 0) return 1;
  }
  return 0;
}

async function scanAll(inputs: string[], concurrency: number, scan: (input: string) => Promise<ScanReport>): Promise<ScanOutcome[]> {
  const outcomes: ScanOutcome[] = new Array(inputs.length);
  const bar = inputs.length > 1 && process.stderr.isTTY ? await progressBar(inputs.length) : undefined;
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      try {
        outcomes[i] = { input: inputs[i], report: await scan(inputs[i]) };
      } catch (err) {
        if (!isKeywardError(err)) throw err;
        outcomes[i] = { input: inputs[i], error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
      }
      bar?.increment(1, { site: inputs[i] });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  } finally {
    bar?.stop();
  }
  return outcomes;
}

async function progressBar(total: number) {
  const { default: progress } = await import('cli-progress');
  const bar = new progress.SingleBar(
    { stream: process.stderr, format: 'scanning [{bar}] {value}/{total} {site}', hideCursor: true, clearOnComplete: true },
    progress.Presets.shades_classic,
  );
  bar.start(total, 0, { site: '' });
  return bar;
}

function parseSections(list: string): SectionName[] {
  const names = list.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const known = ['headers', 'tls', 'exposure'];
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new KeywardError('KW_USAGE', `--sections '${list}': ${unknown.length ? `unknown section ${unknown.map((u) => `'${u}'`).join(', ')}` : 'no section given'}`, { hint: `choose from ${known.join(', ')}` });
  }
  return names as SectionName[];
}

function readUrlFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeywardError('KW_FILE', `cannot read the URL list ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a text file with one URL a line' });
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeywardError('KW_FILE', `cannot read the CA file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give --ca a PEM file with the CA certificate' });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KeywardError('KW_USAGE', `--ca ${path} holds no PEM certificate`, { hint: 'the file must contain -----BEGIN CERTIFICATE----- blocks' });
  }
  return pem;
}

function writeReportFile(path: string, content: string): void {
  try {
    // Written whole at once: a failed write never leaves half a report behind an old one.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    throw new KeywardError('KW_FILE', `cannot write the HTML report ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check that the folder exists and is writable' });
  }
}
