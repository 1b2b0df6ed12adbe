/** The public library API of keyward. */
export * from './finding.js';
export * from './errors.js';
export { RECOMMENDED_HEADERS, apiSecurityHeaders } from './recommended-headers.js';
export { auditProject, auditChecks, type AuditCheck, type AuditOptions, type AuditResult } from './audit/index.js';
export * from './secrets/index.js';
export { scanPaths, scanGitHistory, scanGitStaged, walkFiles, toSecretFinding, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits, type ScanPathsOptions, type SourceMatch, type WalkEntry, type WalkOptions } from './secrets/sources/index.js';
export { renderReport, parseReportFormat, parseFailOn, exitStatusFor, buildJsonReport, buildSarif, type FailOn, type ReportFormat, type ReportOptions } from './report/index.js';
export * from './scan/index.js';
export { detectBrowserAiCalls, AI_PROVIDER_HOSTS, type BrowserAiCallHit, type BrowserAiCallKind, type DetectOptions as BrowserAiCallOptions } from './detect/browser-ai-calls.js';
export * from './gateway/index.js';
