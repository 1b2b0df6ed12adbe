/**
 * The provider keys of one upstream: a pool used round-robin, each key behind its own circuit
 * breaker. A key that fails `threshold` times in a row (connection errors, 429, 5xx) is skipped for
 * `cooldownMs`, then gets one trial request (half-open); a 401/403 takes the key out until the keys
 * are reloaded, since the provider has rejected it. Keys are never printed: `label` is provider + last
 * 4 characters. `replace` swaps the pool's keys while requests are in flight, for rotation without a
 * restart.
 */
import { createHash } from 'node:crypto';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  threshold: number;
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 5, cooldownMs: 30_000 };

export class PoolKey {
  readonly label: string;
  failures = 0;
  openUntil = 0;
  /** A trial request is in flight (half-open). */
  probing = false;
  /** Rejected by the provider (401/403): never used again in this process. */
  revoked = false;

  constructor(
    readonly secret: string,
    provider: string,
  ) {
    const fp = createHash('sha256').update(secret).digest('hex').slice(0, 8);
    this.label = `${provider}:…${secret.slice(-4)}#${fp}`;
  }
}

export interface KeyChange {
  added: string[];
  removed: string[];
  kept: number;
}

export class KeyPool {
  private current: PoolKey[];
  private next = 0;

  constructor(
    private readonly provider: string,
    secrets: string[],
    private readonly breaker: BreakerOptions = DEFAULT_BREAKER,
  ) {
    this.current = secrets.map((s) => new PoolKey(s, provider));
  }

  get keys(): readonly PoolKey[] {
    return this.current;
  }

  /** The key with this label (as a record of what a key made keeps it); undefined when the pool no longer holds it. */
  byLabel(label: string | undefined): PoolKey | undefined {
    return label === undefined ? undefined : this.current.find((k) => k.label === label);
  }

  /**
   * Makes `secrets` the pool. A key kept keeps its breaker's count of recent failures; one the
   * provider had rejected is tried again, since the operator still lists it (fixed at the provider,
   * say), and taken out again on its first 401. Requests already using a removed key finish with
   * it, and no new one picks it. Returns the labels added and removed.
   */
  replace(secrets: string[]): KeyChange {
    const old = new Map(this.current.map((k) => [k.secret, k]));
    const next = [...new Set(secrets)].map((s) => old.get(s) ?? new PoolKey(s, this.provider));
    for (const k of next) k.revoked = false;
    const stays = new Set(next);
    const added = next.filter((k) => !old.has(k.secret));
    const change: KeyChange = {
      added: added.map((k) => k.label),
      removed: this.current.filter((k) => !stays.has(k)).map((k) => k.label),
      kept: next.length - added.length,
    };
    this.current = next;
    this.next = 0;
    return change;
  }

  get size(): number {
    return this.current.length;
  }

  /** The next usable key, skipping `exclude` (keys already tried for this request); undefined when none is usable. */
  pick(exclude?: Set<PoolKey>): PoolKey | undefined {
    const keys = this.current;
    const n = keys.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const k = keys[(this.next + i) % n]!;
      if (k.revoked || exclude?.has(k)) continue;
      if (k.openUntil > now) continue;
      if (k.openUntil !== 0) {
        // Half-open: let exactly one request try the key.
        if (k.probing) continue;
        k.probing = true;
      }
      this.next = (this.next + i + 1) % n;
      return k;
    }
    return undefined;
  }

  success(k: PoolKey): void {
    k.failures = 0;
    k.openUntil = 0;
    k.probing = false;
  }

  failure(k: PoolKey, status?: number): void {
    if (status === 401 || status === 403) {
      k.revoked = true;
      return;
    }
    k.failures++;
    if (k.probing || k.failures >= this.breaker.threshold) k.openUntil = Date.now() + this.breaker.cooldownMs;
    k.probing = false;
  }

  /** For health output: state of every key, by label. */
  state(): Array<{ key: string; state: 'closed' | 'open' | 'half-open' | 'revoked'; failures: number }> {
    const now = Date.now();
    return this.current.map((k) => ({
      key: k.label,
      state: k.revoked ? 'revoked' : k.openUntil > now ? 'open' : k.openUntil !== 0 ? 'half-open' : 'closed',
      failures: k.failures,
    }));
  }
}
