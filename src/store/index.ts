export type * from './types.js';
export { MemoryCounters, MemoryDirectory, MemoryLedger } from './memory.js';
export { SqliteStore, openDatabase } from './sqlite.js';
export { RedisCounters, type RedisCountersOptions } from './redis.js';
export { RedisDirectory, type RedisDirectoryOptions } from './redis-directory.js';
