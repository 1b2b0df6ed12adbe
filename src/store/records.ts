/** Shared rules for user records, used by every Directory implementation. */
import { KeywardError } from '../errors.js';
import type { LedgerRow, UsageSummary, UserPolicy, UserRecord } from './types.js';

export function checkUserName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(name)) {
    throw new KeywardError('KW_USAGE', `invalid user name '${name.slice(0, 40)}'`, {
      hint: 'use 1-128 letters, digits, dot, dash, underscore or @, starting with a letter or digit',
    });
  }
}

const POLICY_KEYS = ['rpm', 'rpd', 'tpm', 'budgetUsd', 'softBudgetUsd', 'period', 'models'] as const satisfies ReadonlyArray<keyof UserPolicy>;

export function applyPatch(user: UserRecord, patch: { [K in keyof UserPolicy]?: UserPolicy[K] | null }): void {
  const target = user as unknown as Record<string, unknown>;
  for (const k of POLICY_KEYS) {
    if (!(k in patch)) continue;
    const v = patch[k];
    if (v === null || v === undefined) delete target[k];
    else target[k] = v;
  }
}

export function summarize(rows: LedgerRow[]): UsageSummary[] {
  const by = new Map<string, UsageSummary>();
  for (const r of rows) {
    let s = by.get(r.userId);
    if (!s) by.set(r.userId, (s = { userId: r.userId, requests: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 }));
    s.requests++;
    s.tokensIn += r.tokensIn;
    s.tokensOut += r.tokensOut;
    s.costUsd += r.costUsd;
  }
  return [...by.values()].sort((a, b) => b.costUsd - a.costUsd);
}
