/** The public library API of keyward. */
export * from './finding.js';
export * from './errors.js';
export { RECOMMENDED_HEADERS, apiSecurityHeaders } from './recommended-headers.js';
export { auditProject, auditChecks, type AuditCheck, type AuditOptions, type AuditResult } from './audit/index.js';
export * from './secrets/index.js';
