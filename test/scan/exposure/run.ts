/** Gathers one fixture site's exposure facts with the real bounded fetch and runs the exposure checks on them. */
import type { Finding } from '../../../src/finding.js';
import { CHECKS } from '../../../src/scan/checks/index.js';
import { gatherExposure } from '../../../src/scan/exposure/gather.js';
import { gradeExposureSection } from '../../../src/scan/exposure/grade.js';
import type { ExposureFacts } from '../../../src/scan/exposure/facts.js';
import { createFetchContext, type FetchContextOptions } from '../../../src/scan/fetch/context.js';
import { parsePage } from '../../../src/scan/html.js';
import type { ScanFacts, TestResult } from '../../../src/scan/types.js';

export interface ExposureRun {
  exposure: ExposureFacts;
  findings: Finding[];
  tests: Record<string, TestResult>;
  grade: ReturnType<typeof gradeExposureSection>;
}

export async function runExposure(url: string, options: FetchContextOptions = {}): Promise<ExposureRun> {
  const ctx = createFetchContext({ allowPrivate: true, ...options });
  try {
    const final = await ctx.fetch(url);
    const u = new URL(url);
    const facts: ScanFacts = { target: { input: url, url, host: u.host }, final, https: u.protocol === 'https:', page: parsePage(final.body) };
    facts.exposure = await gatherExposure(ctx, facts);
    const outputs = CHECKS.filter((c) => c.section === 'exposure').map((c) => c.run(facts));
    const findings = outputs.flatMap((o) => o.findings);
    const tests = Object.assign({}, ...outputs.map((o) => o.tests)) as Record<string, TestResult>;
    return { exposure: facts.exposure, findings, tests, grade: gradeExposureSection(tests, findings) };
  } finally {
    ctx.close();
  }
}

/** Everything a report could show, as one string: no whole key may ever appear in it. */
export const printable = (run: ExposureRun) => JSON.stringify({ findings: run.findings, exposure: run.exposure, tests: run.tests });
