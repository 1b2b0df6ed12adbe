/**
 * The budget hold of a long session (a relayed Realtime session), billed as it goes rather than
 * reserved in full up front: it holds `hold` USD ahead of its spend, taking another `hold` from the
 * budgets whenever less than that is left (a hold for each response running at once), and ends when
 * a budget refuses one. So a session never passes a hard budget by more than what one response costs
 * beyond the hold, and holds little of it while it runs.
 */
import { toNano } from './budget.js';

export class SessionHold {
  /** Nano-USD reserved in the counters, the opening hold included. */
  heldNano: number;
  billedUsd = 0;

  /** `extend(usd)` reserves more in the budgets; it throws (a GatewayHttpError) when one refuses. */
  constructor(
    readonly holdUsd: number,
    private readonly extend: (usd: number) => void | Promise<void>,
  ) {
    this.heldNano = toNano(holdUsd);
  }

  /** Bills a response; takes more of the budgets while less than one hold is left. Throws what `extend` throws. */
  async spend(usd: number): Promise<void> {
    this.billedUsd += usd;
    await this.cover(1);
  }

  /** Takes more of the budgets while less than `responses` holds are left: a hold for each response running at once. */
  async cover(responses: number): Promise<void> {
    while (this.heldNano - toNano(this.billedUsd) < responses * toNano(this.holdUsd)) {
      const r = this.extend(this.holdUsd);
      if (r) await r;
      this.heldNano += toNano(this.holdUsd);
    }
  }
}
