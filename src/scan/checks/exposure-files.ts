/**
 * Exposed files: a probe path whose content proved it (a .git/HEAD that reads `ref: refs/…`,
 * a .env of KEY=value lines, …). A catch-all answer never counts (see gather's judging).
 */
import { severityRank, type Finding, type Severity } from '../../finding.js';
import type { ProbeCategory, ProbeResult } from '../exposure/facts.js';
import { exposureResult, type ExposureResultId } from '../exposure/grade.js';
import { PROBES, type Probe } from '../exposure/probes.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS } from './exposure-support.js';

const DENY_DOTFILES = 'nginx:  location ~ /\\.(?!well-known) { deny all; }\nApache: <FilesMatch "^\\."> Require all denied </FilesMatch>\nExpress: serve only the build output folder (express.static("dist", { dotfiles: "deny" })).';

const FIX: Partial<Record<ProbeCategory, string>> = {
  env: `Remove the file from the web root and deny dotfiles at the server:\n${DENY_DOTFILES}\nTreat every secret in it as leaked: revoke and rotate each one.`,
  vcs: `Do not deploy the repository metadata: the whole source history can be downloaded from it. Deploy build output only, and deny dotfiles:\n${DENY_DOTFILES}\nRotate any credential ever committed to the repository.`,
  credentials: `Remove the file from the web root at once, deny dotfiles, and revoke every credential in it:\n${DENY_DOTFILES}`,
  config: 'Move configuration out of the web root (or deny it at the server) and rotate any credential it holds.',
  backup: 'Delete backups and dumps from the web root; keep them in storage that is not served. Rotate any password they contain.',
  'server-info': 'Turn the status/info page off or restrict it to the operator (nginx: allow 127.0.0.1; deny all;). Delete phpinfo() files.',
  debug: 'Turn debug endpoints off in production (Spring: management.endpoints.web.exposure.include=health; Flask: debug=False; Symfony/Laravel: APP_DEBUG=false) or put them behind authentication on an internal network.',
  meta: 'Remove editor and OS metadata files from the deployment (add them to the deploy ignore list).',
};

const RESULT_BY_SEVERITY: Record<Severity, ExposureResultId> = {
  critical: 'exposed-files-critical',
  high: 'exposed-files-high',
  medium: 'exposed-files-medium',
  low: 'exposed-files-low',
  info: 'exposed-files-none',
};

export const exposureFilesCheck: Check = {
  name: 'exposed-files',
  section: 'exposure',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    let worst: Severity = 'info';
    // One repository is one problem, however many of its files answered.
    const byGroup = new Map<string, Array<{ p: ProbeResult; probe: Probe }>>();
    for (const p of facts.exposure?.probes ?? []) {
      if (!p.confirmed || p.category === 'listing' || p.category === 'security-txt') continue;
      const probe = PROBES.find((x) => x.id === p.id);
      if (!probe) continue;
      const key = /^\/\.(?:git|svn|hg|bzr)\//.exec(p.path)?.[0] ?? p.path;
      byGroup.set(key, [...(byGroup.get(key) ?? []), { p, probe }]);
    }
    for (const group of byGroup.values()) {
      const { p, probe } = group.reduce((a, b) => (severityRank(b.probe.severity) > severityRank(a.probe.severity) ? b : a));
      if (severityRank(probe.severity) > severityRank(worst)) worst = probe.severity;
      const lines = group.map(({ p: x }) => `GET ${x.path} → ${x.status ?? '?'} (${x.bytes ?? 0} bytes)${x.evidence ? `: ${x.evidence}` : ''}`);
      findings.push({
        id: `exposed-file-${group[0]!.p.id}`,
        severity: probe.severity,
        title: group.length > 1 ? `Exposed ${probe.what} and ${group.length - 1} more file${group.length > 2 ? 's' : ''} of it: ${p.url}` : `Exposed ${probe.what}: ${p.url}`,
        evidence: lines.join('\n'),
        recommendation: FIX[p.category] ?? FIX.config!,
        docs: `${EXPOSURE_DOCS}#exposed-files`,
        section: 'exposure',
        location: { url: group[0]!.p.url },
      });
    }
    const result = RESULT_BY_SEVERITY[worst];
    return { findings, tests: { 'exposed-files': exposureResult(result, findings.length === 0, { files: findings.map((f) => f.location?.url) }) } };
  },
};
