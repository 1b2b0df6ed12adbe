/** `keyward usage [--user U] [--since 24h] [--by user|model|provider|route|token|tag|team]`: spend and tokens per user, model, provider, route, token, tag or team, from the gateway's ledger. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { UsageByKey, UsageDimension } from '../store/types.js';
import { KeywardError } from '../errors.js';
import { dbOption, runProgram, withStore } from './users.js';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `12h`, `30d`, `2w` in ms; undefined for anything else. */
function lengthOf(v: string): number | undefined {
  const m = /^(\d+)([mhdw])$/.exec(v);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

/** A length of time such as 90m, 12h, 30d or 2w, in ms. */
export function parseDuration(v: string): number {
  const ms = lengthOf(v) ?? 0;
  if (!(ms > 0) || !Number.isSafeInteger(ms)) throw new InvalidArgumentError('use a length of time like 90m, 12h, 30d or 2w');
  return ms;
}

export function parseSince(v: string, now = Date.now()): number {
  const ms = lengthOf(v);
  if (ms !== undefined) return now - ms;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError('use a duration like 30m, 24h, 7d, 2w or a date like 2026-11-01');
  return t;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward usage')
    .description('show gateway usage from the ledger')
    .addOption(dbOption())
    .option('--user <name>', 'only this user')
    .option('--since <when>', 'from this long ago (30m, 24h, 7d) or this date (default 24h)', (v: string) => parseSince(v))
    .addOption(new Option('--by <what>', 'one line per user, model, provider, route (chat, speech, realtime…), token, tag (x-keyward-tag) or team (what its members spent while in it)').choices(['user', 'model', 'provider', 'route', 'token', 'tag', 'team']).default('user'))
    .option('--json', 'machine-readable output')
    .action((o: { db: string; user?: string; since?: number; by: UsageDimension; json?: boolean }) => {
      const since = o.since ?? parseSince('24h');
      withStore(o.db, (s) => {
        let userId: string | undefined;
        if (o.user !== undefined) {
          const u = s.getUser(o.user);
          if (!u) throw new KeywardError('KW_USAGE', `no user '${o.user}'`, { hint: "list users with 'keyward users list'" });
          userId = u.id;
        }
        const names = new Map(s.listUsers().map((u) => [u.id, u.name]));
        // A token's line names its user too: a token spending more than it should is the one to revoke.
        const label = (key: string): string => {
          if (o.by === 'user') return names.get(key) ?? key;
          if (o.by === 'tag') return key === '' ? '(untagged)' : key;
          if (o.by === 'team') return key === '' ? '(no team)' : key;
          if (o.by !== 'token') return key;
          const t = s.lookupToken(key);
          return t ? `${key} (${t.user.name})` : key;
        };
        const lines: Array<[string, UsageByKey]> = s.totals(o.by, { userId, since }).map((r) => [label(r.key), r]);
        if (o.json) {
          const entries = lines.map(([name, { key, ...r }]) => (o.by === 'token' ? { token: key, user: s.lookupToken(key)?.user.name, ...r } : { [o.by]: o.by === 'user' ? name : (o.by === 'tag' || o.by === 'team') && key === '' ? null : key, ...r }));
          process.stdout.write(JSON.stringify({ since: new Date(since).toISOString(), [`${o.by}s`]: entries }, null, 2) + '\n');
          return;
        }
        if (lines.length === 0) {
          process.stdout.write(`no usage since ${new Date(since).toISOString()}\n`);
          return;
        }
        const rows = lines.map(([name, r]) => [name, String(r.requests), String(r.tokensIn), String(r.tokensOut), `$${r.costUsd.toFixed(6)}`]);
        const head = [o.by, 'requests', 'tokens in', 'tokens out', 'cost'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
        process.stdout.write(`usage since ${new Date(since).toISOString()}\n${line(head)}\n${rows.map(line).join('\n')}\n`);
      });
    });
  return runProgram(program, argv);
}
