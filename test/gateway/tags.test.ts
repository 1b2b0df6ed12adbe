import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/gateway/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe('spend by tag (x-keyward-tag)', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let store: SqliteStore;
  let dir: string;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-tags-'));
    store = new SqliteStore(join(dir, 'keyward.db'));
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    gw = await startGateway(upstream, keys, { directory: store, ledger: store });
    store.addUser('tia', {});
    token = issueToken(store, 'tia').token;
  });
  afterAll(async () => {
    await gw.stop();
    store.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the tag a request carries into its ledger row and log line, on the API routes and the app route', async () => {
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), { ...bearer(token), 'x-keyward-tag': 'checkout/summary' })).status).toBe(200);
    expect((await post(`${gw.origin}/api/ai/chat`, { message: 'hi' }, { ...bearer(token), 'x-keyward-tag': 'support-bot' })).status).toBe(200);
    expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(token))).status).toBe(200);
    await until('the three calls are in the ledger', () => store.rows({}).length === 3);
    expect(store.rows({}).map((r) => [r.route, r.tag])).toEqual([
      ['chat', 'checkout/summary'],
      ['app', 'support-bot'],
      ['chat', undefined],
    ]);
    expect(store.totals('tag', {}).map((r) => [r.key, r.requests]).sort()).toEqual([
      ['', 1],
      ['checkout/summary', 1],
      ['support-bot', 1],
    ]);
    expect(gw.logs.join('')).toMatch(/"tag":"checkout\/summary","msg":"request"/);
  });

  it('refuses a tag it cannot store cleanly, before anything goes upstream', async () => {
    const n = upstream.seen.length;
    for (const bad of ['has space', 'x'.repeat(65), '-leading', 'a,b']) {
      const r = await post(`${gw.origin}/v1/chat/completions`, chat(), { ...bearer(token), 'x-keyward-tag': bad });
      expect(r.status).toBe(400);
      expect((r.json.error as { message: string }).message).toMatch(/x-keyward-tag must be 1 to 64 letters/);
    }
    expect(upstream.seen.length).toBe(n);
  });
});

describe('a keyward.db whose ledger was made before tags', () => {
  it('opens, keeps its rows (untagged), and stores tags for new ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ledger-old-'));
    try {
      const file = join(dir, 'keyward.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE ledger (ts INTEGER NOT NULL, request_id TEXT NOT NULL, user_id TEXT NOT NULL, token_id TEXT NOT NULL, provider TEXT NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL,
        tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, status INTEGER NOT NULL, outcome TEXT NOT NULL);`);
      old.prepare('INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(1, 'r-old', 'u_1', 't', 'openai', 'chat', 'gpt-4o-mini', 1, 1, 0.5, 1, 200, 'ok');
      old.close();
      const store = new SqliteStore(file);
      try {
        store.append([{ ts: 2, requestId: 'r-new', userId: 'u_1', tokenId: 't', provider: 'openai', route: 'chat', model: 'gpt-4o-mini', tokensIn: 1, tokensOut: 1, costUsd: 0.25, latencyMs: 1, status: 200, outcome: 'ok', tag: 'new' }]);
        expect(store.totals('tag', {})).toEqual([
          { key: '', requests: 1, tokensIn: 1, tokensOut: 1, costUsd: 0.5 },
          { key: 'new', requests: 1, tokensIn: 1, tokensOut: 1, costUsd: 0.25 },
        ]);
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
