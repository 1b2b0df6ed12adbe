import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SharedWork } from '../store/types.js';
import { BackgroundResponses, type Handover } from './background-responses.js';
import type { PoolKey } from './keys.js';
import { createLogger } from './logger.js';
import type { Upstream } from './upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const completed = (id: string) => Buffer.from(JSON.stringify({ id, object: 'response', status: 'completed', usage: { input_tokens: 1, output_tokens: 2 } }));
// Never asked in these tests: a finished response is seen in an answer the gateway relays.
const up = {} as Upstream;
const key = { label: 'openai:…abcd#1' } as PoolKey;

/** A work board in memory whose answers the test sets. */
function board(over: Partial<SharedWork> = {}): SharedWork & { puts: string[] } {
  const puts: string[] = [];
  return {
    puts,
    put: async (id) => void puts.push(id),
    renew: async () => ({ taken: [], missing: [] }),
    adopt: async () => [],
    release: async () => {},
    finish: async () => 'mine' as const,
    ...over,
  };
}

function following(work: SharedWork) {
  const settled: string[] = [];
  const dropped: string[] = [];
  const lines: string[] = [];
  const log = createLogger({ destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
  const handover: Handover<string> = { work, owner: 'me', pack: (x) => Buffer.from(x.item), unpack: (raw) => ({ item: raw.toString(), up, key, since: Date.now() }), drop: (x) => void dropped.push(x) };
  const bg = new BackgroundResponses<string>((item) => void settled.push(item), log, { pollMs: 20, maxMs: 60_000 }, () => undefined, handover);
  return { bg, settled, dropped, lines };
}

describe('background responses followed on a shared store: each billed by one instance alone', () => {
  it('bills a finished response only when this instance removed its record, and not when another did', async () => {
    let mine = true;
    const { bg, settled, dropped } = following(board({ finish: async () => (mine ? 'mine' : 'done') }));
    bg.follow('resp_1', 'one', up, key);
    bg.seen(completed('resp_1'));
    await sleep(10);
    expect(settled).toEqual(['one']);
    mine = false;
    bg.follow('resp_2', 'two', up, key);
    bg.seen(completed('resp_2'));
    await sleep(10);
    expect(settled).toEqual(['one']);
    expect(dropped).toEqual(['two']);
    await bg.stopAll();
  });

  it('keeps following a finished response whose record Redis could not remove, and bills it once Redis answers', async () => {
    let reachable = false;
    const { bg, settled } = following(board({ finish: async () => (reachable ? 'mine' : Promise.reject(new Error('Connection is closed.'))) }));
    bg.follow('resp_3', 'three', up, key);
    bg.seen(completed('resp_3'));
    await sleep(10);
    expect(settled).toEqual([]);
    expect(bg.following('resp_3')).toBe(true);
    reachable = true;
    bg.seen(completed('resp_3'));
    await sleep(10);
    expect(settled).toEqual(['three']);
    await bg.stopAll();
  });

  it('bills a response whose record was never written (Redis down at the start) here, since no other instance knows it', async () => {
    const { bg, settled } = following(board({ put: () => Promise.reject(new Error('down')), finish: async () => 'done' }));
    bg.follow('resp_4', 'four', up, key);
    bg.seen(completed('resp_4'));
    await sleep(10);
    expect(settled).toEqual(['four']);
    await bg.stopAll();
  });

  it('lets go, unbilled, of a response another instance took over, and follows one another instance left', async () => {
    let lost: string[] = [];
    let left: Array<{ id: string; item: Buffer }> = [];
    const { bg, dropped, lines } = following(board({ renew: async () => ({ taken: lost, missing: [] }), adopt: async () => left }));
    bg.follow('resp_5', 'five', up, key);
    await sleep(5);
    lost = ['resp_5'];
    left = [{ id: 'resp_6', item: Buffer.from('six') }];
    await sleep(80);
    expect(bg.following('resp_5')).toBe(false);
    expect(dropped).toEqual(['five']);
    expect(bg.following('resp_6')).toBe(true);
    expect(lines.join('')).toContain('taken over by another instance');
    // At shutdown what it follows is let go for the others, not cancelled (nothing is asked of OpenAI here).
    await bg.stopAll();
    expect(dropped).toEqual(['five', 'six']);
  });

  it('records again a response Redis lost (restarted empty), and bills a finished one Redis knows nothing of', async () => {
    const work = board({ renew: async (ids) => ({ taken: [], missing: [...ids] }), finish: async () => 'unknown' });
    const { bg, settled, dropped, lines } = following(work);
    bg.follow('resp_7', 'seven', up, key);
    await sleep(80);
    // Still followed here, and written again at each look that finds it missing.
    expect(bg.following('resp_7')).toBe(true);
    expect(work.puts.filter((id) => id === 'resp_7').length).toBeGreaterThan(1);
    expect(dropped).toEqual([]);
    expect(lines.join('')).toContain('was gone from Redis; recorded again');
    bg.seen(completed('resp_7'));
    await sleep(10);
    expect(settled).toEqual(['seven']);
    await bg.stopAll();
  });
});

describe('work followed alone', () => {
  it('bills what starts being followed after the gateway began to close, rather than never', async () => {
    const settled: Array<[string, string]> = [];
    const log = createLogger({ destination: new Writable({ write: (_c: Buffer, _e, cb) => cb() }) });
    const asking = { noun: 'batch', plural: 'batches', logKey: 'batchId', statusPath: (id: string) => `/b/${id}`, cancelPath: (id: string) => `/b/${id}/cancel`, state: () => undefined, finished: () => false, outcome: () => 'ok', aloneAtShutdown: 'bill' as const };
    const bg = new BackgroundResponses<string>((item, _answer, outcome) => void settled.push([item, outcome]), log, { pollMs: 20, maxMs: 60_000 }, () => undefined, undefined, asking);
    bg.follow('b1', 'first', up, key);
    await bg.stopAll();
    expect(settled).toEqual([['first', 'shutdown']]);
    bg.follow('b2', 'late', up, key);
    await until(() => settled.length === 2);
    expect(settled[1]).toEqual(['late', 'shutdown']);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await sleep(10);
}
