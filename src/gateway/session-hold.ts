/**
 * The budget hold of a long session (a relayed Realtime session or a watched call), billed as it goes
 * rather than reserved in full up front. It keeps what one response may cost held ahead of its spend,
 * for each response running at once, taking more from the budgets (in whole `hold`s) whenever less
 * is left, and ends when a budget refuses. What one response may cost is the hold, or the dearest
 * response yet when that cost more: a conversation's input only grows, and each response is billed
 * for all of it. So a session passes a hard budget by at most what a response costs beyond the
 * dearest before it (or beyond the hold), and holds little of the budget while it runs.
 */
import { toNano } from './budget.js';

export class SessionHold {
  /** Nano-USD reserved in the counters, the opening hold included. */
  heldNano: number;
  billedUsd = 0;
  /** What one response may cost, in nano-USD: the hold, or the dearest response yet. */
  private perResponseNano: number;

  /** `extend(usd)` reserves more in the budgets; it throws (a GatewayHttpError) when one refuses. */
  constructor(
    readonly holdUsd: number,
    private readonly extend: (usd: number) => void | Promise<void>,
  ) {
    this.heldNano = toNano(holdUsd);
    this.perResponseNano = this.heldNano;
  }

  /** Bills a response, and holds what the next may cost. Throws what `extend` throws. */
  async spend(usd: number): Promise<void> {
    this.billedUsd += usd;
    this.perResponseNano = Math.max(this.perResponseNano, toNano(usd));
    await this.cover(1);
  }

  /** Holds what `responses` running at once may cost, taking what is missing in whole holds, at one go. */
  async cover(responses: number): Promise<void> {
    const short = responses * this.perResponseNano - (this.heldNano - toNano(this.billedUsd));
    if (short <= 0) return;
    const usd = Math.ceil(short / toNano(this.holdUsd)) * this.holdUsd;
    const r = this.extend(usd);
    if (r) await r;
    this.heldNano += toNano(usd);
  }
}
