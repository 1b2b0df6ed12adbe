import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { issueToken, verifyToken } from '../../src/gateway/tokens.js';
import { SqliteStore } from '../../src/store/sqlite.js';

describe('the SQLite directory, read by a gateway while the CLI writes the same file', () => {
  let dir: string | undefined;
  const open: SqliteStore[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  function stores(): [SqliteStore, SqliteStore] {
    dir = mkdtempSync(join(tmpdir(), 'kw-sqlite-dir-'));
    const gateway = new SqliteStore(join(dir, 'keyward.db'));
    const cli = new SqliteStore(join(dir, 'keyward.db'));
    open.push(gateway, cli);
    return [gateway, cli];
  }

  it('answers repeated lookups from memory while nothing changed', () => {
    const [gateway, cli] = stores();
    cli.addUser('ann', { rpm: 10 });
    const { record } = issueToken(cli, 'ann');
    const first = gateway.lookupToken(record.id);
    expect(first?.user.name).toBe('ann');
    expect(gateway.lookupToken(record.id)).toBe(first);
  });

  it('sees a revocation, a disabled or re-enabled user and a changed policy made by another connection on the next lookup', () => {
    const [gateway, cli] = stores();
    cli.addUser('bob', { rpm: 10 });
    const { token, record } = issueToken(cli, 'bob');
    expect(verifyToken(gateway, token)).toMatchObject({ ok: true });

    cli.setDisabled('bob', true);
    expect(verifyToken(gateway, token)).toMatchObject({ ok: false, reason: 'disabled' });
    cli.setDisabled('bob', false);
    expect(verifyToken(gateway, token)).toMatchObject({ ok: true });
    cli.setUser('bob', { rpm: 99 });
    expect(gateway.lookupToken(record.id)?.user.rpm).toBe(99);
    cli.revokeToken(record.id);
    expect(verifyToken(gateway, token)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it("sees its own writes (the anomaly guard's auto-disable) on the next lookup", () => {
    const [gateway] = stores();
    gateway.addUser('cy', {});
    const { token, record } = issueToken(gateway, 'cy');
    expect(verifyToken(gateway, token)).toMatchObject({ ok: true });
    gateway.setDisabled('cy', true, 'anomaly: test');
    expect(verifyToken(gateway, token)).toMatchObject({ ok: false, reason: 'disabled' });
    gateway.setDisabled('cy', false);
    gateway.setUser('cy', { models: ['gpt-4o-mini'] });
    expect(gateway.lookupToken(record.id)?.user.models).toEqual(['gpt-4o-mini']);
    gateway.revokeToken(record.id);
    expect(verifyToken(gateway, token)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it("records a token's last use for the CLI to read, never moving it back, without emptying the gateway's lookups", () => {
    const [gateway, cli] = stores();
    cli.addUser('cy', {});
    const { record } = issueToken(cli, 'cy');
    const first = gateway.lookupToken(record.id);
    expect(cli.listTokens()[0]!.lastUsedAt).toBeUndefined();
    gateway.touchToken(record.id, 2_000);
    gateway.touchToken(record.id, 1_000);
    expect(cli.listTokens()[0]!.lastUsedAt).toBe(2_000);
    // Its own write is no change made elsewhere: the lookups kept in memory stay.
    expect(gateway.lookupToken(record.id)).toBe(first);
    // An unknown id is no error: the token may have been removed meanwhile.
    expect(() => gateway.touchToken('nope', 3_000)).not.toThrow();
  });
});

describe('a keyward.db made before tokens could expire', () => {
  it('opens, keeps its tokens, and stores expiry for new ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-sqlite-old-'));
    try {
      const file = join(dir, 'keyward.db');
      // The tokens table as the first release wrote it, with one user and one token.
      const old = new Database(file);
      old.exec(`CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, disabled INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT, policy TEXT NOT NULL, created_at INTEGER NOT NULL);
        CREATE TABLE tokens (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), hash TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);`);
      const seed = new SqliteStore(':memory:');
      seed.addUser('erin', {});
      const issued = issueToken(seed, 'erin');
      const u = seed.getUser('erin')!;
      old.prepare('INSERT INTO users (id, name, policy, created_at) VALUES (?, ?, ?, ?)').run(u.id, 'erin', '{}', u.createdAt);
      old.prepare('INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)').run(issued.record.id, u.id, issued.record.hash, issued.record.createdAt);
      old.close();
      seed.close();

      const store = new SqliteStore(file);
      try {
        expect(verifyToken(store, issued.token)).toMatchObject({ ok: true });
        const expiring = issueToken(store, 'erin', { expiresAt: Date.now() - 1 });
        expect(verifyToken(store, expiring.token)).toMatchObject({ ok: false, reason: 'expired' });
        expect(store.listTokens().map((t) => t.expiresAt)).toEqual([undefined, expiring.record.expiresAt]);
        // Scopes came later still: the old token keeps every API, a new one keeps its scopes across a reopen.
        const scoped = issueToken(store, 'erin', { scopes: ['app', 'gemini'] });
        const old = verifyToken(store, issued.token);
        expect(old.ok && old.token.scopes).toBeUndefined();
        expect(verifyToken(store, scoped.token)).toMatchObject({ ok: true, token: { scopes: ['app', 'gemini'] } });
        // And the time a token was last used later than that.
        store.touchToken(issued.record.id, 1_700_000_000_000);
      } finally {
        store.close();
      }
      // Opening it again does not try to add the columns twice, and reads the scopes back.
      const again = new SqliteStore(file);
      expect(again.listTokens().map((t) => t.scopes)).toEqual([undefined, undefined, ['app', 'gemini']]);
      expect(again.listTokens().map((t) => t.lastUsedAt)).toEqual([1_700_000_000_000, undefined, undefined]);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('values the SQLite file keeps for a gateway alone (whose a file or batch is)', () => {
  it('keeps values in the file until they expire, for a gateway that restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-sqlite-kept-'));
    const gateway = new SqliteStore(join(dir, 'keyward.db'));
    const cli = new SqliteStore(join(dir, 'keyward.db'));
    try {
    const kept = gateway.keptValues();
    kept.set('file:file-a', Buffer.from('{"user":"u1"}'), 60_000);
    kept.set('file:file-b', Buffer.from('{"user":"u2"}'), 1);
    // Another connection (a restarted gateway) reads what this one kept.
    expect((await cli.keptValues().get('file:file-a'))?.toString()).toBe('{"user":"u1"}');
    await new Promise((r) => setTimeout(r, 5));
    expect(await cli.keptValues().get('file:file-b')).toBeUndefined();
    kept.delete('file:file-a');
    expect(await cli.keptValues().get('file:file-a')).toBeUndefined();
    } finally {
      gateway.close();
      cli.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
