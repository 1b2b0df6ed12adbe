import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/gateway/keys.js';
import { fakeOpenAiKey } from './helpers/keys.js';

describe('a provider key pool', () => {
  const [a, b, c] = [fakeOpenAiKey(), fakeOpenAiKey(), fakeOpenAiKey()];

  it('takes its keys in turn and skips one whose breaker is open', () => {
    const pool = new KeyPool('openai', [a, b], { threshold: 2, cooldownMs: 60_000 });
    expect([pool.pick()!.secret, pool.pick()!.secret, pool.pick()!.secret]).toEqual([a, b, a]);
    const kb = pool.keys[1]!;
    pool.failure(kb);
    pool.failure(kb);
    expect([pool.pick()!.secret, pool.pick()!.secret]).toEqual([a, a]);
    expect(pool.state().map((s) => s.state)).toEqual(['closed', 'open']);
  });

  it('rotates: new keys join, removed ones are never picked again, kept ones keep their state', () => {
    const pool = new KeyPool('openai', [a, b], { threshold: 1, cooldownMs: 60_000 });
    const ka = pool.keys[0]!;
    pool.failure(ka);
    const inFlight = pool.keys[1]!;
    const change = pool.replace([a, c, c]);
    expect(change.kept).toBe(1);
    expect(change.added).toEqual([pool.keys[1]!.label]);
    expect(change.removed).toEqual([inFlight.label]);
    // A kept key is the same key, its breaker still open.
    expect(pool.keys[0]).toBe(ka);
    const picks = Array.from({ length: 4 }, () => pool.pick()!.secret);
    expect(new Set(picks)).toEqual(new Set([c]));
    // A request still holding the removed key can report on it without harm.
    pool.success(inFlight);
    expect(pool.size).toBe(2);
    for (const l of [...change.added, ...change.removed]) expect(l).not.toContain(a.slice(10, 30));
  });

  it('tries a key the provider rejected again when a reload still lists it', () => {
    const pool = new KeyPool('openai', [a, b]);
    pool.failure(pool.keys[0]!, 401);
    expect([pool.pick()!.secret, pool.pick()!.secret]).toEqual([b, b]);
    pool.replace([a, b]);
    expect(new Set([pool.pick()!.secret, pool.pick()!.secret])).toEqual(new Set([a, b]));
  });
});
