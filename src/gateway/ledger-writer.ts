/**
 * Writes usage rows off the hot path: rows are queued in memory and appended in one transaction every
 * `intervalMs` or `batchSize` rows; `close()` writes whatever is queued, so a clean shutdown loses nothing.
 */
import type { Ledger, LedgerRow } from '../store/types.js';
import type { Logger } from './logger.js';

export class LedgerWriter {
  private queue: LedgerRow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly log: Logger,
    private readonly intervalMs = 200,
    private readonly batchSize = 1000,
  ) {}

  push(row: LedgerRow): void {
    this.queue.push(row);
    if (this.queue.length >= this.batchSize) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    try {
      this.ledger.append(rows);
    } catch (err) {
      // Keep the rows and try again later rather than lose them.
      this.queue = rows.concat(this.queue);
      this.log.error({ err, rows: rows.length }, 'usage ledger write failed; will retry');
      this.timer = setTimeout(() => this.flush(), Math.max(this.intervalMs, 1000));
      this.timer.unref();
    }
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The rows not written yet (the last fraction of a second), for a budget that starts from the ledger now. */
  pending(): readonly LedgerRow[] {
    return this.queue;
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length > 0) {
      const rows = this.queue;
      this.queue = [];
      this.ledger.append(rows);
    }
  }
}
