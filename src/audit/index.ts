/** `keyward audit` as a library: a project's key hygiene, as findings. */
export { auditProject } from './run.js';
export { SKIP_DIRS } from './files.js';
export { auditChecks, CHECK_IDS } from './checks/index.js';
export { loadConfig, CONFIG_FILE, DEFAULT_ROTATION_DAYS, type KeywardConfig, type KeyRecord } from './config.js';
export { PUBLIC_ENV_PREFIXES, looksLikeAiKeyName, looksLikeSecretName, publicPrefixOf } from './names.js';
export type { AuditCheck, AuditContext, AuditOptions, AuditResult, ProjectFile } from './types.js';
