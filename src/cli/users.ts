/**
 * `keyward users add|list|set|disable|enable`: gateway users and their limits, in the gateway's SQLite
 * store, or in Redis with `--redis` (the copy every instance on every machine follows).
 */
import { hostname, userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KeywardError } from '../errors.js';
import { networkError } from '../gateway/networks.js';
import { teamNameError } from '../store/records.js';
import { RedisDirectory } from '../store/redis-directory.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Directory, UserPolicy, UserRecord } from '../store/types.js';

export const DEFAULT_DB = 'keyward.db';

export function dbOption(): Option {
  return new Option('--db <path>', 'gateway database (SQLite)').env('KEYWARD_DB').default(DEFAULT_DB);
}

/** Runs a commander program; help and version exit 0, usage errors 2 (commander prints them). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  program.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') return 0;
    throw err;
  }
  return 0;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** A TCP port to listen on; 0 lets the system pick a free one. */
export function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)');
  return n;
}

export function usd(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n)) throw new InvalidArgumentError('must be an amount in USD, like 5 or 2.50');
  return n;
}

function periodArg(v: string): 'day' | 'month' {
  if (v !== 'day' && v !== 'month') throw new InvalidArgumentError("must be 'day' or 'month'");
  return v;
}

function networks(v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('must list at least one address or CIDR range, comma-separated');
  for (const e of list) {
    const err = networkError(e);
    if (err) throw new InvalidArgumentError(err);
  }
  return list;
}

function teamArg(v: string): string {
  const err = teamNameError(v);
  if (err) throw new InvalidArgumentError(err);
  return v;
}

function models(v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('must list at least one model, comma-separated');
  return list;
}

/** `users set --rpm none` clears a limit (commander turns a parser's null into '', hence a marker). */
const CLEAR = 'none';
function orNone<T>(parse: (v: string) => T): (v: string) => T | typeof CLEAR {
  return (v) => (v === CLEAR ? CLEAR : parse(v));
}

interface PolicyFlags {
  rpm?: number | null;
  rpd?: number | null;
  tpm?: number | null;
  parallel?: number | null;
  budgetUsd?: number | null;
  softBudgetUsd?: number | null;
  period?: 'day' | 'month';
  models?: string[] | null;
  allowIps?: string[] | null;
  team?: string | null;
}

function policyOptions(cmd: Command, clearable: boolean): Command {
  const w = <T>(p: (v: string) => T) => (clearable ? orNone(p) : p);
  const none = clearable ? " ('none' clears it)" : '';
  return cmd
    .option('--rpm <n>', `requests per minute${none}`, w(positiveInt))
    .option('--rpd <n>', `requests per day${none}`, w(positiveInt))
    .option('--tpm <n>', `tokens per minute${none}`, w(positiveInt))
    .option('--parallel <n>', `requests in flight at once, streams included${none}`, w(positiveInt))
    .option('--budget-usd <x>', `hard budget in USD per period${none}`, w(usd))
    .option('--soft-budget-usd <y>', `soft budget in USD per period: one alert a period${none}`, w(usd))
    .option('--period <p>', 'budget period: day or month (default month)', periodArg)
    .option('--models <a,b>', `models this user may call${none}`, w(models))
    .option('--allow-ips <cidrs>', `networks this user may call from, like 10.0.0.0/8,203.0.113.7${none}`, w(networks))
    .option('--team <name>', `the team this user's spend also counts for (its budget is the gateway config's teams.<name>)${none}`, w(teamArg));
}

function describePolicy(u: UserPolicy): string {
  const parts: string[] = [];
  if (u.rpm !== undefined) parts.push(`rpm ${u.rpm}`);
  if (u.rpd !== undefined) parts.push(`rpd ${u.rpd}`);
  if (u.tpm !== undefined) parts.push(`tpm ${u.tpm}`);
  if (u.parallel !== undefined) parts.push(`parallel ${u.parallel}`);
  if (u.budgetUsd !== undefined) parts.push(`budget $${u.budgetUsd}/${u.period ?? 'month'}`);
  if (u.softBudgetUsd !== undefined) parts.push(`soft $${u.softBudgetUsd}/${u.period ?? 'month'}`);
  if (u.models) parts.push(`models ${u.models.join(',')}`);
  if (u.allowIps) parts.push(`from ${u.allowIps.join(',')}`);
  if (u.team !== undefined) parts.push(`team ${u.team}`);
  return parts.length ? parts.join(', ') : 'no limits';
}

export function describeUser(u: UserRecord): string {
  return `${u.name} (${u.id})${u.disabled ? ` DISABLED${u.disabledReason ? ` [${u.disabledReason}]` : ''}` : ''}: ${describePolicy(u)}`;
}

export function redisOption(): Option {
  return new Option('--redis <url>', "the gateways' shared Redis (redis://host:port): users and tokens live there, for every instance").env('KEYWARD_REDIS');
}

/** Meta key set in the SQLite file by `keyward gateway --redis`: its users and tokens were copied to Redis. */
export const MOVED_TO_REDIS = 'directory-in-redis';

export interface StoreFlags {
  db: string;
  redis?: string;
}

/** Who the CLI's changes are recorded as in `keyward history`: the OS user and the machine. */
export function cliActor(): string {
  let user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the environment's name stands.
  }
  return `${user}@${hostname()}`;
}

/** The SQLite file's directory, unless its users and tokens moved to Redis. */
function localDirectory(db: string): SqliteStore {
  const s = new SqliteStore(db);
  const moved = s.meta(MOVED_TO_REDIS);
  if (moved === undefined) return s;
  s.close();
  // A change written here would never reach the gateways, which read Redis: refuse rather than mislead.
  throw new KeywardError('KW_USAGE', `the users and tokens of '${db}' live in Redis (${moved}) since a gateway started with --redis on it`, {
    hint: `pass --redis <url> (or set KEYWARD_REDIS) so every instance sees the change`,
  });
}

/**
 * Runs `fn` on the directory the flags name: Redis when `--redis` is given (every write is confirmed by
 * Redis before `fn`'s result is printed), else the SQLite file. Changes are recorded as `cliActor()`.
 */
export async function withDirectory(o: StoreFlags, fn: (dir: Directory) => string | Promise<string>): Promise<void> {
  const dir = o.redis ? await RedisDirectory.connect(o.redis, { subscribe: false }) : localDirectory(o.db);
  try {
    dir.actor = cliActor();
    const out = await fn(dir);
    if (dir instanceof RedisDirectory) await dir.flush();
    process.stdout.write(out);
  } finally {
    dir.close();
  }
}

export function withStore<T>(db: string, fn: (store: SqliteStore) => T): T {
  const store = new SqliteStore(db);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward users').description('manage gateway users (limits, budgets, models)');

  policyOptions(program.command('add <name>').description('add a user').addOption(dbOption()).addOption(redisOption()), false).action(async (name: string, o: PolicyFlags & StoreFlags) => {
    const { db, redis, ...flags } = o;
    const policy: UserPolicy = {};
    for (const [k, v] of Object.entries(flags)) if (v !== undefined && v !== null) (policy as Record<string, unknown>)[k] = v;
    if (policy.softBudgetUsd !== undefined && policy.budgetUsd !== undefined && policy.softBudgetUsd > policy.budgetUsd) {
      process.stderr.write('keyward: note: the soft budget is above the hard budget, so its alert can never fire\n');
    }
    await withDirectory({ db, redis }, (s) => `added ${describeUser(s.addUser(name, policy))}\n`);
  });

  program
    .command('list')
    .description('list users')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--json', 'machine-readable output')
    .action(async (o: StoreFlags & { json?: boolean }) => {
      await withDirectory(o, (s) => {
        const users = s.listUsers();
        if (o.json) return JSON.stringify(users, null, 2) + '\n';
        if (users.length === 0) return "no users yet; add one with 'keyward users add <name>'\n";
        return users.map((u) => describeUser(u) + '\n').join('');
      });
    });

  policyOptions(program.command('set <name>').description("change a user's limits").addOption(dbOption()).addOption(redisOption()), true).action(async (name: string, o: PolicyFlags & StoreFlags) => {
    const { db, redis, ...flags } = o;
    const patch = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, (v as unknown) === CLEAR ? null : v])) as PolicyFlags;
    await withDirectory({ db, redis }, (s) => `updated ${describeUser(s.setUser(name, patch))}\n`);
  });

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    program
      .command(`${verb} <name>`)
      .description(disabled ? 'refuse every request of this user at once, on every instance' : 'allow a disabled user again')
      .addOption(dbOption())
      .addOption(redisOption())
      .action(async (name: string, o: StoreFlags) => {
        await withDirectory(o, (s) => `${disabled ? 'disabled' : 'enabled'} ${describeUser(s.setDisabled(name, disabled))}\n`);
      });
  }

  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return runProgram(program, argv);
}
