/**
 * One benchmark target per process (so client, proxy and upstream do not share an event loop):
 *   upstream | passthrough <upstream> | keyward <upstream> [redisUrl]
 * Prints `READY <port> [token]` when listening.
 */
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { createGateway, createLogger, issueToken } from '../../src/gateway/index.js';
import { MemoryCounters, MemoryDirectory } from '../../src/store/memory.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Counters } from '../../src/store/types.js';
import { startFakeUpstream } from '../../test/gateway/helpers/fake-upstream.js';
import { startPassthrough } from './passthrough.js';

const [kind, upstream, redisUrl] = process.argv.slice(2);
const key = process.env.BENCH_PROVIDER_KEY!;

async function main(): Promise<void> {
  if (kind === 'upstream') {
    const up = await startFakeUpstream({ openaiKeys: [key], anthropicKeys: [], outputTokens: 8, promptTokens: 12 });
    process.stdout.write(`READY ${up.port}\n`);
    return;
  }
  if (kind === 'passthrough') {
    startPassthrough(upstream!, 0, (port) => process.stdout.write(`READY ${port}\n`));
    return;
  }
  if (kind === 'keyward') {
    const dir = new MemoryDirectory();
    // Every policy on: per-user and per-IP limits, tokens per minute, a hard budget and a global budget, the SQLite ledger.
    dir.addUser('bench', { rpm: 10_000_000, rpd: 100_000_000, tpm: 1_000_000_000, budgetUsd: 1_000_000, softBudgetUsd: 900_000, period: 'day' });
    const token = issueToken(dir, 'bench').token;
    const tmp = mkdtempSync(join(tmpdir(), 'kw-bench-'));
    const ledger = new SqliteStore(join(tmp, 'ledger.db'));
    const counters: Counters = redisUrl ? await RedisCounters.connect(redisUrl) : new MemoryCounters();
    const gateway = createGateway({
      directory: dir,
      ledger,
      counters,
      upstreams: { openai: { baseUrl: `${upstream}/v1`, keys: [key] } },
      ipLimits: { rpm: 10_000_000 },
      globalBudget: { usd: 10_000_000, period: 'month' },
      logger: createLogger({ destination: pino.destination({ dest: join(tmp, 'gateway.log'), sync: false, minLength: 4096 }) }),
    });
    const server = createServer({ keepAliveTimeout: 65_000 }, gateway);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as AddressInfo;
      process.stdout.write(`READY ${addr.port} ${token}\n`);
    });
    process.on('SIGTERM', () => {
      void gateway.close().then(() => {
        ledger.close();
        process.exit(0);
      });
    });
    return;
  }
  throw new Error(`unknown target ${kind}`);
}

void main();
