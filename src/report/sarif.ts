/**
 * SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning and others). One run, one
 * reporting descriptor per rule that fired, `partialFingerprints` from the secret's fingerprint so
 * a dashboard keeps one alert per key across runs. Validated against the official schema in tests.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Severity } from '../finding.js';

type SarifLevel = 'error' | 'warning' | 'note';

const LEVEL: Record<Severity, SarifLevel> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub ranks security alerts by this 0–10 number (critical ≥ 9, high ≥ 7, medium ≥ 4). */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.1' };

export interface SarifOptions {
  version: string;
  /** Tags every rule carries, e.g. ['security', 'secret']. */
  tags?: readonly string[];
  /** The folder relative paths are relative to (default: the working directory). */
  srcRoot?: string;
}

/** A file path as a SARIF URI: relative paths stay relative to %SRCROOT%, absolute ones become file: URLs. */
export function toSarifUri(file: string): { uri: string; uriBaseId?: string } {
  if (isAbsolute(file)) {
    const [outer, ...inner] = file.split('!/');
    const base = pathToFileURL(outer!).href;
    return { uri: [base, ...inner.map(encodePath)].join('!/') };
  }
  return { uri: encodePath(file.replaceAll('\\', '/')), uriBaseId: '%SRCROOT%' };
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function ruleIdOf(f: Finding): string {
  return f.secret?.rule ?? f.id;
}

function messageOf(f: Finding): string {
  const parts = [f.title];
  if (f.secret) parts.push(`${f.secret.provider} key ${f.secret.redacted} (fingerprint ${f.secret.fingerprint})`);
  else if (f.evidence) parts.push(f.evidence);
  if (f.location?.commit) parts.push(`added in commit ${f.location.commit}${f.location.date ? ` on ${f.location.date}` : ''}`);
  return `${parts.join(': ')}.`;
}

export function buildSarif(findings: readonly Finding[], options: SarifOptions): Record<string, unknown> {
  const ruleIndex = new Map<string, number>();
  const rules: Record<string, unknown>[] = [];
  for (const f of findings) {
    const id = ruleIdOf(f);
    if (ruleIndex.has(id)) continue;
    ruleIndex.set(id, rules.length);
    rules.push({
      id,
      name: id.replace(/(^|[-_.])([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase()),
      shortDescription: { text: f.title },
      fullDescription: { text: f.title },
      help: { text: f.docs ? `${f.recommendation} See ${f.docs}.` : f.recommendation },
      // SARIF wants an absolute URI here; a docs path inside the package goes in the help text only.
      ...(f.docs && /^[a-z][a-z0-9+.-]*:/i.test(f.docs) ? { helpUri: f.docs } : {}),
      defaultConfiguration: { level: LEVEL[f.severity] },
      properties: { tags: [...(options.tags ?? ['security'])], 'security-severity': SECURITY_SEVERITY[f.severity] },
    });
  }
  const results = findings.map((f) => {
    const id = ruleIdOf(f);
    const loc = f.location;
    const file = loc?.file ?? loc?.url;
    const region =
      loc?.line !== undefined && loc.line >= 1 ? { startLine: loc.line, ...(loc.column !== undefined && loc.column >= 1 ? { startColumn: loc.column } : {}) } : undefined;
    const artifact = loc?.file !== undefined ? toSarifUri(loc.file) : loc?.url !== undefined ? { uri: loc.url } : undefined;
    return {
      ruleId: id,
      ruleIndex: ruleIndex.get(id),
      level: LEVEL[f.severity],
      message: { text: messageOf(f) },
      ...(file !== undefined && artifact ? { locations: [{ physicalLocation: { artifactLocation: artifact, ...(region ? { region } : {}) } }] } : {}),
      ...(f.secret ? { partialFingerprints: { 'keyward/secret/v1': f.secret.fingerprint } } : {}),
      properties: {
        severity: f.severity,
        ...(f.secret ? { provider: f.secret.provider, redacted: f.secret.redacted, ...(f.secret.revokeUrl ? { revokeUrl: f.secret.revokeUrl } : {}) } : {}),
        ...(f.secret?.live ? { live: f.secret.live.verdict, liveDetail: f.secret.live.detail } : {}),
        ...(loc?.commit ? { commit: loc.commit } : {}),
        ...(loc?.date ? { date: loc.date } : {}),
      },
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'keyward', version: options.version, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(`${options.srcRoot ?? process.cwd()}/`).href } },
        results,
      },
    ],
  };
}

export function renderSarif(findings: readonly Finding[], options: SarifOptions): string {
  return `${JSON.stringify(buildSarif(findings, options), null, 2)}\n`;
}
