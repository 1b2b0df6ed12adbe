/**
 * Anomaly auto-disable: a user whose traffic jumps past what any honest client does (requests or
 * refusals per minute, spend per hour, client addresses per hour) is disabled in the directory (so
 * every instance refuses it at once) and an alert is raised. An operator re-enables the user with
 * `keyward users enable`.
 *
 * Counted in the store given: the gateways' shared Redis counts every instance's traffic together,
 * so N instances behind a load balancer trip at the threshold, not at N times it; without one, each
 * instance counts its own. The counting never delays a request: a check that has to wait for Redis
 * is answered after the request went on, and a store that cannot be reached counts nothing.
 */
import { MemoryCounters } from '../store/memory.js';
import type { AdmitResult, CounterCheck, Counters, Directory, UserRecord } from '../store/types.js';
import type { Alerter } from './alerts.js';
import { toNano } from './budget.js';
import type { Logger } from './logger.js';

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
  private readonly counters: Counters;
  private lastFailure = 0;

  /** `counters`: where to count, the gateway's own (on Redis, shared by every instance); without them, in the detector's memory. */
  constructor(
    private readonly options: AnomalyOptions,
    private readonly dir: Directory,
    private readonly alerts: Alerter,
    private readonly log: Logger,
    counters?: Counters,
  ) {
    this.counters = counters ?? new MemoryCounters();
  }

  private check(user: UserRecord, c: CounterCheck, what: string): void {
    let r: AdmitResult | Promise<AdmitResult>;
    try {
      r = this.counters.admit([c]);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (r instanceof Promise) r.then((x) => !x.ok && this.disable(user, what), (err: unknown) => this.failed(err));
    else if (!r.ok) this.disable(user, what);
  }

  private trip(user: UserRecord, key: string, limit: number | undefined, windowMs: number, cost: number, what: string): void {
    if (limit === undefined || user.disabled) return;
    this.check(user, { key: `a:${user.id}:${key}`, kind: 'sliding', limit, windowMs, cost }, what);
  }

  /** A tripwire that cannot count lets traffic through; it says so once a minute. */
  private failed(err: unknown): void {
    if (Date.now() - this.lastFailure < MINUTE) return;
    this.lastFailure = Date.now();
    this.log.warn({ err }, 'the anomaly guard could not count (the store is unreachable); its tripwires are off until it is back');
  }

  private disable(user: UserRecord, what: string): void {
    // Every instance sees the same counts: the first to act disables the user, the others find it done.
    if (user.disabled || this.dir.getUser(user.id)?.disabled === true) return;
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
    // The addresses of this clock hour, each counted once, all forgotten when the hour ends.
    const now = Date.now();
    const hour = Math.floor(now / HOUR);
    this.check(
      user,
      { key: `a:${user.id}:ips:${hour}`, kind: 'lease', limit: max, windowMs: (hour + 1) * HOUR - now, cost: 1, member: ip },
      `called from more than ${max} addresses within an hour, as a leaked token is; revoke its tokens if so`,
    );
  }

  refused(user: UserRecord): void {
    this.trip(user, 'refused', this.options.maxRefusalsPerMinute, MINUTE, 1, `more than ${this.options.maxRefusalsPerMinute} refused requests per minute`);
  }

  spent(user: UserRecord, usd: number): void {
    if (this.options.maxUsdPerHour === undefined || usd <= 0) return;
    this.trip(user, 'usd', toNano(this.options.maxUsdPerHour), HOUR, toNano(usd), `spending more than $${this.options.maxUsdPerHour} per hour`);
  }
}
