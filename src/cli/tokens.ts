/**
 * `keyward tokens issue|rotate|revoke|list`: gateway tokens (shown once at issue; only their hashes are
 * stored), in the SQLite store or, with `--redis`, in the Redis every instance follows.
 */
import { Command, InvalidArgumentError } from 'commander';
import { isKeywardError, KeywardError } from '../errors.js';
import { issueToken, parseScopes } from '../gateway/tokens.js';
import type { TokenRecord, TokenScope } from '../store/types.js';
import { parseDuration } from './usage.js';
import { dbOption, redisOption, runProgram, withDirectory, type StoreFlags } from './users.js';

function scopesOption(v: string): TokenScope[] {
  try {
    return parseScopes(v);
  } catch (err) {
    if (isKeywardError(err)) throw new InvalidArgumentError(`${err.message}; ${err.hint ?? ''}`);
    throw err;
  }
}

/** `, scopes app, valid until …` for the note that goes with a new token. */
function describeIssued(t: TokenRecord): string {
  const only = t.scopes !== undefined ? `, scopes ${t.scopes.join(',')}` : '';
  return t.expiresAt !== undefined ? `${only}, valid until ${new Date(t.expiresAt).toISOString()}` : only;
}

/** A token's id, from the id or from the whole token (`kw_<id>_…`) pasted in its place. */
function idOf(given: string): string {
  return given.startsWith('kw_') ? given.slice(3, 15) : given;
}

const iso = (ms: number) => new Date(ms).toISOString();

function live(t: TokenRecord, now: number): boolean {
  return t.revokedAt === undefined && (t.expiresAt === undefined || t.expiresAt > now);
}

function state(t: TokenRecord, now = Date.now()): string {
  if (t.revokedAt !== undefined) return `  REVOKED ${new Date(t.revokedAt).toISOString()}`;
  if (t.expiresAt === undefined) return '';
  return `  ${t.expiresAt <= now ? 'EXPIRED' : 'expires'} ${new Date(t.expiresAt).toISOString()}`;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward tokens').description('issue, rotate and revoke gateway tokens');

  program
    .command('issue <user>')
    .description('issue a token for a user (printed once; store it now)')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--expires-in <time>', 'stop accepting it after this long (90m, 12h, 30d, 2w); without it a token lasts until revoked', parseDuration)
    .option('--scopes <list>', 'the APIs it may call, from app (POST /api/ai/chat), openai, anthropic, gemini; e.g. --scopes app for a token shipped in a browser or app bundle; without it, all', scopesOption)
    .action(async (user: string, o: StoreFlags & { expiresIn?: number; scopes?: TokenScope[] }) => {
      let note = '';
      const expiresAt = o.expiresIn !== undefined ? Date.now() + o.expiresIn : undefined;
      // The token is printed only once the store has confirmed it: a token that was never stored is useless.
      await withDirectory(o, (s) => {
        const { token, record } = issueToken(s, user, { expiresAt, scopes: o.scopes });
        note = `token ${record.id} issued for ${s.getUser(record.userId)?.name ?? user}${describeIssued(record)}; it is shown only this once (revoke with 'keyward tokens revoke ${record.id}')\n`;
        return `${token}\n`;
      });
      process.stderr.write(note);
    });

  program
    .command('rotate <token-id>')
    .description('issue a new token like this one (same user, scopes and end), and end this one at once or after --grace')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--grace <time>', 'keep the old token working this long (90m, 12h, 7d), while the new one is rolled out; without it the old one is revoked at once', parseDuration)
    .action(async (given: string, o: StoreFlags & { grace?: number }) => {
      let note = '';
      await withDirectory(o, (s) => {
        const id = idOf(given);
        const found = s.lookupToken(id);
        if (!found) throw new KeywardError('KW_USAGE', `no token '${id.slice(0, 20)}'`, { hint: "list tokens with 'keyward tokens list'" });
        const old = found.token;
        const now = Date.now();
        if (old.revokedAt !== undefined || (old.expiresAt !== undefined && old.expiresAt <= now)) {
          throw new KeywardError('KW_USAGE', `token ${id} has already ended (${old.revokedAt !== undefined ? 'revoked' : 'expired'}); there is nothing to rotate`, { hint: `issue a new one with 'keyward tokens issue ${found.user.name}'` });
        }
        // The new token first: should ending the old one fail, both work, rather than neither.
        const { token, record } = issueToken(s, old.userId, { expiresAt: old.expiresAt, scopes: old.scopes });
        const ended = o.grace !== undefined ? s.expireToken(id, now + o.grace) : s.revokeToken(id);
        const fate = o.grace !== undefined ? `keeps working until ${new Date(ended.expiresAt!).toISOString()}` : 'is revoked';
        note = `token ${record.id} issued for ${found.user.name}${describeIssued(record)} to replace ${id}, which ${fate}; the new token is shown only this once\n`;
        return `${token}\n`;
      });
      process.stderr.write(note);
    });

  program
    .command('revoke <token-id>')
    .description('revoke a token at once, on every instance')
    .addOption(dbOption())
    .addOption(redisOption())
    .action(async (id: string, o: StoreFlags) => {
      await withDirectory(o, (s) => `revoked token ${s.revokeToken(idOf(id)).id}\n`);
    });

  program
    .command('list')
    .description('list tokens (ids only, never the tokens), with when each was last used')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--user <name>', "only this user's tokens")
    .option('--unused-for <time>', 'only live tokens no gateway has accepted for this long (90d): the ones to revoke', parseDuration)
    .action(async (o: StoreFlags & { user?: string; unusedFor?: number }) => {
      await withDirectory(o, (s) => {
        const names = new Map(s.listUsers().map((u) => [u.id, u.name]));
        const now = Date.now();
        let tokens = s.listTokens(o.user);
        // A token never used counts from its issue: one issued yesterday has not been idle for a month.
        if (o.unusedFor !== undefined) tokens = tokens.filter((t) => live(t, now) && (t.lastUsedAt ?? t.createdAt) <= now - o.unusedFor!);
        if (tokens.length === 0) return o.unusedFor !== undefined ? 'no live token has gone unused that long\n' : 'no tokens\n';
        return tokens
          .map((t) => `${t.id}  ${names.get(t.userId) ?? t.userId}  issued ${iso(t.createdAt)}  ${t.lastUsedAt !== undefined ? `last used ${iso(t.lastUsedAt)}` : 'never used'}${t.scopes !== undefined ? `  scopes ${t.scopes.join(',')}` : ''}${state(t, now)}\n`)
          .join('');
      });
    });

  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return runProgram(program, argv);
}
