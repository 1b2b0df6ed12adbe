/**
 * `scanSite(url, options)`: gather the facts once, run every check on them, grade, and
 * return the report that `keyward scan --json` prints, field for field.
 */
import { KeywardError } from '../errors.js';
import { sortByImpact, type Finding } from '../finding.js';
import { VERSION } from '../version.js';
import { CHECKS } from './checks/index.js';
import { createFetchContext, type FetchContextOptions } from './fetch/context.js';
import { gatherFacts, type GatherOptions } from './gather.js';
import { gradeScan } from './grade.js';
import { parseTarget } from './target.js';
import { SECTIONS, type Check, type CheckOutput, type Grade, type GatherContext, type RedirectHop, type ScanFacts, type SecretSink, type SectionName, type TestResult } from './types.js';

export const SCAN_SCHEMA = 'keyward.scan/1';

export interface ScanOptions extends FetchContextOptions, GatherOptions {
  /** The checks to run (default: every registered check). */
  checks?: readonly Check[];
  /** Sections to gather and grade (default all: headers, tls, exposure). */
  sections?: readonly SectionName[];
  /** Given each key found, whole (see SecretSink): the command line's `--verify` alone. */
  onSecret?: SecretSink;
}

export interface ReportFinding extends Finding {
  section: SectionName;
}

export interface ScanReport {
  schema: typeof SCAN_SCHEMA;
  /** keyward's version. */
  keyward: string;
  /** What was asked for. */
  input: string;
  /** The URL fetched first (https:// for a bare host). */
  url: string;
  /** The page that was graded, after redirects. */
  finalUrl: string;
  status: number;
  https: boolean;
  /** Why HTTPS failed when a bare host fell back to HTTP. */
  httpsError?: string;
  /**
   * Why the page's certificate was refused. The page was then read without verification, the
   * report leads with `tls-certificate-rejected`, and the grade is F (`strictTls` throws instead).
   */
  certificateError?: string;
  /** Redirects from `url` to `finalUrl`. */
  redirects: RedirectHop[];
  /** The plain-http visit: does it go to HTTPS? */
  http?: { chain: RedirectHop[]; finalUrl?: string; error?: string };
  grade: Grade;
  score: number;
  sections: Partial<Record<SectionName, { grade: Grade; score: number }>>;
  /** Worst first. */
  findings: ReportFinding[];
  /** Every test's outcome, keyed by test name. */
  tests: Record<string, TestResult & { section: SectionName }>;
  scannedAt: string;
  durationMs: number;
}

type SectionGatherer = (ctx: GatherContext, facts: ScanFacts) => Promise<void>;

/** The section gatherers that run after the page, side by side, each bounded by the site's time. */
const SECTION_GATHERERS: Partial<Record<SectionName, SectionGatherer>> = {
  tls: async (ctx, facts) => {
    if (!facts.https) return;
    // Loaded on demand: the certificate parser is the heaviest module of a scan (cold start).
    const { gatherTls } = await import('./tls/gather.js');
    facts.tls = await gatherTls(ctx, new URL(facts.final.url));
  },
  exposure: async (ctx, facts) => {
    const { gatherExposure } = await import('./exposure/gather.js');
    facts.exposure = await gatherExposure(ctx, facts);
  },
};

export async function scanSite(input: string, options: ScanOptions = {}): Promise<ScanReport> {
  const started = Date.now();
  const target = parseTarget(input);
  const sections = options.sections ?? SECTIONS;
  for (const s of sections) {
    if (!SECTIONS.includes(s)) throw new KeywardError('KW_USAGE', `unknown scan section '${s}'`, { hint: `sections are ${SECTIONS.join(', ')}` });
  }
  const ctx = createFetchContext(options);
  if (options.onSecret) ctx.onSecret = options.onSecret;
  try {
    const facts = await gatherFacts(ctx, target, options);
    const sectionCtx = facts.unverifiedOrigins ? unverifiedFor(ctx, facts.unverifiedOrigins) : ctx;
    await Promise.all(sections.map((s) => SECTION_GATHERERS[s]?.(sectionCtx, facts)));
    const checks = (options.checks ?? CHECKS).filter((c) => sections.includes(c.section));
    return buildReport(facts, checks, started);
  } finally {
    ctx.close();
  }
}

/** The section gatherers fetch the site's files from the same origins the page was read from unverified. */
function unverifiedFor(ctx: GatherContext, origins: readonly string[]): GatherContext {
  return { ...ctx, fetch: (url, options) => ctx.fetch(url, { ...options, unverifiedOrigins: [...origins, ...(options?.unverifiedOrigins ?? [])] }) };
}

/** Runs the checks on gathered facts and grades them (pure; exported for tests and tools). */
export function buildReport(facts: ScanFacts, checks: readonly Check[], started = Date.now()): ScanReport {
  const outputs = checks.map((check) => ({ check, output: runCheck(check, facts) }));
  const findings = sortByImpact(outputs.flatMap(({ check, output }) => output.findings.map((f): ReportFinding => ({ ...f, section: (f.section as SectionName | undefined) ?? check.section }))));
  const graded = gradeScan(outputs, findings, { certificateRejected: facts.certificateError !== undefined });
  const tests: ScanReport['tests'] = {};
  for (const { check, output } of outputs) for (const [name, t] of Object.entries(output.tests)) tests[name] = { ...t, section: check.section };
  const sections: ScanReport['sections'] = {};
  for (const [name, s] of Object.entries(graded.sections) as Array<[SectionName, { grade: Grade; score: number }]>) sections[name] = { grade: s.grade, score: s.score };
  const report: ScanReport = {
    schema: SCAN_SCHEMA,
    keyward: VERSION,
    input: facts.target.input,
    url: facts.target.url,
    finalUrl: facts.final.url,
    status: facts.final.status,
    https: facts.https,
    ...(facts.httpsError !== undefined ? { httpsError: facts.httpsError } : {}),
    ...(facts.certificateError !== undefined ? { certificateError: facts.certificateError } : {}),
    redirects: facts.final.chain,
    ...(facts.http ? { http: facts.http } : {}),
    grade: graded.grade,
    score: graded.score,
    sections,
    findings,
    tests,
    scannedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
  // Exactly what --json prints: no undefined fields, no class instances.
  return JSON.parse(JSON.stringify(report)) as ScanReport;
}

function runCheck(check: Check, facts: ScanFacts): CheckOutput {
  try {
    return check.run(facts);
  } catch (err) {
    throw new KeywardError('KW_INTERNAL', `the '${check.name}' check failed: ${(err as Error).message}`, {
      hint: 'this is a bug in keyward; please report it with the URL you scanned',
      cause: err,
    });
  }
}
