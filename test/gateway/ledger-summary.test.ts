import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLedger } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { LedgerRow } from '../../src/store/types.js';

/** Rows as a gateway writes them: several users and models, over two days. */
function rows(n: number, now: number): LedgerRow[] {
  const models = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5'];
  return Array.from({ length: n }, (_, i) => ({
    ts: now - (i % 48) * 3_600_000,
    requestId: `r-${i}`,
    userId: `u_${i % 5}`,
    tokenId: `t${i % 2}`,
    provider: i % 3 === 2 ? 'anthropic' : i % 7 === 0 ? 'groq' : 'openai',
    route: ['chat', 'speech', 'transcription', 'realtime'][i % 4]!,
    model: models[i % 3]!,
    tokensIn: 10 + (i % 7),
    tokensOut: 1 + (i % 11),
    costUsd: ((i % 13) + 1) / 1000,
    latencyMs: 1,
    status: 200,
    outcome: 'ok',
    ...(i % 4 === 0 ? {} : { tag: `feature-${i % 3}` }),
  }));
}

describe('usage totals', () => {
  const open: SqliteStore[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  it('are summed by SQLite to the same figures as row by row, per user, model, provider, route, token and tag, with the filters', () => {
    const now = Date.now();
    const data = rows(5000, now);
    const store = new SqliteStore(':memory:');
    open.push(store);
    store.append(data);
    const memory = new MemoryLedger();
    memory.append(data);
    // The totals must not come from loading the rows: a month of a busy gateway would not fit.
    const loaded = vi.spyOn(store, 'rows');
    for (const q of [{}, { since: now - 24 * 3_600_000 }, { userId: 'u_3' }, { userId: 'u_3', since: now - 6 * 3_600_000 }]) {
      for (const by of ['user', 'model', 'provider', 'route', 'token', 'tag'] as const) {
        const sql = store.totals(by, q);
        const js = memory.totals(by, q);
        expect(sql.map((r) => r.key)).toEqual(js.map((r) => r.key));
        sql.forEach((r, i) => {
          expect({ ...r, costUsd: 0 }).toEqual({ ...js[i]!, costUsd: 0 });
          expect(r.costUsd).toBeCloseTo(js[i]!.costUsd, 9);
        });
      }
    }
    expect(store.totals('provider', {}).reduce((n, r) => n + r.requests, 0)).toBe(5000);
    expect(store.totals('provider', {}).map((r) => r.key).sort()).toEqual(['anthropic', 'groq', 'openai']);
    expect(store.totals('user', {}).reduce((n, r) => n + r.requests, 0)).toBe(5000);
    expect(store.totals('route', {}).map((r) => [r.key, r.requests]).sort()).toEqual([
      ['chat', 1250],
      ['realtime', 1250],
      ['speech', 1250],
      ['transcription', 1250],
    ]);
    expect(store.totals('token', {}).map((r) => [r.key, r.requests]).sort()).toEqual([
      ['t0', 2500],
      ['t1', 2500],
    ]);
    expect(store.totals('tag', {}).map((r) => [r.key, r.requests]).sort()).toEqual([
      ['', 1250],
      ['feature-0', 1250],
      ['feature-1', 1250],
      ['feature-2', 1250],
    ]);
    expect(store.totals('model', { since: now + 1 })).toEqual([]);
    expect(loaded).not.toHaveBeenCalled();
    // Rows read back carry the tag they were written with, and none when they had none.
    const back = new Map(store.rows({ userId: 'u_1' }).map((r) => [r.requestId, r]));
    for (const r of data.filter((x) => x.userId === 'u_1')) {
      expect(back.get(r.requestId)!.tag).toBe(r.tag);
      expect('tag' in back.get(r.requestId)!).toBe(r.tag !== undefined);
    }
  });
});
