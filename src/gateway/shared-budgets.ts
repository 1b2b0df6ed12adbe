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
import type { BudgetPeriod } from '../store/types.js';
import { budgetedIds, ledgerSpend, teamOfKey, teamSpend, type GlobalBudget } from './policy.js';
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
  /** The teams' policies as they are now (the config can change a team's period on SIGHUP). */
  teams?: () => ReadonlyMap<string, { period?: BudgetPeriod }>;
  log: Logger;
  /** How often an idle instance looks for a Redis that lost its data (ms; default 5000). */
  checkEveryMs?: number;
}

/** Each budgeted user's period: a budget given, or its period changed, is a counter that starts now. */
function budgetedPeriods(users: UserRecord[]): Map<string, BudgetPeriod> {
  const ids = budgetedIds(users);
  return new Map(users.filter((u) => ids.has(u.id)).map((u) => [u.id, u.period ?? 'month']));
}

/** Each team's period as the config says now. */
function teamPeriodsOf(teams: SharedBudgetsOptions['teams']): Map<string, BudgetPeriod> {
  return new Map([...(teams?.() ?? [])].map(([name, t]) => [name, t.period ?? 'month']));
}

/**
 * Puts this ledger's spend into the shared budgets now if this Redis epoch has not had it, and whenever
 * the epoch changes. Also, every `checkEveryMs`, for a budget whose counter is new since the last look
 * (on any machine): a user given a budget, a user's or a team's period changed. This ledger's spend
 * for it this period goes in, so that the counter counts what was spent before, on every instance.
 * The spend of this instance's requests between the change and the look is then counted twice (a few
 * seconds' worth, once): a budget can refuse a little early, never overshoot. Which users it has done
 * this for, and in which period, is noted in the ledger file, so an instance that was stopped when a
 * budget was given adds its share when it starts again.
 */
export async function keepSharedBudgets(o: SharedBudgetsOptions): Promise<void> {
  let first = true;
  let budgeted = budgetedPeriods(o.users());
  let teamPeriods = teamPeriodsOf(o.teams);
  /** Written whenever the set changes, so that a restart still knows which budgets came while the instance was down. */
  const remember = (b: Map<string, BudgetPeriod>, epoch = o.counters.epoch): void => o.ledger.setMeta(USERS_NOTE, JSON.stringify({ epoch, ids: [...b.keys()], periods: Object.fromEntries(b) }));
  /** The note of an earlier run in this epoch; a note from before periods were noted takes each user's period as unchanged. */
  const remembered = (epoch: string, now: Map<string, BudgetPeriod>): Map<string, BudgetPeriod> | undefined => {
    try {
      const note = JSON.parse(o.ledger.meta(USERS_NOTE) ?? 'null') as { epoch?: string; ids?: string[]; periods?: Record<string, BudgetPeriod> } | null;
      if (note?.epoch !== epoch || !Array.isArray(note.ids)) return undefined;
      return new Map(note.ids.map((id) => [id, note.periods?.[id] ?? now.get(id) ?? 'month']));
    } catch {
      return undefined;
    }
  };
  const put = async (epoch: string): Promise<void> => {
    const atStart = first;
    first = false;
    const { claimed, previous } = o.ledger.claimMeta(EPOCH_NOTE, epoch);
    // Already counted in this epoch (a restart): only the budgets given or changed since the last run are new.
    const now = budgetedPeriods(o.users());
    budgeted = (!claimed && atStart ? remembered(epoch, now) : undefined) ?? now;
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
    const now = budgetedPeriods(users);
    const fresh = users.filter((u) => now.has(u.id) && budgeted.get(u.id) !== now.get(u.id));
    const dropped = [...budgeted.keys()].some((id) => !now.has(id));
    const teamsNow = teamPeriodsOf(o.teams);
    // A team's spend always counts under its period's key: only a period that changed starts a new counter.
    const freshTeams = [...teamsNow].filter(([name, p]) => teamPeriods.has(name) && teamPeriods.get(name) !== p);
    const previous = budgeted;
    const previousTeams = teamPeriods;
    budgeted = now;
    teamPeriods = teamsNow;
    if (fresh.length === 0 && !dropped && freshTeams.length === 0) return;
    const adj = [...ledgerSpend(o.ledger, fresh, undefined), ...freshTeams.flatMap(([name, p]) => teamSpend(o.ledger, name, p))];
    try {
      if (adj.length > 0) await o.counters.seed(adj);
    } catch (err) {
      // Not written: the next look tries these again.
      budgeted = previous;
      teamPeriods = previousTeams;
      throw err;
    }
    remember(budgeted);
    if (adj.length === 0) return;
    const usd = adj.reduce((sum, a) => sum + a.delta / NANO, 0);
    o.log.info({ users: fresh.map((u) => u.name), teams: freshTeams.map(([name]) => name), usd: Math.round(usd * 1e6) / 1e6 }, "added this instance's earlier spend this period to budgets given or changed since the last look");
  };
  o.counters.watchEpoch(o.checkEveryMs ?? 5000, () => lookForNewBudgets().catch((err: unknown) => o.log.error({ err }, 'adding earlier spend to newly given budgets failed; will retry')));
}
