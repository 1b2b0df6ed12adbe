import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { period } from '../../src/gateway/budget.js';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken, type GatewayOptions } from '../../src/gateway/index.js';
import { budgetSeeder, ledgerSpend, plan } from '../../src/gateway/policy.js';
import { estimatePromptTokens } from '../../src/gateway/providers/types.js';
import { MemoryLedger } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { UserRecord } from '../../src/store/types.js';
import { runKeyward } from '../helpers/cli.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
// 10 tokens in and 40 out at $1000 per million: each call costs $0.05.
const policy: Partial<GatewayOptions> = {
  prices: { 'test-model': { input: 1000, output: 1000 } },
  teams: { research: { budgetUsd: 0.5, period: 'day' }, docs: { softBudgetUsd: 0.1 }, squad: { rpm: 3 }, tight: { tpm: 0 }, minis: { models: ['gpt-4o-mini', 'test-model'] } },
};
/** What a call reserves against tokens per minute: its body's prompt estimate and max_tokens. */
const RESERVED = estimatePromptTokens(JSON.stringify(chat('test-model', { max_tokens: 40 })).length) + 40;
// Room for one call billed (50 tokens) and one reserved, not for two reserved: only settling makes the second fit.
policy.teams!.tight!.tpm = 50 + RESERVED + 5;
const CALL_USD = 0.05;

describe('team budgets: the spend of a team’s members counts against the team', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let store: SqliteStore;
  let dir: string;
  const tokens: Record<string, string> = {};
  const call = (who: string, g = gw) => post(`${g.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 40 }), bearer(tokens[who]!));
  const teamRows = (team: string) => store.rows({}).filter((r) => r.team === team);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-teams-'));
    store = new SqliteStore(join(dir, 'keyward.db'));
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, promptTokens: 10, outputTokens: 40 });
    gw = await startGateway(upstream, keys, { directory: store, ledger: store, ...policy });
    for (const [name, team] of [['ann', 'research'], ['ben', 'research'], ['cat', undefined], ['dot', 'docs'], ['dan', 'late'], ['sue', 'squad'], ['sam', 'squad'], ['tim', 'tight'], ['tod', 'tight'], ['mia', 'minis']] as const) {
      store.addUser(name, team ? { team } : {});
      tokens[name] = issueToken(store, name).token;
    }
  });
  afterAll(async () => {
    await gw.stop();
    store.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("never overshoots a team's hard budget under concurrent requests of its members, and leaves everyone else alone", async () => {
    const statuses: number[] = [];
    const refusals: string[] = [];
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => call(i % 2 ? 'ann' : 'ben')));
      statuses.push(...answers.map((a) => a.status));
      refusals.push(...answers.filter((a) => a.status === 402).map((a) => (a.json.error as { message: string }).message));
    }
    const ok = statuses.filter((s) => s === 200).length;
    await until('every admitted call is in the ledger', () => teamRows('research').length === ok);
    const billed = teamRows('research').reduce((s, r) => s + r.costUsd, 0);
    expect(ok).toBeGreaterThan(3);
    expect(billed).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(billed).toBeCloseTo(ok * CALL_USD, 9);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatch(/^budget reached: team 'research' has spent its limit of \$0\.50 for the period .*; it resets in /);
    // Ann and Ben have no budget of their own; Cat is in no team.
    expect((await call('cat')).status).toBe(200);
    expect(gw.logs.join('').match(/team 'research' has reached its hard budget/g)).toHaveLength(1);
    expect(store.totals('team', {}).find((t) => t.key === 'research')).toMatchObject({ requests: ok });
  });

  it("raises a team's soft budget alert once a period", async () => {
    for (let i = 0; i < 4; i++) expect((await call('dot')).status).toBe(200);
    await until('the soft budget alert', () => /team 'docs' has spent \$0\.1\d+, past its soft budget of \$0\.1/.test(gw.logs.join('')));
    expect(gw.logs.join('').match(/team 'docs' has spent/g)).toHaveLength(1);
  });

  it('counts a team’s spend before it has a budget, so a budget given later (SIGHUP) starts from what was spent', async () => {
    for (let i = 0; i < 4; i++) expect((await call('dan')).status).toBe(200);
    gw.gateway.setPolicy({ ...policy, teams: { ...policy.teams, late: { budgetUsd: 0.15, period: 'day' } } });
    const refused = await call('dan');
    expect(refused.status).toBe(402);
    expect((refused.json.error as { message: string }).message).toMatch(/team 'late'/);
  });

  it('stops counting a user for a team it has left; its rows say which team each call was for', async () => {
    store.setUser('dan', { team: null });
    expect((await call('dan')).status).toBe(200);
    const id = store.getUser('dan')!.id;
    await until('the call is in the ledger', () => store.rows({ userId: id }).length === 5);
    expect(store.rows({ userId: id }).map((r) => r.team)).toEqual(['late', 'late', 'late', 'late', undefined]);
  });

  it('starts a restarted gateway from the team spend in its ledger', async () => {
    const again = await startGateway(upstream, keys, { directory: store, ledger: store, ...policy });
    try {
      const r = await call('ann', again);
      expect(r.status).toBe(402);
      expect((r.json.error as { message: string }).message).toMatch(/team 'research'/);
      expect((await call('cat', again)).status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  it("limits a team's requests and tokens per minute across its members, settling tokens to what was used", async () => {
    expect(RESERVED).toBeGreaterThan(55);
    expect([(await call('sue')).status, (await call('sam')).status, (await call('sue')).status]).toEqual([200, 200, 200]);
    const r = await call('sam');
    expect(r.status).toBe(429);
    expect((r.json.error as { message: string }).message).toMatch(/^rate limit reached for team 'squad': 3 requests per minute across its members; retry in \d+s$/);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await call('tim')).status).toBe(200);
    expect((await call('tod')).status).toBe(200);
    const t = await call('tim');
    expect(t.status).toBe(429);
    expect((t.json.error as { message: string }).message).toMatch(/^rate limit reached for team 'tight': \d+ tokens per minute across its members/);
    const big = await post(`${gw.origin}/v1/chat/completions`, chat('test-model', { max_tokens: 500 }), bearer(tokens.tod!));
    expect((big.json.error as { message: string }).message).toMatch(/more than team 'tight''s limit of \d+ tokens per minute; lower max_tokens/);
  });

  it("holds a team's members to the team's models, in calls and in the model list", async () => {
    expect((await call('mia')).status).toBe(200);
    const refused = await post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o', { max_tokens: 40 }), bearer(tokens.mia!));
    expect(refused.status).toBe(403);
    expect((refused.json.error as { message: string }).message).toBe("model 'gpt-4o' is not allowed for team 'minis'");
    const list = await fetch(`${gw.origin}/v1/models`, { headers: bearer(tokens.mia!) });
    expect(((await list.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
    // A user in no team still calls it.
    expect((await post(`${gw.origin}/v1/chat/completions`, chat('gpt-4o', { max_tokens: 40 }), bearer(tokens.cat!))).status).toBe(200);
  });

  it('puts teams in the CLI: users add/set --team, users list, usage --by team, history', async () => {
    const db = join(dir, 'keyward.db');
    expect((await runKeyward(['users', 'add', 'eve', '--team', 'research', '--db', db])).stdout).toMatch(/^added eve \(u_\w+\): team research$/m);
    expect((await runKeyward(['users', 'list', '--db', db])).stdout).toMatch(/^ann \(u_\w+\): team research$/m);
    expect((await runKeyward(['users', 'set', 'eve', '--team', 'none', '--db', db])).stdout).toMatch(/^updated eve \(u_\w+\): no limits$/m);
    const bad = await runKeyward(['users', 'add', 'fay', '--team', 'a team', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid team name 'a team': use 1-64 letters, digits, dot, dash or underscore/);
    const usage = await runKeyward(['usage', '--by', 'team', '--db', db]);
    expect(usage.stdout).toMatch(/^team\s+requests\s+tokens in\s+tokens out\s+cost$/m);
    expect(usage.stdout).toMatch(/^research\s+\d+\s+\d+\s+\d+\s+\$0\.\d+$/m);
    expect(usage.stdout).toMatch(/^\(no team\)\s+\d+/m);
    expect(JSON.parse((await runKeyward(['usage', '--by', 'team', '--json', '--db', db])).stdout).teams).toEqual(expect.arrayContaining([expect.objectContaining({ team: 'docs', requests: 4 }), expect.objectContaining({ team: null })]));
    expect((await runKeyward(['history', '--user', 'eve', '--db', db])).stdout).toMatch(/user\.set\s+eve\s+team=none/);
  });
});

describe('team budgets: plan, seeding and config', () => {
  const user = (team?: string): UserRecord => ({ id: 'u_1', name: 'u', disabled: false, createdAt: 0, ...(team ? { team } : {}) });

  it("counts a member's requests against the team, capped only when the team has a hard budget", () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const teams = new Map([['research', { budgetUsd: 2, period: 'day' as const }]]);
    const p = plan(user('research'), undefined, undefined, undefined, 100, 0.01, now, 'r1', teams);
    expect(p.checks[p.teamBudget]).toMatchObject({ key: 'b:t:research:d20261129', kind: 'fixed', limit: 2e9, cost: 1e7 });
    const free = plan(user('other'), undefined, undefined, undefined, 100, 0.01, now, 'r2', teams);
    expect(free.checks[free.teamBudget]).toMatchObject({ key: 'b:t:other:m202611', limit: 9e15 });
    expect(plan(user(), undefined, undefined, undefined, 100, 0.01, now, 'r3', teams).teamBudget).toBe(-1);
  });

  it("puts every team's spend in the ledger back for this day and this month when asked", () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const ledger = new MemoryLedger();
    const row = { requestId: 'r', userId: 'u_1', tokenId: 't', provider: 'openai', route: 'chat', model: 'm', tokensIn: 1, tokensOut: 1, latencyMs: 1, status: 200, outcome: 'ok' };
    ledger.append([
      { ...row, ts: Date.UTC(2026, 10, 2), costUsd: 1, team: 'research' },
      { ...row, ts: Date.UTC(2026, 10, 29, 1), costUsd: 0.25, team: 'research' },
      { ...row, ts: Date.UTC(2026, 10, 29, 2), costUsd: 5 },
    ]);
    expect(ledgerSpend(ledger, [], undefined, now)).toEqual([]);
    expect(ledgerSpend(ledger, [], undefined, now, true).map((a) => [a.key, a.delta])).toEqual([
      ['b:t:research:d20261129', 0.25e9],
      ['b:t:research:m202611', 1.25e9],
    ]);
  });

  it('starts a budget counter from the ledger and the rows still queued for it, for a user, a team and everyone', () => {
    const ledger = new MemoryLedger();
    const row = { requestId: 'r', tokenId: 't', provider: 'openai', route: 'chat', model: 'm', tokensIn: 1, tokensOut: 1, latencyMs: 1, status: 200, outcome: 'ok' };
    const day = period('day').key;
    ledger.append([{ ...row, ts: Date.now(), userId: 'u_1', costUsd: 1, team: 'research' }]);
    const queued = [
      { ...row, ts: Date.now(), userId: 'u_1', costUsd: 0.5, team: 'research' },
      { ...row, ts: Date.now(), userId: 'u_2', costUsd: 0.25 },
      { ...row, ts: Date.now() - 3 * 86_400_000, userId: 'u_1', costUsd: 100, team: 'research' },
    ];
    const seed = budgetSeeder(ledger, () => queued);
    expect(seed(`b:u:u_1:${day}`)).toBe(1.5e9);
    expect(seed(`b:t:research:${day}`)).toBe(1.5e9);
    expect(seed(`b:g:${day}`)).toBe(1.75e9);
    expect(budgetSeeder(ledger)(`b:t:research:${day}`)).toBe(1e9);
  });

  it('checks the config’s teams, naming what is wrong', () => {
    expect(validateGatewayConfig({ teams: { research: { budgetUsd: 500, softBudgetUsd: 400, period: 'month' } } }).teams).toEqual({ research: { budgetUsd: 500, softBudgetUsd: 400, period: 'month' } });
    expect(() => validateGatewayConfig({ teams: { 'a team': { budgetUsd: 1 } } })).toThrow(/invalid team name 'a team'/);
    expect(() => validateGatewayConfig({ teams: { research: { budgetUsd: -1 } } })).toThrow(/'research' is an object whose 'budgetUsd' is a number ≥ 0/);
    expect(() => validateGatewayConfig({ teams: { research: { usd: 1 } } })).toThrow(/without 'usd'/);
    expect(() => validateGatewayConfig({ teams: { research: { rpm: 1.5 } } })).toThrow(/'research' is an object whose 'rpm' is/);
    expect(() => validateGatewayConfig({ teams: ['research'] })).toThrow(/a map of team name to/);
  });
});
