import { describe, expect, it } from 'vitest';
import { MemoryCounters } from '../store/memory.js';
import { GatewayHttpError } from './http-error.js';
import { budgetPlan, keepLease, plan, settle, tokenPlan } from './policy.js';
import { Prices } from './providers/prices.js';
import { geminiLiveUsage, realtimeUsage, transcriptionModel, transcriptionUsage } from './realtime-usage.js';
import { SessionHold } from './session-hold.js';

describe('realtimeUsage', () => {
  it('reads the tokens by kind, cached input apart', () => {
    const u = realtimeUsage({
      input_tokens: 500,
      output_tokens: 800,
      input_token_details: { text_tokens: 200, audio_tokens: 280, image_tokens: 20, cached_tokens_details: { text_tokens: 100, audio_tokens: 50 } },
      output_token_details: { text_tokens: 100, audio_tokens: 700 },
    });
    expect(u).toEqual({ tokensIn: 500, tokensOut: 800, textIn: 200, cachedTextIn: 100, audioIn: 280, cachedAudioIn: 50, imageIn: 20, textOut: 100, audioOut: 700 });
  });

  it('bills what a breakdown leaves out as audio, and no cache without one', () => {
    expect(realtimeUsage({ input_tokens: 300, output_tokens: 40, input_token_details: { text_tokens: 100, cached_tokens: 90 } })).toMatchObject({ textIn: 100, audioIn: 200, cachedTextIn: 0, audioOut: 40, textOut: 0 });
    expect(realtimeUsage({ input_tokens: -5, output_tokens: 'x' })).toMatchObject({ tokensIn: 0, tokensOut: 0 });
    expect(realtimeUsage(null)).toBeUndefined();
  });

  it('prices each kind at its rate, falling back to the dearer one where the table has none', () => {
    const prices = new Prices({ 'voice-x': { input: 1, output: 2 } });
    const u = { textIn: 200, cachedTextIn: 100, audioIn: 300, cachedAudioIn: 0, imageIn: 0, textOut: 100, audioOut: 700 };
    expect(prices.realtimeCost('gpt-realtime', u)).toBeCloseTo((100 * 4 + 100 * 0.4 + 300 * 32 + 100 * 16 + 700 * 64) / 1e6, 12);
    expect(prices.realtimeCost('gpt-realtime-2025-08-28', u)).toBe(prices.realtimeCost('gpt-realtime', u));
    // No audio or cache rates: text's.
    expect(prices.realtimeCost('voice-x', u)).toBeCloseTo((500 * 1 + 800 * 2) / 1e6, 12);
  });
});

describe('transcriptions in a Realtime session', () => {
  it('reads tokens, or seconds heard, and the model from either config shape', () => {
    expect(transcriptionUsage({ type: 'tokens', input_tokens: 50, output_tokens: 9 })).toEqual({ tokensIn: 50, tokensOut: 9, seconds: false });
    expect(transcriptionUsage({ type: 'duration', seconds: 2.2 })).toEqual({ tokensIn: 3, tokensOut: 0, seconds: true });
    expect(transcriptionUsage('x')).toBeUndefined();
    expect(transcriptionModel({ audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } })).toBe('gpt-4o-transcribe');
    expect(transcriptionModel({ input_audio_transcription: { model: 'whisper-1' } })).toBe('whisper-1');
    expect(transcriptionModel({ audio: { input: { transcription: null } } })).toBeUndefined();
  });
});

describe('geminiLiveUsage', () => {
  it("reads a Live turn's usage by modality, thinking as text out, gaps as audio", () => {
    // The shape Google sends: the prompt's details leave 25 tokens out, counted as audio.
    const u = geminiLiveUsage({
      promptTokenCount: 522,
      responseTokenCount: 42,
      totalTokenCount: 564,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 332 }, { modality: 'AUDIO', tokenCount: 165 }],
      cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 300 }],
      responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 42 }],
      thoughtsTokenCount: 136,
    });
    expect(u).toEqual({ tokensIn: 522, tokensOut: 178, textIn: 332, cachedTextIn: 300, audioIn: 190, cachedAudioIn: 0, imageIn: 0, textOut: 136, audioOut: 42 });
    expect(geminiLiveUsage({ promptTokenCount: 10, toolUsePromptTokenCount: 5, responseTokenCount: 7 })).toMatchObject({ tokensIn: 15, audioIn: 15, audioOut: 7, textOut: 0 });
    expect(geminiLiveUsage(undefined)).toBeUndefined();
  });
});

describe('SessionHold', () => {
  it('keeps a whole hold ahead of the spend, and stops taking when the budget refuses', async () => {
    const taken: number[] = [];
    let left = 0.25;
    const hold = new SessionHold(0.1, (usd) => {
      if (usd > left + 1e-12) throw new GatewayHttpError(402, 'budget_exceeded', 'spent');
      left -= usd;
      taken.push(usd);
    });
    await hold.spend(0.04);
    expect(taken).toEqual([0.1]);
    await hold.spend(0.07);
    expect(taken).toEqual([0.1, 0.1]);
    expect(hold.heldNano).toBe(300_000_000);
    await expect(hold.spend(0.12)).rejects.toThrow('spent');
    expect(hold.billedUsd).toBeCloseTo(0.23, 12);
    expect(hold.heldNano).toBe(300_000_000);
  });

  it('holds what the dearest response yet cost when that is more than the hold, taken at one go', async () => {
    const taken: number[] = [];
    const hold = new SessionHold(0.1, (usd) => void taken.push(usd));
    // $0.35 billed against $0.10 held: the next may cost $0.35 too, so $0.60 more is held, in whole holds.
    await hold.spend(0.35);
    expect(taken.map((x) => x.toFixed(2))).toEqual(['0.60']);
    expect(hold.heldNano - Math.ceil(hold.billedUsd * 1e9)).toBeGreaterThanOrEqual(350_000_000);
    // A cheaper response after it does not lower what is kept ahead.
    await hold.spend(0.05);
    expect(hold.heldNano - Math.ceil(hold.billedUsd * 1e9)).toBeGreaterThanOrEqual(350_000_000);
  });

  it('holds a whole hold for each response running at once', async () => {
    // What the budget has left beside the opening hold.
    let left = 0.15;
    const hold = new SessionHold(0.1, (usd) => {
      if (usd > left + 1e-12) throw new GatewayHttpError(402, 'budget_exceeded', 'spent');
      left -= usd;
    });
    await hold.cover(2);
    expect(hold.heldNano).toBe(200_000_000);
    await hold.cover(1);
    expect(hold.heldNano).toBe(200_000_000);
    await expect(hold.cover(3)).rejects.toThrow('spent');
  });

  it("takes its later holds from the opening plan's budgets alone", async () => {
    const counters = new MemoryCounters();
    const user = { id: 'u1', name: 'ana', disabled: false, createdAt: 0, rpm: 5, budgetUsd: 1, period: 'day' as const };
    const p = plan(user, '10.0.0.1', { rpm: 9 }, { usd: 100, period: 'month' }, 0, 0.3, Date.now(), 'r1');
    const q = budgetPlan(p, 0.3);
    expect(q.roles).toEqual(['user-budget', 'global-budget']);
    expect(q.checks.map((c) => c.cost)).toEqual([300_000_000, 300_000_000]);
    expect((counters.admit(p.checks) as { ok: boolean }).ok).toBe(true);
    expect((counters.admit(q.checks) as { ok: boolean }).ok).toBe(true);
    expect((counters.admit(q.checks) as { ok: boolean }).ok).toBe(true);
    expect((counters.admit(q.checks) as { ok: boolean }).ok).toBe(false);
    // The request limits counted the session once.
    expect(counters.peek(p.checks[0]!.key)).toBe(1);
  });

  it("counts a response's tokens against the tokens-per-minute limits alone, allowed or not", async () => {
    const counters = new MemoryCounters();
    const teams = new Map([['voice', { tpm: 5000 }]]);
    const user = { id: 'u2', name: 'bo', disabled: false, createdAt: 0, rpm: 5, tpm: 2000, budgetUsd: 1, period: 'day' as const, team: 'voice' };
    const p = plan(user, '10.0.0.1', undefined, undefined, 0, 0.3, Date.now(), 'r2', teams);
    const q = tokenPlan(p, 1300);
    expect(q.roles).toEqual(['user-tpm', 'team-tpm']);
    expect(q.checks.map((c) => c.cost)).toEqual([1300, 1300]);
    expect((counters.admit(q.checks) as { ok: boolean }).ok).toBe(true);
    expect((counters.admit(q.checks) as { ok: boolean }).ok).toBe(false);
    // Refused, and counted all the same: the next request sees the whole of what was used.
    await settle(counters, q, Date.now(), 1300, 0);
    expect((counters.admit([{ ...q.checks[1]!, cost: 2500 }]) as { ok: boolean }).ok).toBe(false);
    expect((counters.admit([{ ...q.checks[1]!, cost: 2400 }]) as { ok: boolean }).ok).toBe(true);
    expect(tokenPlan(plan({ ...user, tpm: undefined, team: undefined }, '10.0.0.1', undefined, undefined, 0, 0.3, Date.now(), 'r3'), 1300).checks).toEqual([]);
  });

  it("renews a session's place among the requests in flight while it runs, so that a lease running out does not free it", async () => {
    const counters = new MemoryCounters();
    const user = { id: 'u4', name: 'cy', disabled: false, createdAt: 0, parallel: 1 };
    const p = plan(user, undefined, undefined, undefined, 0, 0, Date.now(), 'session-1');
    // A lease of 300 ms here (15 minutes in the gateway), renewed every 100 ms.
    p.checks[p.parallel]!.windowMs = 300;
    const other = (id: string) => (counters.admit([{ ...p.checks[p.parallel]!, member: id }]) as { ok: boolean }).ok;
    expect((counters.admit(p.checks) as { ok: boolean }).ok).toBe(true);
    const stop = keepLease(counters, p, (err) => {
      throw err;
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(other('request-2')).toBe(false);
    stop();
    await new Promise((r) => setTimeout(r, 400));
    expect(other('request-3')).toBe(true);
    expect(keepLease(counters, plan({ ...user, parallel: undefined }, undefined, undefined, undefined, 0, 0, Date.now(), 's'), () => undefined)).toBeTypeOf('function');
  });
});
