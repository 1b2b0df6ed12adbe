import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';

/** Passwords that are defaults or documentation, not secrets. */
const DEFAULTS = new Set(['password', 'passwd', 'pass', 'pwd', 'root', 'admin', 'test', 'postgres', 'mysql', 'user', 'secret', 'changeme', 'example', 'guest', 'redis', 'mongo', 'mongodb', 'rabbitmq', 'sa', 'dbpass', 'dbpassword', 'mypassword', 'yourpassword', 'pa55word', 'p@ssw0rd']);

export const databaseRules: SecretRule[] = [
  {
    id: 'database-url-password',
    provider: 'Database',
    title: 'Database URL with a password',
    severity: 'high',
    keywords: ['postgres', 'mysql', 'mariadb', 'mongodb', 'redis', 'amqp', 'mssql', 'sqlserver', 'jdbc:'],
    context: true,
    window: { before: 24, after: 300 },
    pattern: /(?<![A-Za-z0-9+.-])(?:jdbc:)?(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver):\/\/(?<user>[^\s:@/'"`]{0,64}):(?<secret>[^\s@/'"`]{3,128})@[A-Za-z0-9_.-]+/gi,
    verify: (secret, ctx) => {
      const user = /:\/\/([^:]*):/.exec(ctx.match)?.[1] ?? '';
      // Documentation writes `authpassword`, `mypassword1`, `secretpass`: not real passwords.
      return !DEFAULTS.has(secret.toLowerCase()) && secret !== user && !/^[$%{<[*]|^:/.test(secret) && !/pass(?:word|wd)?|secret|example|changeme/i.test(secret);
    },
    examples: {
      match: [
        `DATABASE_URL=postgres://app:${rand.chars('alnum', 24)}@db.internal:5432/app`,
        `MONGO_URI="mongodb+srv://svc:${rand.chars('alnum', 16)}@cluster0.example.net/prod"`,
        `redis://default:${rand.chars('alnum', 32)}@cache.internal:6379`,
      ],
      noMatch: ['DATABASE_URL=postgres://postgres:postgres@localhost:5432/app', 'DATABASE_URL=postgres://user:password@localhost/db', 'DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app', 'postgres://localhost:5432/app', 'mysql://root:<password>@localhost', 'new Redis("redis://:authpassword@127.0.0.1:6380/4")'],
    },
  },
];
