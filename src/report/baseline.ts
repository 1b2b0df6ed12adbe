/**
 * Writing baselines: the fingerprints of findings someone has looked at and accepted (a test
 * fixture, a key already revoked that history still holds). Reading is the engine's
 * `loadBaseline` (src/secrets/baseline.ts), which also takes JSON reports and plain lists.
 * A baseline never holds a secret: fingerprints are hashes, keys appear only redacted.
 */
import { rename, writeFile } from 'node:fs/promises';
import { KeywardError } from '../errors.js';
import type { Finding } from '../finding.js';

export const BASELINE_SCHEMA = 'keyward.baseline/1';

export interface BaselineEntry {
  fingerprint: string;
  rule?: string;
  file?: string;
  redacted?: string;
}

/**
 * The entries of a baseline file written by `writeBaseline`, details included, so rewriting it keeps
 * them. Other forms (reports, plain lists) give none: their fingerprints come through `accepted`.
 */
export function parseBaselineEntries(text: string): BaselineEntry[] {
  try {
    const doc = JSON.parse(text) as { fingerprints?: unknown };
    if (!Array.isArray(doc.fingerprints)) return [];
    return doc.fingerprints.flatMap((e: unknown) => {
      if (typeof e !== 'object' || e === null || typeof (e as BaselineEntry).fingerprint !== 'string') return [];
      const { fingerprint, rule, file, redacted } = e as Record<string, unknown>;
      const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      return [{ fingerprint: fingerprint as string, rule: str(rule), file: str(file), redacted: str(redacted) }];
    });
  } catch {
    return [];
  }
}

/** One entry per fingerprint (earlier entries keep their details), sorted so the file diffs well. */
export function baselineEntries(findings: readonly Finding[], accepted: Iterable<string> = [], previous: readonly BaselineEntry[] = []): BaselineEntry[] {
  const byFingerprint = new Map<string, BaselineEntry>();
  for (const e of previous) if (!byFingerprint.has(e.fingerprint)) byFingerprint.set(e.fingerprint, e);
  for (const f of findings) {
    if (!f.secret || byFingerprint.has(f.secret.fingerprint)) continue;
    byFingerprint.set(f.secret.fingerprint, { fingerprint: f.secret.fingerprint, rule: f.secret.rule, file: f.location?.file, redacted: f.secret.redacted });
  }
  for (const fp of accepted) if (!byFingerprint.has(fp)) byFingerprint.set(fp, { fingerprint: fp });
  return [...byFingerprint.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
}

export function renderBaseline(entries: readonly BaselineEntry[]): string {
  return `${JSON.stringify({ schema: BASELINE_SCHEMA, fingerprints: entries }, null, 2)}\n`;
}

/** Written to a temporary file first, then renamed, so an existing baseline is never left half-written. */
export async function writeBaseline(file: string, entries: readonly BaselineEntry[]): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, renderBaseline(entries));
    await rename(tmp, file);
  } catch (e) {
    throw new KeywardError('KW_FILE', `cannot write baseline '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'check that the folder exists and is writable',
      cause: e,
    });
  }
}
