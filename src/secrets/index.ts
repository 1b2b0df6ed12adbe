/**
 * The secrets engine's public API. Used by `keyward secrets`/`redact`, the site scanner, the
 * audit and the gateway's logger. Imports nothing else of keyward's.
 */
export type { LiveCheck, ScanTextOptions, SecretFinding, SecretLocation, SecretMatch, SecretRule, SecretSeverity, VerifyContext } from './types.js';
export { scanText } from './engine.js';
export { scanStream } from './stream.js';
export { redactText, redactMatches, createRedactStream, redactSecret } from './redact.js';
export { fingerprintSecret } from './fingerprint.js';
export { RULES } from './rules/index.js';
export { matchToFinding } from './finding.js';
export { Engine } from './engine.js';
export { engineWith, loadRules, parseRules, RulesFileError, RULES_FILE, RULES_SCHEMA, type CustomRules } from './custom-rules.js';
export { checkLive, isLiveFamily, judgeAnswer, liveFamilyOf, LIVE_FAMILIES, type LiveCandidate, type LiveFamily, type LiveOptions } from './live.js';
export { loadBaseline, parseBaseline, isBaselined, BaselineError } from './baseline.js';
export { GLOBAL_ALLOWLIST, INLINE_ALLOW } from './allowlist.js';
