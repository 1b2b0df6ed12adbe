/** The audit's checks: one file each, one line here. */
import type { AuditCheck, AuditOptions } from '../types.js';
import { buildOutputKeys } from './build-output-keys.js';
import { ciEnvLeaks } from './ci-env-leaks.js';
import { clientAiCalls } from './client-ai-calls.js';
import { envFileHistory } from './env-file-history.js';
import { envFileIgnored } from './env-file-ignored.js';
import { envFileMode } from './env-file-mode.js';
import { envFileTracked } from './env-file-tracked.js';
import { keyAge } from './key-age.js';
import { logLeaks } from './log-leaks.js';
import { publicEnvPrefix } from './public-env-prefix.js';

export function auditChecks(options: Pick<AuditOptions, 'rotationDays'> = {}): AuditCheck[] {
  return [
    envFileMode,
    envFileIgnored,
    envFileTracked,
    envFileHistory,
    publicEnvPrefix,
    buildOutputKeys,
    clientAiCalls,
    logLeaks,
    keyAge(options.rotationDays),
    ciEnvLeaks,
  ];
}

/** Check ids, for `--check` and the docs. */
export const CHECK_IDS: readonly string[] = auditChecks().map((c) => c.id);
