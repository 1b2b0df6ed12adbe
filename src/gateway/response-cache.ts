/**
 * An exact-match cache of whole JSON answers (`cache` in the config, off by default): the same user
 * sending the same request body to the same API gets the stored answer, billed nothing, within the
 * TTL. Kept per user, since an answer may hold what only its user should read. By default in this
 * process's memory only, never on disk, bounded in bytes (lru-cache drops the least recently used);
 * with `shared` (gateways on one Redis), in the counters' Redis, so that every instance serves what one stored.
 */
import { createHash } from 'node:crypto';
import type { SharedValues } from '../store/types.js';
import { LRUCache } from 'lru-cache';

export interface CacheOptions {
  /** How long an answer is served from the cache. */
  ttlSeconds: number;
  /** The cache's size in memory at most (default 64; a shared cache is bounded by Redis's own maxmemory). */
  maxMegabytes?: number;
  /** Keep answers in the gateways' shared Redis (needs --redis), for every instance to serve. */
  shared?: boolean;
}

/** Answers larger than this are not kept: one would push out hundreds of small ones. */
const MAX_ENTRY_BYTES = 1024 * 1024;

/** What the gateway asks of a response cache: in this process (sync) or in Redis (async). */
export interface AnswerCache {
  key(userId: string, destination: string, body: Buffer): string;
  get(key: string): Buffer | undefined | Promise<Buffer | undefined>;
  set(key: string, answer: Buffer): void;
}

function cacheKey(userId: string, destination: string, body: Buffer): string {
  return createHash('sha256').update(userId).update('\0').update(destination).update('\0').update(body).digest('hex');
}

/**
 * The cache in the store every instance shares (Redis, through the counters). A store that is away or
 * slow is a miss, never an error: the request goes to the provider as it would without a cache.
 */
export class SharedResponseCache implements AnswerCache {
  private readonly ttlMs: number;

  constructor(
    private readonly values: SharedValues,
    options: CacheOptions,
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
  }

  key(userId: string, destination: string, body: Buffer): string {
    return `cache:${cacheKey(userId, destination, body)}`;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.values.get(key);
  }

  set(key: string, answer: Buffer): void {
    if (answer.length <= MAX_ENTRY_BYTES) this.values.set(key, answer, this.ttlMs);
  }
}

export class ResponseCache implements AnswerCache {
  private readonly lru: LRUCache<string, Buffer>;

  constructor(options: CacheOptions) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: Math.round((options.maxMegabytes ?? 64) * 1024 * 1024),
      maxEntrySize: MAX_ENTRY_BYTES,
      sizeCalculation: (answer, key) => answer.length + key.length,
      ttl: options.ttlSeconds * 1000,
    });
  }

  /** The key of a request: the user, where it goes (provider and API path), and its body as sent. */
  key(userId: string, destination: string, body: Buffer): string {
    return cacheKey(userId, destination, body);
  }

  get(key: string): Buffer | undefined {
    return this.lru.get(key);
  }

  set(key: string, answer: Buffer): void {
    if (answer.length <= MAX_ENTRY_BYTES) this.lru.set(key, answer);
  }

  get size(): number {
    return this.lru.size;
  }
}

/** What the client's `Cache-Control` allows: `no-cache` asks for a fresh answer (stored again), `no-store` keeps it out. */
export function cacheUse(header: string | undefined): { read: boolean; write: boolean } {
  const h = header?.toLowerCase() ?? '';
  const noStore = h.includes('no-store');
  return { read: !noStore && !h.includes('no-cache'), write: !noStore };
}
