/** `keyward tokens issue|revoke|list`: gateway tokens (shown once at issue; only their hashes are stored). */
import { Command } from 'commander';
import { issueToken } from '../gateway/tokens.js';
import { dbOption, runProgram, withStore } from './users.js';

export async function run(argv: string[]): Promise<number> {
  const program = new Command('keyward tokens').description('issue and revoke gateway tokens');

  program
    .command('issue <user>')
    .description('issue a token for a user (printed once; store it now)')
    .addOption(dbOption())
    .action((user: string, o: { db: string }) => {
      withStore(o.db, (s) => {
        const { token, record } = issueToken(s, user);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token ${record.id} issued for ${s.getUser(record.userId)?.name ?? user}; it is shown only this once (revoke with 'keyward tokens revoke ${record.id}')\n`);
      });
    });

  program
    .command('revoke <token-id>')
    .description('revoke a token at once, on every instance')
    .addOption(dbOption())
    .action((id: string, o: { db: string }) => {
      withStore(o.db, (s) => {
        const t = s.revokeToken(id.startsWith('kw_') ? id.slice(3, 15) : id);
        process.stdout.write(`revoked token ${t.id}\n`);
      });
    });

  program
    .command('list')
    .description('list tokens (ids only, never the tokens)')
    .addOption(dbOption())
    .option('--user <name>', "only this user's tokens")
    .action((o: { db: string; user?: string }) => {
      withStore(o.db, (s) => {
        const names = new Map(s.listUsers().map((u) => [u.id, u.name]));
        const tokens = s.listTokens(o.user);
        if (tokens.length === 0) process.stdout.write('no tokens\n');
        for (const t of tokens) {
          process.stdout.write(`${t.id}  ${names.get(t.userId) ?? t.userId}  issued ${new Date(t.createdAt).toISOString()}${t.revokedAt ? `  REVOKED ${new Date(t.revokedAt).toISOString()}` : ''}\n`);
        }
      });
    });

  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return runProgram(program, argv);
}
