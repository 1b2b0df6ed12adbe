/**
 * Budgets kept in a shared Redis survive Redis losing its data. Redis holds only the running totals;
 * every instance's SQLite ledger holds the rows it billed. When an instance first meets a Redis
 * epoch (its first start on that Redis, or an admission or the periodic check finding a Redis that
 * restarted empty), it adds its own ledger's spend for the current periods to the budget counters.
 * The ledgers are disjoint, so the instances' shares add up to the whole spend; the epoch claimed in
 * the ledger file makes each file count once, even when several processes share it.
 */
import type { RedisCounters } from '../store/redis.js';
import type { Ledger, UserRecord } from '../store/types.js';
import type { Logger } from './logger.js';
import { budgetedIds, ledgerSpend, teamOfKey, type GlobalBudget } from './policy.js';
import { NANO } from './budget.js';

const EPOCH_NOTE = 'redis-budget-epoch';
/** The users whose spend this ledger has put into the budgets of a Redis epoch, kept across restarts. */
const USERS_NOTE = 'redis-budgeted-users';

export interface EpochLedger extends Ledger {
  meta(key: string): string | undefined;
  claimMeta(key: string, value: string): { claimed: boolean; previous: string | undefined };
  setMeta(key: string, value: string): void;
}

export interface SharedBudgetsOptions {
  counters: RedisCounters;
  ledger: EpochLedger;
  users: () => UserRecord[];
  global?: GlobalBudget;
  log: Logger;
  /** How often an idle instance looks for a Redis that lost its data (ms; default 5000). */
  checkEveryMs?: number;
}

/**
 * Puts this ledger's spend into the shared budgets now if this Redis epoch has not had it, and whenever
 * the epoch changes. Also, every `checkEveryMs`, for a user who has been given a budget since the last
 * look (on any machine): this ledger's spend for that user this period, so that the budget counts what
 * was spent before it, on every instance. The spend of this instance's requests between the budget's
 * arrival and the look is then counted twice (a few seconds' worth, once): a budget can refuse a
 * little early, never overshoot. Which users it has done this for is noted in the ledger file, so an
 * instance that was stopped when a budget was given adds its share when it starts again.
 */
export async function keepSharedBudgets(o: SharedBudgetsOptions): Promise<void> {
  let first = true;
  let budgeted = budgetedIds(o.users());
  /** Written whenever the set changes, so that a restart still knows which budgets came while the instance was down. */
  const remember = (ids: Set<string>, epoch = o.counters.epoch): void => o.ledger.setMeta(USERS_NOTE, JSON.stringify({ epoch, ids: [...ids] }));
  const remembered = (epoch: string): Set<string> | undefined => {
    try {
      const note = JSON.parse(o.ledger.meta(USERS_NOTE) ?? 'null') as { epoch?: string; ids?: string[] } | null;
      return note?.epoch === epoch && Array.isArray(note.ids) ? new Set(note.ids) : undefined;
    } catch {
      return undefined;
    }
  };
  const put = async (epoch: string): Promise<void> => {
    const atStart = first;
    first = false;
    const { claimed, previous } = o.ledger.claimMeta(EPOCH_NOTE, epoch);
    // Already counted in this epoch (a restart): only the users budgeted since the last run are new.
    budgeted = (!claimed && atStart ? remembered(epoch) : undefined) ?? budgetedIds(o.users());
    if (!claimed) {
      if (atStart) remember(budgeted, epoch);
      return;
    }
    const adj = ledgerSpend(o.ledger, o.users(), o.global, Date.now(), true);
    try {
      await o.counters.seed(adj);
    } catch (err) {
      // Not written: let the next look (or the next start) try again.
      o.ledger.setMeta(EPOCH_NOTE, previous ?? '');
      throw err;
    }
    remember(budgeted, epoch);
    const perUser = adj.filter((a) => a.key.startsWith('b:u:'));
    const usd = perUser.reduce((s, a) => s + a.delta / NANO, 0);
    const teams = new Set(adj.filter((a) => a.key.startsWith('b:t:')).map((a) => teamOfKey(a.key))).size;
    const fields = { epoch, users: perUser.length, teams, usd: Math.round(usd * 1e6) / 1e6 };
    if (atStart) o.log.info(fields, "added this instance's spend for the current periods to the shared budgets");
    else o.log.warn(fields, "Redis lost its data (restarted empty?): put this instance's spend for the current periods back into the shared budgets; run Redis with persistence (AOF or RDB)");
  };
  const onChange = (epoch: string) => void put(epoch).catch((err: unknown) => o.log.error({ err }, 'putting the spend back into the shared budgets failed; will retry'));
  o.counters.onEpochChange(onChange);
  await put(o.counters.epoch);
  const lookForNewBudgets = async (): Promise<void> => {
    const users = o.users();
    const now = budgetedIds(users);
    const fresh = users.filter((u) => now.has(u.id) && !budgeted.has(u.id));
    const changed = fresh.length > 0 || [...budgeted].some((id) => !now.has(id));
    budgeted = now;
    if (!changed) return;
    if (fresh.length === 0) {
      remember(budgeted);
      return;
    }
    const adj = ledgerSpend(o.ledger, fresh, undefined);
    try {
      if (adj.length > 0) await o.counters.seed(adj);
    } catch (err) {
      // Not written: the next look tries these users again.
      for (const u of fresh) budgeted.delete(u.id);
      throw err;
    }
    remember(budgeted);
    const usd = adj.reduce((sum, a) => sum + a.delta / NANO, 0);
    o.log.info({ users: fresh.map((u) => u.name), usd: Math.round(usd * 1e6) / 1e6 }, "added this instance's earlier spend this period to budgets given since the last look");
  };
  o.counters.watchEpoch(o.checkEveryMs ?? 5000, () => lookForNewBudgets().catch((err: unknown) => o.log.error({ err }, 'adding earlier spend to newly given budgets failed; will retry')));
}
