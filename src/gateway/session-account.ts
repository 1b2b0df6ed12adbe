/**
 * The account of a relayed Realtime or Live session, or of a watched WebRTC call: each response the
 * provider reports is billed as it ends (a ledger row, a log line, the metrics, the budgets), the
 * budgets stay held ahead of the spend (SessionHold), tokens per minute count response by response,
 * the caller is judged again after each, and what was held is settled to what was billed at the end.
 * The gateway's own pieces it bills through (admission, the ledger, alerts) come in `SessionGateway`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AdmitResult, Counters, UserRecord } from '../store/types.js';
import type { AnomalyDetector } from './anomaly.js';
import type { Caller } from './auth.js';
import { sinceMs, type Admission, type Flight } from './flight.js';
import { GatewayHttpError } from './http-error.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { budgetPlan, keepLease, settle, tokenPlan, type Plan } from './policy.js';
import type { Prices } from './providers/prices.js';
import { isObject } from './providers/types.js';
import type { SessionCharge } from './realtime-dialects.js';
import type { SessionAccount, SessionEnd } from './realtime-relay.js';
import { transcriptionModel } from './realtime-usage.js';
import { SessionHold } from './session-hold.js';

export type SessionAccountOf = SessionAccount & { settleUnused(): void };

/** What a session's account needs of the gateway. */
export interface SessionGateway {
  readonly counters: Counters;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly anomaly: AnomalyDetector | undefined;
  /** The gateway's admission of a plan; a refusal throws a GatewayHttpError. */
  admit(p: Plan, caller: Caller): Admission | Promise<Admission>;
  /** What a request of this user would count now, for its budgets in the current periods. */
  planNow(user: UserRecord, now: number, reqId: string): Plan;
  /** The price table in force (a reload may change it). */
  prices(): Prices;
  /** The ledger row and the log line of one billed response, under its own id. */
  record(f: Flight, id: string, model: string, tokensIn: number, tokensOut: number, costUsd: number, latencyMs: number, status: number, outcome: string): void;
  /** The soft budgets' alerts after a response. */
  softAlerts(user: UserRecord, p: Plan, a: AdmitResult | undefined, heldNano: number, spentUsd: number): void;
  /** Judges the session's credential again (a revoked token, a disabled user). */
  authenticate(credential: IncomingHttpHeaders): Caller | Promise<Caller>;
  /** The shared directory's version now. */
  dirVersion(): number | undefined;
  /** Why the user may not call this model, or undefined. */
  modelRefusal(user: UserRecord, model: string): string | undefined;
}

/** A session's account: each response billed (ledger row, log line, metrics, budgets), the hold settled at the end. */
export function sessionAccount(g: SessionGateway, f: Flight, holdUsd: number, credential: IncomingHttpHeaders): SessionAccountOf {
  const opening = f.plan!;
  let last = { plan: opening, admitted: f.admitted, heldNano: opening.reservedNano };
  let responses = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  /** The plan whose budgets the session holds in: the opening one, until a budget period ends while it runs. */
  let budgets = opening;
  /** Whether `hold` is held in `budgets` (not when the next period's budget refused it). */
  let holding = true;
  /** Billed in the budget periods the session ran in before this one. */
  let billedBefore = 0;
  const holdIn = () =>
    new SessionHold(holdUsd, (usd) => {
      const q = budgetPlan(budgets, usd);
      if (q.checks.length === 0) return;
      // Counted whatever the directory did meanwhile: the caller is judged again after every response.
      const r = g.admit(q, { ...f.caller, dirVersion: undefined });
      const done = (x: Admission) => {
        if (x.stale) return;
        last = { plan: q, admitted: x.admitted, heldNano: hold.heldNano + q.reservedNano };
      };
      if (r instanceof Promise) return r.then(done);
      done(r);
    });
  let hold = holdIn();
  const budgetKeys = (p: Plan) => [p.userBudget, p.teamBudget, p.globalBudget].map((k) => (k >= 0 ? p.checks[k]!.key : '')).join('|');
  /**
   * A budget period (the user's day or month, the team's, the global one) ended while the session
   * ran: what it held and billed there is settled there, and it holds in the new period from this
   * response on, as a session opened now would. A new period's budget that refuses the hold still
   * counts the response, which was used, and ends the session.
   */
  const nextPeriod = async (costUsd: number): Promise<SessionEnd | undefined> => {
    if (!holding) return undefined;
    const now = Date.now();
    const fresh = budgetPlan(g.planNow(f.caller.user, now, f.reqId), holdUsd);
    if (budgetKeys(fresh) === budgetKeys(budgets)) return undefined;
    const was = budgets === opening ? budgetPlan(opening, 0) : budgets;
    const s = settle(g.counters, was, now, 0, hold.billedUsd, hold.heldNano);
    if (s) await s;
    billedBefore += hold.billedUsd;
    budgets = fresh;
    hold = holdIn();
    if (fresh.checks.length === 0) return undefined;
    try {
      const r = g.admit(fresh, { ...f.caller, dirVersion: undefined });
      const x = r instanceof Promise ? await r : r;
      last = { plan: fresh, admitted: x.admitted, heldNano: fresh.reservedNano };
      return undefined;
    } catch (err) {
      holding = false;
      const counted = settle(g.counters, fresh, now, 0, costUsd, 0);
      if (counted) await counted;
      throw err;
    }
  };
  /** Takes more of the budgets: why the session ends when they refuse (or cannot be reached), else undefined. */
  const holdingMore = async (take: () => Promise<SessionEnd | undefined | void>): Promise<SessionEnd | undefined> => {
    try {
      return (await take()) ?? undefined;
    } catch (err) {
      if (err instanceof GatewayHttpError) return { type: err.type, message: err.message };
      g.log.error({ err, reqId: f.reqId }, 'holding more budget for a Realtime session failed');
      return { type: 'store_unavailable', message: 'budgets cannot be checked right now (the usage store is unreachable), so the session is ended' };
    }
  };
  const stopLease = keepLease(g.counters, opening, (err) => g.log.error({ err, reqId: f.reqId }, "renewing a Realtime session's place among the requests in flight failed"));
  const closeWith = (outcome: string, billed: boolean) => {
    stopLease();
    if (f.settled) return;
    f.settled = true;
    if (f.admitted) {
      const failed = (err: unknown) => g.log.error({ err, reqId: f.reqId }, 'settling a Realtime session failed');
      // Its tokens were counted response by response. After a new budget period, the opening plan
      // releases what else it counted (its place in flight) and the new period's budgets are settled.
      const moved = budgets !== opening;
      const s = settle(g.counters, opening, f.admitted.now, opening.reservedTokens, moved ? 0 : hold.billedUsd, moved ? 0 : hold.heldNano);
      if (s) s.catch(failed);
      const t = moved && holding ? settle(g.counters, budgets, Date.now(), 0, hold.billedUsd, hold.heldNano) : undefined;
      if (t) t.catch(failed);
    }
    if (!billed) return;
    const ms = sinceMs(f.start);
    g.log.info({ reqId: f.reqId, user: f.caller.user.name, provider: f.upstream, model: f.model, responses, tokensIn, tokensOut, costUsd: billedBefore + hold.billedUsd, ms, outcome }, 'Realtime session closed');
    g.metrics.request(f.route.kind, f.upstream, f.status, outcome);
    g.metrics.took(f.route.kind, f.upstream, ms / 1000);
  };
  return {
    reqId: f.reqId,
    refuse(event) {
      const session = event.type === 'session.update' && isObject(event.session) ? event.session : undefined;
      if (!session) return undefined;
      const model = session.model;
      if (model !== undefined && model !== f.model && model !== f.alias) {
        return `this session runs ${f.alias ?? f.model}; the gateway does not let it switch to another model (open a new session for ${typeof model === 'string' ? model.slice(0, 60) : 'it'})`;
      }
      // Transcribing what the user says is billed at its own model, which must be one the user may call.
      const transcribe = transcriptionModel(session);
      if (transcribe !== undefined) return g.modelRefusal(f.caller.user, transcribe);
      return undefined;
    },
    cover: (n: number) => holdingMore(() => hold.cover(n)),
    async bill(charge: SessionCharge): Promise<SessionEnd | undefined> {
      let model: string;
      let tokensInNow: number;
      let tokensOutNow: number;
      let costUsd: number;
      if ('kinds' in charge) {
        const u = charge.kinds;
        model = charge.model ?? f.model;
        [tokensInNow, tokensOutNow] = [u.tokensIn, u.tokensOut];
        costUsd = g.prices().realtimeCost(model, u);
      } else {
        // Not said by the provider: the dearer of what bills that way.
        model = charge.model ?? (charge.seconds ? 'whisper-1' : 'gpt-4o-transcribe');
        [tokensInNow, tokensOutNow] = [charge.tokensIn, charge.tokensOut];
        costUsd = g.prices().cost(model, charge.tokensIn, charge.tokensOut);
      }
      responses++;
      tokensIn += tokensInNow;
      tokensOut += tokensOutNow;
      const user = f.caller.user;
      g.record(f, `${f.reqId}.${responses}`, model, tokensInNow, tokensOutNow, costUsd, sinceMs(f.start), 200, 'ok');
      g.metrics.usage(f.upstream, model, tokensInNow, tokensOutNow, costUsd);
      g.anomaly?.spent(user, costUsd);
      const refused = await holdingMore(async () => (await nextPeriod(costUsd)) ?? hold.spend(costUsd));
      if (refused) return refused;
      g.softAlerts(user, last.plan, last.admitted, last.heldNano, hold.billedUsd);
      // Tokens per minute hold in a session too: each response's count in the minute it ended in
      // (whether or not the limit allows them: they were used), and one past the limit ends the session.
      const tq = tokenPlan(opening, tokensInNow + tokensOutNow);
      if (tq.checks.length > 0) {
        try {
          const r = g.admit(tq, { ...f.caller, dirVersion: undefined });
          if (r instanceof Promise) await r;
        } catch (err) {
          const counted = settle(g.counters, tq, Date.now(), tokensInNow + tokensOutNow, 0);
          if (counted) await counted.catch((e: unknown) => g.log.error({ err: e, reqId: f.reqId }, "counting a session's tokens failed"));
          if (err instanceof GatewayHttpError) return { type: err.type, message: `${err.message.replace(/; retry in \d+s$/, '')}, so the gateway ended the session` };
          throw err;
        }
      }
      // A token revoked or a user disabled since the session opened ends it at its next response.
      try {
        const again = g.authenticate(credential);
        const now = again instanceof Promise ? await again : again;
        if (now.user.disabled) throw new GatewayHttpError(403, 'permission_error', 'this user is disabled');
        f.caller = { ...now, dirVersion: g.dirVersion() };
      } catch (err) {
        if (err instanceof GatewayHttpError) return { type: 'session_revoked', message: `the session's credential is no longer valid (${err.message.slice(0, 120)}), so the gateway ended it` };
        throw err;
      }
      return undefined;
    },
    close: (outcome) => closeWith(outcome, true),
    settleUnused: () => closeWith('refused', false),
  };
}
