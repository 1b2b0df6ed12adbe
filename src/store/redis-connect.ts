/** One way to open a Redis connection for the gateway's stores, with errors that say what to do. */
import { Redis } from 'ioredis';
import { KeywardError } from '../errors.js';

/** The URL with its password masked, for messages and logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function unreachableRedis(url: string, err: unknown): KeywardError {
  return new KeywardError('KW_STORE', `cannot reach Redis at ${safeUrl(url)}: ${(err as Error).message}`, {
    hint: 'start Redis, or check the --redis URL (redis://host:port)',
    cause: err,
  });
}

/**
 * Connects without an offline queue: a command while Redis is away fails at once instead of
 * waiting, so the gateway can apply its documented store-failure policy (budgets fail closed).
 */
export async function connectRedis(url: string, commandTimeoutMs: number): Promise<Redis> {
  // ioredis reads any other scheme as a socket path (http://host:port fails as "ENOENT //host:port").
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'redis' && scheme !== 'rediss') {
    throw new KeywardError('KW_BAD_CONFIG', `invalid Redis URL ${safeUrl(url)}: the scheme must be redis:// or rediss:// (TLS), not ${scheme}://`, { hint: 'use redis://host:port[/db]' });
  }
  let redis: Redis;
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      // Off: admissions already share one script call per turn of the event loop (RedisCounters), and
      // wrapping every command in an automatic pipeline cost about 4 µs of CPU an admission.
      enableAutoPipelining: false,
    });
  } catch (err) {
    throw new KeywardError('KW_BAD_CONFIG', `invalid Redis URL: ${(err as Error).message}`, { hint: 'use redis://host:port[/db]' });
  }
  // Until the caller listens, ioredis would print each failed attempt as an "Unhandled error event";
  // the first one says why (ECONNREFUSED, ENOTFOUND, a wrong password), so the message carries it.
  let first: Error | undefined;
  const early = (err: Error) => {
    first ??= err;
  };
  redis.on('error', early);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw unreachableRedis(url, first ?? err);
  } finally {
    redis.off('error', early);
  }
  return redis;
}
