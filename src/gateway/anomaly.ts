/**
 * Anomaly auto-disable: a user whose traffic jumps past what any honest client does (requests or
 * refusals per minute, spend per hour) is disabled in the directory (so every instance refuses it at
 * once) and an alert is raised. An operator re-enables the user with `keyward users enable`.
 * Counted per instance: a threshold is a tripwire, not a quota.
 */
import { MemoryCounters } from '../store/memory.js';
import type { Directory, UserRecord } from '../store/types.js';
import type { Alerter } from './alerts.js';
import { toNano } from './budget.js';

export interface AnomalyOptions {
  maxRequestsPerMinute?: number;
  /** Requests refused by limits or budgets per minute (a client hammering after 429s). */
  maxRefusalsPerMinute?: number;
  maxUsdPerHour?: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export class AnomalyDetector {
  private readonly counters = new MemoryCounters();

  constructor(
    private readonly options: AnomalyOptions,
    private readonly dir: Directory,
    private readonly alerts: Alerter,
  ) {}

  private trip(user: UserRecord, key: string, limit: number | undefined, windowMs: number, cost: number, what: string): void {
    if (limit === undefined || user.disabled) return;
    const r = this.counters.admit([{ key: `${user.id}:${key}`, kind: 'sliding', limit, windowMs, cost }]);
    if (r.ok) return;
    const reason = `anomaly: ${what}`;
    try {
      this.dir.setDisabled(user.id, true, reason);
      user.disabled = true;
    } catch {
      return;
    }
    this.alerts.send({ kind: 'anomaly_disabled', userId: user.id, user: user.name, message: `user '${user.name}' disabled automatically (${what}); re-enable with 'keyward users enable ${user.name}'` });
  }

  request(user: UserRecord): void {
    this.trip(user, 'req', this.options.maxRequestsPerMinute, MINUTE, 1, `more than ${this.options.maxRequestsPerMinute} requests per minute`);
  }

  refused(user: UserRecord): void {
    this.trip(user, 'refused', this.options.maxRefusalsPerMinute, MINUTE, 1, `more than ${this.options.maxRefusalsPerMinute} refused requests per minute`);
  }

  spent(user: UserRecord, usd: number): void {
    if (this.options.maxUsdPerHour === undefined || usd <= 0) return;
    this.trip(user, 'usd', toNano(this.options.maxUsdPerHour), HOUR, toNano(usd), `spending more than $${this.options.maxUsdPerHour} per hour`);
  }
}
