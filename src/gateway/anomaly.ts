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
  /**
   * Client addresses a user is called from within a clock hour. A backend calls from a handful; a
   * token that leaked is soon called from many. Leave it out for users whose token ships in an app.
   */
  maxAddressesPerHour?: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

export class AnomalyDetector {
  private readonly counters = new MemoryCounters();
  /** Per user, the addresses seen in the current hour (at most the limit and one: past it, the user is disabled). */
  private readonly addresses = new Map<string, { hour: number; seen: Set<string> }>();

  constructor(
    private readonly options: AnomalyOptions,
    private readonly dir: Directory,
    private readonly alerts: Alerter,
  ) {}

  private trip(user: UserRecord, key: string, limit: number | undefined, windowMs: number, cost: number, what: string): void {
    if (limit === undefined || user.disabled) return;
    const r = this.counters.admit([{ key: `${user.id}:${key}`, kind: 'sliding', limit, windowMs, cost }]);
    if (!r.ok) this.disable(user, what);
  }

  private disable(user: UserRecord, what: string): void {
    const reason = `anomaly: ${what}`;
    try {
      this.dir.setDisabled(user.id, true, reason);
      user.disabled = true;
    } catch {
      return;
    }
    this.alerts.send({ kind: 'anomaly_disabled', userId: user.id, user: user.name, message: `user '${user.name}' disabled automatically (${what}); re-enable with 'keyward users enable ${user.name}'` });
  }

  request(user: UserRecord, ip: string | undefined): void {
    this.trip(user, 'req', this.options.maxRequestsPerMinute, MINUTE, 1, `more than ${this.options.maxRequestsPerMinute} requests per minute`);
    const max = this.options.maxAddressesPerHour;
    if (max === undefined || ip === undefined || user.disabled) return;
    const hour = Math.floor(Date.now() / HOUR);
    let a = this.addresses.get(user.id);
    if (a === undefined || a.hour !== hour) {
      if (this.addresses.size >= 100_000) this.addresses.clear();
      this.addresses.set(user.id, (a = { hour, seen: new Set() }));
    }
    if (a.seen.has(ip)) return;
    a.seen.add(ip);
    if (a.seen.size > max) {
      this.addresses.delete(user.id);
      this.disable(user, `called from more than ${max} addresses within an hour, as a leaked token is; revoke its tokens if so`);
    }
  }

  refused(user: UserRecord): void {
    this.trip(user, 'refused', this.options.maxRefusalsPerMinute, MINUTE, 1, `more than ${this.options.maxRefusalsPerMinute} refused requests per minute`);
  }

  spent(user: UserRecord, usd: number): void {
    if (this.options.maxUsdPerHour === undefined || usd <= 0) return;
    this.trip(user, 'usd', toNano(this.options.maxUsdPerHour), HOUR, toNano(usd), `spending more than $${this.options.maxUsdPerHour} per hour`);
  }
}
