/**
 * `keyward tokens issue|revoke|list`: gateway tokens (shown once at issue; only their hashes are
 * stored), in the SQLite store or, with `--redis`, in the Redis every instance follows.
 */
import { Command, InvalidArgumentError } from 'commander';
import { isKeywardError } from '../errors.js';
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

function state(t: TokenRecord, now = Date.now()): string {
  if (t.revokedAt !== undefined) return `  REVOKED ${new Date(t.revokedAt).toISOString()}`;
  if (t.expiresAt === undefined) return '';
  return `  ${t.expiresAt <= now ? 'EXPIRED' : 'expires'} ${new Date(t.expiresAt).toISOString()}`;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward tokens').description('issue and revoke gateway tokens');

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
        const until = expiresAt !== undefined ? `, valid until ${new Date(expiresAt).toISOString()}` : '';
        const only = o.scopes !== undefined ? `, scopes ${o.scopes.join(',')}` : '';
        note = `token ${record.id} issued for ${s.getUser(record.userId)?.name ?? user}${only}${until}; it is shown only this once (revoke with 'keyward tokens revoke ${record.id}')\n`;
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
      await withDirectory(o, (s) => `revoked token ${s.revokeToken(id.startsWith('kw_') ? id.slice(3, 15) : id).id}\n`);
    });

  program
    .command('list')
    .description('list tokens (ids only, never the tokens)')
    .addOption(dbOption())
    .addOption(redisOption())
    .option('--user <name>', "only this user's tokens")
    .action(async (o: StoreFlags & { user?: string }) => {
      await withDirectory(o, (s) => {
        const names = new Map(s.listUsers().map((u) => [u.id, u.name]));
        const tokens = s.listTokens(o.user);
        if (tokens.length === 0) return 'no tokens\n';
        return tokens
          .map((t) => `${t.id}  ${names.get(t.userId) ?? t.userId}  issued ${new Date(t.createdAt).toISOString()}${t.scopes !== undefined ? `  scopes ${t.scopes.join(',')}` : ''}${state(t)}\n`)
          .join('');
      });
    });

  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return runProgram(program, argv);
}
