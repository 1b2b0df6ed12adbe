/**
 * The request bodies the gateway holds in memory at once. A body is read whole before it goes on (a
 * file is checked, a batch's requests read, a prompt scanned), up to `maxFileBytes` (100 MiB) for
 * one; without a bound on all of them together, a few users uploading at once could take the
 * process's memory. Bodies of up to SMALL_BODY bytes (every chat request) are not counted: the
 * connections the server holds bound them, and counting them would cost every request.
 */
import type { ServerResponse } from 'node:http';
import { GatewayHttpError } from './http-error.js';

export const SMALL_BODY = 64 * 1024;

export class HeldBytes {
  private held = 0;

  constructor(private readonly limit: () => number) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  /**
   * Counts `more` bytes of the body of the request `res` answers, given back when it closes (its
   * answer sent, or the client gone). Throws a 503 when they would pass the limit (a 413 when this
   * body alone would); what the request took before is given back all the same when it closes.
   */
  take(res: ServerResponse, taken: { bytes: number }, more: number): void {
    const limit = this.limit();
    // Larger alone than all the gateway holds at once: sending it again would not help.
    if (taken.bytes + more > limit) {
      throw new GatewayHttpError(413, 'request_too_large', `the request body is larger than all the gateway holds in memory at once (${limit} bytes, "maxBufferedBytes" in the config)`, { connection: 'close' });
    }
    if (this.held + more > limit) {
      throw new GatewayHttpError(503, 'gateway_busy', `the gateway holds at most ${Math.floor(limit / (1024 * 1024))} MiB of request bodies at once ("maxBufferedBytes" in the config), and other uploads hold that now: send this again shortly`, { 'retry-after': '2', connection: 'close' });
    }
    // Already closed (the client left while its body still came): nothing to hold it for.
    if (res.closed) return;
    if (taken.bytes === 0) res.once('close', () => this.give(taken.bytes));
    this.held += more;
    taken.bytes += more;
  }

  private give(n: number): void {
    this.held -= n;
  }
}
