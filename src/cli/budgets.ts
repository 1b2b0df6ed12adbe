/**
 * `keyward budgets`: every budget the gateway enforces (users', teams', the global one) with what is
 * spent of it this period, the closest to its limit first, so an operator sees who is about to be
 * refused before they are. Spend comes from the SQLite ledger, or with `--redis` from the running
 * totals the instances share (every instance's spend, and what requests in flight have reserved).
 */
import { Command } from 'commander';
import { period, type PeriodInfo } from '../gateway/budget.js';
import { loadGatewayConfig, type GatewayConfigFile } from '../gateway/config.js';
import { RedisCounters } from '../store/redis.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { BudgetPeriod, Directory } from '../store/types.js';
import { dbOption, redisOption, runProgram, withDirectory, type StoreFlags } from './users.js';

interface BudgetLine {
  kind: 'user' | 'team' | 'global';
  name: string;
  period: string;
  spentUsd: number;
  budgetUsd?: number;
  softBudgetUsd?: number;
  /** Of the hard budget (or, with only a soft one, of that). */
  usedPercent: number;
  status: 'ok' | 'soft budget passed' | 'reached';
}

interface Budgeted {
  kind: BudgetLine['kind'];
  name: string;
  /** The budget counter's key, as the gateway names it. */
  key: string;
  per: PeriodInfo;
  periodKind: BudgetPeriod;
  budgetUsd?: number;
  softBudgetUsd?: number;
}

/** The budgets the directory and the config give, each with its counter's key for this period. */
function budgetsOf(dir: Directory, config: GatewayConfigFile, now: number): Budgeted[] {
  const out: Budgeted[] = [];
  for (const u of dir.listUsers()) {
    if (u.budgetUsd === undefined && u.softBudgetUsd === undefined) continue;
    const per = period(u.period ?? 'month', now);
    out.push({ kind: 'user', name: u.name, key: `b:u:${u.id}:${per.key}`, per, periodKind: u.period ?? 'month', budgetUsd: u.budgetUsd, softBudgetUsd: u.softBudgetUsd });
  }
  for (const [name, t] of Object.entries(config.teams ?? {})) {
    if (t.budgetUsd === undefined && t.softBudgetUsd === undefined) continue;
    const per = period(t.period ?? 'month', now);
    out.push({ kind: 'team', name, key: `b:t:${name}:${per.key}`, per, periodKind: t.period ?? 'month', budgetUsd: t.budgetUsd, softBudgetUsd: t.softBudgetUsd });
  }
  const g = config.globalBudget;
  if (g) {
    const per = period(g.period, now);
    out.push({ kind: 'global', name: 'gateway', key: `b:g:${per.key}`, per, periodKind: g.period, budgetUsd: g.usd });
  }
  return out;
}

/** This period's spend of a budget in the SQLite ledger, as the gateway counts it. */
function ledgerSpent(store: SqliteStore, b: Budgeted): number {
  const since = b.per.start;
  if (b.kind === 'global') return [...store.spendSince(since).values()].reduce((s, v) => s + v, 0);
  if (b.kind === 'team') return store.totals('team', { since }).find((t) => t.key === b.name)?.costUsd ?? 0;
  const id = b.key.slice(4, b.key.lastIndexOf(':'));
  return store.totals('user', { userId: id, since })[0]?.costUsd ?? 0;
}

function line(b: Budgeted, spentUsd: number): BudgetLine {
  const cap = b.budgetUsd ?? b.softBudgetUsd!;
  const status = b.budgetUsd !== undefined && spentUsd >= b.budgetUsd ? 'reached' : b.softBudgetUsd !== undefined && spentUsd >= b.softBudgetUsd ? 'soft budget passed' : 'ok';
  const l: BudgetLine = { kind: b.kind, name: b.name, period: `${b.periodKind} ${b.per.key.slice(1)}`, spentUsd, usedPercent: cap > 0 ? (100 * spentUsd) / cap : spentUsd > 0 ? Infinity : 0, status };
  if (b.budgetUsd !== undefined) l.budgetUsd = b.budgetUsd;
  if (b.softBudgetUsd !== undefined) l.softBudgetUsd = b.softBudgetUsd;
  return l;
}

function table(lines: BudgetLine[], source: string): string {
  if (lines.length === 0) return "no budgets: give one with 'keyward users set <name> --budget-usd 5', or in the config's teams or globalBudget\n";
  const usd = (v: number | undefined) => (v === undefined ? '—' : `$${v.toFixed(2)}`);
  const rows = lines.map((l) => [l.kind, l.name, l.period, `$${l.spentUsd.toFixed(4)}`, usd(l.budgetUsd), usd(l.softBudgetUsd), Number.isFinite(l.usedPercent) ? `${Math.round(l.usedPercent)}%` : '—', l.status === 'ok' ? '' : l.status]);
  const head = ['kind', 'name', 'period', 'spent', 'budget', 'soft', 'used', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([3, 4, 5, 6]);
  const fmt = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `budgets this period (${source})\n${fmt(head)}\n${rows.map(fmt).join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward budgets')
    .description("every budget the gateway enforces (users', teams', the global one) and what is spent of it this period, the closest to its limit first")
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--config <file>', "the gateway's config, for its teams' budgets and its global budget")
    .option('--json', 'machine-readable output')
    .action(async (o: StoreFlags & { config?: string; json?: boolean }) => {
      const config = o.config ? loadGatewayConfig(o.config) : {};
      const now = Date.now();
      await withDirectory(o, async (dir) => {
        const budgets = budgetsOf(dir, config, now);
        let lines: BudgetLine[];
        let source: string;
        if (o.redis) {
          // The totals every instance admits against: spend settled, and what requests in flight reserved.
          const counters = await RedisCounters.connect(o.redis);
          try {
            lines = await Promise.all(budgets.map(async (b) => line(b, (await counters.peek(b.key)) / 1e9)));
          } finally {
            await counters.close();
          }
          source = "from the instances' shared totals in Redis, requests in flight included at what they reserved";
        } else {
          // Without --redis the directory is the SQLite file, which holds the ledger too.
          const store = dir as SqliteStore;
          lines = budgets.map((b) => line(b, ledgerSpent(store, b)));
          source = `from the ledger in ${o.db}`;
        }
        lines.sort((a, b) => b.usedPercent - a.usedPercent || b.spentUsd - a.spentUsd);
        return o.json ? JSON.stringify({ at: new Date(now).toISOString(), budgets: lines.map((l) => ({ ...l, usedPercent: Number.isFinite(l.usedPercent) ? Math.round(l.usedPercent * 100) / 100 : null })) }, null, 2) + '\n' : table(lines, source);
      });
    });
  return runProgram(program, argv);
}
