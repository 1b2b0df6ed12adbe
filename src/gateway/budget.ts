/** Budget periods (UTC calendar day or month) and money as integers (nano-USD) so counters stay exact. */
import type { BudgetPeriod } from '../store/types.js';

export const NANO = 1e9;

export function toNano(usd: number): number {
  return Math.ceil(usd * NANO);
}

export interface PeriodInfo {
  key: string;
  start: number;
  /** Milliseconds from now until the period ends. */
  remainingMs: number;
}

const cache: Partial<Record<BudgetPeriod, { key: string; start: number; end: number }>> = {};

/** The current period, cached until it ends (computed once a day or month, not per request). */
export function period(kind: BudgetPeriod, now = Date.now()): PeriodInfo {
  const c = cache[kind];
  if (c !== undefined && now >= c.start && now < c.end) return { key: c.key, start: c.start, remainingMs: c.end - now };
  const p = computePeriod(kind, now);
  cache[kind] = { key: p.key, start: p.start, end: now + p.remainingMs };
  return p;
}

function computePeriod(kind: BudgetPeriod, now: number): PeriodInfo {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (kind === 'month') {
    const start = Date.UTC(y, m, 1);
    return { key: `m${y}${String(m + 1).padStart(2, '0')}`, start, remainingMs: Date.UTC(y, m + 1, 1) - now };
  }
  const day = d.getUTCDate();
  const start = Date.UTC(y, m, day);
  return { key: `d${y}${String(m + 1).padStart(2, '0')}${String(day).padStart(2, '0')}`, start, remainingMs: start + 86_400_000 - now };
}
