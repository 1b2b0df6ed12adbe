/**
 * The proxies under test, one per process and run as shipped JavaScript (keyward from dist/, built by
 * the runner), so neither pays for a TypeScript loader at run time:
 *   node bench/gateway/proxies.mjs passthrough <upstream> | floor <upstream> | keyward <upstream> [redisUrl]
 * Prints `READY <port> [token]` when listening.
 */
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { batchedDestination, createGateway, createLogger, issueToken, MemoryCounters, MemoryDirectory, RedisCounters, SqliteStore } from '../../dist/gateway/index.js';
import { startPassthrough } from './passthrough.mjs';
import { startPolicyFloor } from './policy-floor.mjs';

const [kind, upstream, redisUrl] = process.argv.slice(2);
const key = process.env.BENCH_PROVIDER_KEY;

if (kind === 'passthrough') {
  startPassthrough(upstream, 0, (port) => process.stdout.write(`READY ${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (kind === 'floor') {
  startPolicyFloor(upstream, key, (port, token) => process.stdout.write(`READY ${port} ${token}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (kind === 'keyward') {
  const dir = new MemoryDirectory();
  // Every policy on: per-user and per-IP limits, tokens per minute, a hard budget and a global budget, the SQLite ledger.
  dir.addUser('bench', { rpm: 10_000_000, rpd: 100_000_000, tpm: 1_000_000_000, budgetUsd: 1_000_000, softBudgetUsd: 900_000, period: 'day' });
  const token = issueToken(dir, 'bench').token;
  const tmp = mkdtempSync(join(tmpdir(), 'kw-bench-'));
  const ledger = new SqliteStore(join(tmp, 'ledger.db'));
  const counters = redisUrl ? await RedisCounters.connect(redisUrl) : new MemoryCounters();
  const gateway = createGateway({
    directory: dir,
    ledger,
    counters,
    upstreams: { openai: { baseUrl: `${upstream}/v1`, keys: [key] } },
    ipLimits: { rpm: 10_000_000 },
    globalBudget: { usd: 10_000_000, period: 'month' },
    // Batched as `keyward gateway` writes its log (to a file here rather than stdout).
    logger: createLogger({ destination: batchedDestination(join(tmp, 'gateway.log')) }),
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, gateway);
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${server.address().port} ${token}\n`));
  process.on('SIGTERM', () => {
    void gateway.close().then(() => {
      ledger.close();
      process.exit(0);
    });
  });
} else {
  throw new Error(`unknown target ${kind}`);
}
