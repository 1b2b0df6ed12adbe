/**
 * `keyward history`: who changed which users and tokens, and when (users added, limits and budgets
 * set, users disabled by hand or by the anomaly guard, tokens issued, rotated and revoked). Each
 * change is recorded with it, in the same SQLite transaction, or in a Redis stream once Redis took it.
 */
import { Command } from 'commander';
import { KeywardError } from '../errors.js';
import type { Directory, DirectoryEvent } from '../store/types.js';
import { parseSince } from './usage.js';
import { dbOption, redisOption, runProgram, withDirectory, type StoreFlags } from './users.js';

/** Whether a change concerns the user: the user itself, or one of its tokens. */
function about(dir: Directory, e: DirectoryEvent, user: { id: string; name: string }): boolean {
  if (e.action.startsWith('user.')) return e.target === user.name;
  return dir.lookupToken(e.target)?.user.id === user.id;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward history')
    .description('who changed which gateway users and tokens, and when')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--since <when>', 'from this long ago (30m, 24h, 7d) or this date (default 30d)', (v: string) => parseSince(v))
    .option('--user <name>', 'only changes to this user and its tokens')
    .option('--limit <n>', 'at most this many changes (default 1000)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new KeywardError('KW_USAGE', `--limit must be a positive whole number, not '${v.slice(0, 20)}'`);
      return n;
    })
    .option('--json', 'machine-readable output')
    .action(async (o: StoreFlags & { since?: number; user?: string; limit?: number; json?: boolean }) => {
      const since = o.since ?? parseSince('30d');
      await withDirectory(o, async (dir) => {
        let events = await dir.history(since, o.limit ?? 1000);
        if (o.user !== undefined) {
          const u = dir.getUser(o.user);
          if (!u) throw new KeywardError('KW_USAGE', `no user '${o.user}'`, { hint: "list users with 'keyward users list'" });
          events = events.filter((e) => about(dir, e, u));
        }
        if (o.json) return JSON.stringify({ since: new Date(since).toISOString(), changes: events }, null, 2) + '\n';
        if (events.length === 0) return `no changes since ${new Date(since).toISOString()}\n`;
        return events.map((e) => `${new Date(e.ts).toISOString()}  ${e.actor}  ${e.action}  ${e.target}${e.detail ? `  ${e.detail}` : ''}\n`).join('');
      });
    });
  return runProgram(program, argv);
}
