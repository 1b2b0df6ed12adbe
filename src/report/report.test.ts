import { describe, expect, it } from 'vitest';
import { sarifErrors } from '../../test/helpers/sarif.js';
import type { Finding } from '../finding.js';
import { buildJsonReport, buildSarif, exitStatusFor, parseFailOn, parseReportFormat, renderText, shouldColor } from './index.js';

const secretFinding: Finding = {
  id: 'secret-openai-project-key',
  severity: 'critical',
  title: 'OpenAI project API key in src/config.ts',
  evidence: 'OpenAI sk-proj-…abcd (sha256:0123456789abcdef)',
  recommendation: 'Revoke it at https://platform.openai.com/api-keys, then remove it.',
  docs: 'docs/rules.md#openai-project-key',
  location: { file: 'src/config.ts', line: 12, column: 18, commit: '0123456789abcdef0123456789abcdef01234567', date: '2024-05-01T10:00:00+00:00' },
  secret: { rule: 'openai-project-key', provider: 'OpenAI', redacted: 'sk-proj-…abcd', fingerprint: 'sha256:0123456789abcdef', revokeUrl: 'https://platform.openai.com/api-keys' },
};
const inArchive: Finding = {
  ...secretFinding,
  severity: 'high',
  location: { file: 'dist/app one.apk!/classes.dex' },
  secret: { ...secretFinding.secret!, fingerprint: 'sha256:fedcba9876543210' },
};
const absolute: Finding = { ...secretFinding, severity: 'medium', location: { file: '/srv/app/.env', line: 1, column: 1 } };
const auditFinding: Finding = {
  id: 'env-file-world-readable',
  severity: 'low',
  title: '.env is readable by every user',
  evidence: 'mode 644',
  recommendation: 'chmod 600 .env',
  location: { file: '.env' },
};

describe('SARIF report', () => {
  it('is valid against the official SARIF 2.1.0 schema, with secrets, archives, absolute paths and non-secret findings', () => {
    const doc = buildSarif([secretFinding, inArchive, absolute, auditFinding], { version: '0.1.0', tags: ['security', 'secret'] });
    expect(sarifErrors(doc)).toEqual([]);
  });

  it('is valid with no findings', () => {
    expect(sarifErrors(buildSarif([], { version: '0.1.0' }))).toEqual([]);
  });

  it('would catch an invalid document (the validator is not a no-op)', () => {
    const doc = buildSarif([secretFinding], { version: '0.1.0' }) as { runs: { results: { level: string }[] }[] };
    doc.runs[0]!.results[0]!.level = 'fatal';
    expect(sarifErrors(doc)).toEqual([expect.stringMatching(/^\/runs\/0\/results\/0\/level must be equal to one of the allowed values/)]);
  });

  it('maps severities to levels, fingerprints to partialFingerprints and files to relative URIs', () => {
    const doc = buildSarif([secretFinding, inArchive, absolute], { version: '0.1.0' }) as {
      runs: { tool: { driver: { rules: { id: string }[] } }; results: Record<string, unknown>[] }[];
    };
    const run = doc.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(['openai-project-key']);
    expect(run.results.map((r) => r.level)).toEqual(['error', 'error', 'warning']);
    expect(run.results[0]!.partialFingerprints).toEqual({ 'keyward/secret/v1': 'sha256:0123456789abcdef' });
    const uris = run.results.map((r) => (r.locations as { physicalLocation: { artifactLocation: { uri: string } } }[])[0]!.physicalLocation.artifactLocation.uri);
    expect(uris).toEqual(['src/config.ts', 'dist/app%20one.apk!/classes.dex', 'file:///srv/app/.env']);
    expect(JSON.stringify(doc)).toContain('0123456789abcdef0123456789abcdef01234567');
  });
});

describe('JSON report', () => {
  it('names its schema and flattens each finding to rule, provider, file, line, column, fingerprint, redacted and commit', () => {
    const doc = buildJsonReport([secretFinding, auditFinding], { schema: 'keyward.audit/1', version: '0.1.0' });
    expect(doc.schema).toBe('keyward.audit/1');
    expect(doc.summary).toMatchObject({ total: 2, critical: 1, low: 1 });
    expect(doc.findings[0]).toMatchObject({
      rule: 'openai-project-key',
      provider: 'OpenAI',
      file: 'src/config.ts',
      line: 12,
      column: 18,
      fingerprint: 'sha256:0123456789abcdef',
      redacted: 'sk-proj-…abcd',
      commit: '0123456789abcdef0123456789abcdef01234567',
    });
    expect(doc.findings[1]).toEqual({
      id: 'env-file-world-readable',
      severity: 'low',
      title: '.env is readable by every user',
      rule: 'env-file-world-readable',
      file: '.env',
      evidence: 'mode 644',
      recommendation: 'chmod 600 .env',
    });
  });
});

describe('text report', () => {
  it('lists worst first with location, redacted key, fingerprint and fix; plain without color', () => {
    const text = renderText([auditFinding, secretFinding], { color: false, footer: ['2 findings'] });
    expect(text).not.toMatch(/\u001b\[/);
    expect(text.indexOf('CRITICAL')).toBeLessThan(text.indexOf('LOW'));
    expect(text).toContain('at   src/config.ts:12:18 in commit 0123456789ab (2024-05-01T10:00:00+00:00)');
    expect(text).toContain('key  sk-proj-…abcd  sha256:0123456789abcdef');
    expect(text).toContain('fix  Revoke it at');
    expect(text.trimEnd().endsWith('2 findings')).toBe(true);
  });

  it('shows the evidence of a secret found without a line (strings of a binary), which says where it sits', () => {
    const text = renderText([{ ...inArchive, evidence: 'sk-proj-…abcd at byte offset 72, among the binary\'s strings' }], { color: false });
    expect(text).toContain('at   dist/app one.apk!/classes.dex\n');
    expect(text).toContain('saw  sk-proj-…abcd at byte offset 72');
    expect(renderText([secretFinding], { color: false })).not.toContain('saw ');
  });

  it('is colored when asked', () => {
    expect(renderText([secretFinding], { color: true })).toMatch(/\u001b\[/);
  });

  it('colors a terminal, not a pipe, and obeys NO_COLOR and FORCE_COLOR', () => {
    expect(shouldColor({ isTTY: true }, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});

describe('--fail-on and --format', () => {
  it('exits 1 only when a finding is at or above the threshold', () => {
    expect(exitStatusFor([auditFinding], parseFailOn('low'))).toBe(1);
    expect(exitStatusFor([auditFinding], parseFailOn('medium'))).toBe(0);
    expect(exitStatusFor([secretFinding], parseFailOn('critical'))).toBe(1);
    expect(exitStatusFor([secretFinding], parseFailOn('none'))).toBe(0);
    expect(exitStatusFor([], parseFailOn('info'))).toBe(0);
  });

  it('rejects unknown values with a usage error', () => {
    expect(() => parseFailOn('severe')).toThrow(expect.objectContaining({ code: 'KW_USAGE' }));
    expect(() => parseReportFormat('xml')).toThrow(expect.objectContaining({ code: 'KW_USAGE' }));
  });
});
