import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/store/redis.js';
import { RedisDirectory } from '../../src/store/redis-directory.js';
import { issueToken, verifyToken } from '../../src/gateway/tokens.js';
import { requireProgram } from '../helpers/programs.js';
import { freePort } from '../helpers/redis-server.js';
import { sleep } from './helpers/http.js';

/** A redis-server that keeps its data in `dir` (dump.rdb), so it can be stopped and started again with the same data on the same port. */
async function redisServer(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('settlements that fail while Redis is away', () => {
  let server: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stop(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['written on their own', false],
    ['carried by an admission that fails', true],
  ])('are kept and replayed into the same counters when Redis comes back with its data (%s)', async (_how, carried) => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-replay-'));
    server = await redisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const counters = await RedisCounters.connect(url, { commandTimeoutMs: 500 });
    try {
      const budget = { key: 'b:u:replay:2026-11', kind: 'fixed' as const, limit: 1000, windowMs: 3_600_000, cost: 300 };
      const tpm = { key: 'u:replay:tpm', kind: 'sliding' as const, limit: 1000, windowMs: 60_000, cost: 300 };
      const admitted = await counters.admit([budget, tpm]);
      expect(admitted.ok).toBe(true);
      const raw = new Redis(url);
      await raw.save();
      raw.disconnect();

      await stop(server);
      // The request ends while Redis is down: its settlement (real usage below the reservation) cannot be written.
      const settlement = [
        { key: budget.key, kind: 'fixed' as const, windowMs: budget.windowMs, at: admitted.now, delta: -200 },
        { key: tpm.key, kind: 'sliding' as const, windowMs: tpm.windowMs, at: admitted.now, delta: -250 },
      ];
      const written = counters.adjust(settlement);
      // The next admission, while Redis is still down, takes the settlement along and fails with it.
      if (carried) await expect(counters.admit([{ ...budget, cost: 1 }])).rejects.toThrow();
      await expect(written).rejects.toThrow();
      expect(counters.pendingAdjustments).toBe(2);

      server = await redisServer(port, dir);
      for (let i = 0; i < 400 && counters.pendingAdjustments > 0; i++) await sleep(25);
      expect(counters.pendingAdjustments).toBe(0);
      expect(await counters.peek(budget.key)).toBe(100);
      const check = new Redis(url);
      try {
        expect(Number(await check.get(`kw:${tpm.key}:${Math.floor(admitted.now / tpm.windowMs)}`))).toBe(50);
      } finally {
        check.disconnect();
      }
      // The corrected counters admit what the real usage leaves room for: 900 more of the budget.
      expect((await counters.admit([{ ...budget, cost: 900 }])).ok).toBe(true);
    } finally {
      await counters.close();
    }
  });

  it('a Redis that restarts empty gets the users, tokens and revocations back from the instances, so nobody is locked out and no revoked token returns', async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-restore-'));
    server = await redisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const errors: string[] = [];
    const a = await RedisDirectory.connect(url, { onError: (e) => errors.push(e.message) });
    const b = await RedisDirectory.connect(url, { onError: (e) => errors.push(e.message) });
    try {
      a.addUser('jane', {});
      const kept = issueToken(a, 'jane');
      const gone = issueToken(a, 'jane');
      a.revokeToken(gone.record.id);
      await a.flush();
      for (let i = 0; i < 200 && !b.lookupToken(gone.record.id)?.token.revokedAt; i++) await sleep(25);

      await stop(server);
      rmSync(join(dir, 'dump.rdb'), { force: true });
      server = await redisServer(port, dir);
      const raw = new Redis(url);
      try {
        for (let i = 0; i < 400 && (await raw.hlen('kw:dir:tokens')) < 2; i++) await sleep(25);
        expect(await raw.hget('kw:dir:names', 'jane')).toBe(a.getUser('jane')!.id);
        expect(JSON.parse((await raw.hget('kw:dir:tokens', gone.record.id))!)).toMatchObject({ revokedAt: expect.any(Number) });
      } finally {
        raw.disconnect();
      }
      for (let i = 0; i < 200 && (a.currentVersion < 2 || b.currentVersion !== a.currentVersion); i++) await sleep(25);
      for (const d of [a, b]) {
        expect(verifyToken(d, kept.token)).toMatchObject({ ok: true });
        expect(verifyToken(d, gone.token)).toMatchObject({ ok: false, reason: 'revoked' });
      }
      expect(errors.join('\n')).toMatch(/Redis lost the user\/token directory/);
      // And the directory works as before: a change made now reaches the other instance.
      a.setDisabled('jane', true);
      await a.flush();
      for (let i = 0; i < 200 && !b.getUser('jane')!.disabled; i++) await sleep(25);
      expect(verifyToken(b, kept.token)).toMatchObject({ ok: false, reason: 'disabled' });
    } finally {
      a.close();
      b.close();
    }
  });

  it('a user disabled while Redis is away (the anomaly guard) stays disabled and reaches the other instances when Redis is back', async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-resend-'));
    server = await redisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const a = await RedisDirectory.connect(url, { commandTimeoutMs: 500 });
    const b = await RedisDirectory.connect(url);
    try {
      a.addUser('kim', {});
      const t = issueToken(a, 'kim');
      await a.flush();
      const raw = new Redis(url);
      await raw.save();
      raw.disconnect();
      await stop(server);

      a.setDisabled('kim', true, 'anomaly: test');
      await expect(a.flush()).rejects.toThrow(/writing the directory to Redis failed/);
      expect(verifyToken(a, t.token)).toMatchObject({ ok: false, reason: 'disabled' });

      // Hold the resent change back, to look at A between the reload that comes before it and Redis's answer.
      const gate = holdWrites(a, 'setDisabled');
      server = await redisServer(port, dir);
      await gate.reached;
      expect(verifyToken(a, t.token)).toMatchObject({ ok: false, reason: 'disabled' });
      gate.release();
      for (let i = 0; i < 400 && !b.getUser('kim')?.disabled; i++) await sleep(25);
      expect(b.getUser('kim')).toMatchObject({ disabled: true, disabledReason: 'anomaly: test' });
      await a.flush();
      expect(verifyToken(a, t.token)).toMatchObject({ ok: false, reason: 'disabled' });
      expect(a.currentVersion).toBe(b.currentVersion);
      expect((await a.history(0)).filter((e) => e.action === 'user.disable')).toEqual([expect.objectContaining({ target: 'kim', detail: 'anomaly: test' })]);
    } finally {
      a.close();
      b.close();
    }
  });

  it("a change not yet taken by Redis stays in force when another instance's change to the same user arrives first", async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-pending-'));
    server = await redisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const a = await RedisDirectory.connect(url);
    const b = await RedisDirectory.connect(url);
    try {
      a.addUser('lee', {});
      const t = issueToken(a, 'lee');
      await a.flush();
      for (let i = 0; i < 200 && !b.lookupToken(t.record.id); i++) await sleep(25);

      const gate = holdWrites(a, 'setDisabled');
      a.setDisabled('lee', true, 'anomaly: test');
      await gate.reached;
      b.setUser('lee', { rpm: 5 });
      await b.flush();
      for (let i = 0; i < 200 && a.getUser('lee')?.rpm !== 5; i++) await sleep(25);
      expect(a.getUser('lee')).toMatchObject({ rpm: 5, disabled: true });
      expect(verifyToken(a, t.token)).toMatchObject({ ok: false, reason: 'disabled' });

      gate.release();
      await a.flush();
      for (let i = 0; i < 200 && !b.getUser('lee')?.disabled; i++) await sleep(25);
      for (const d of [a, b]) expect(d.getUser('lee')).toMatchObject({ rpm: 5, disabled: true, disabledReason: 'anomaly: test' });
    } finally {
      a.close();
      b.close();
    }
  });
});

describe.skipIf(!requireProgram('redis-server', 'redis-server'))("the directory's history", () => {
  let server: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stop(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an entry whose write failed after Redis took the change is written once Redis is back, and the change is not made twice', async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kw-redis-history-'));
    server = await redisServer(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const a = await RedisDirectory.connect(url);
    try {
      a.addUser('max', {});
      await a.flush();
      const conn = (a as unknown as { redis: { xadd: (...args: string[]) => Promise<string> } }).redis;
      const xadd = conn.xadd.bind(conn);
      conn.xadd = () => Promise.reject(new Error('Connection is closed.'));
      a.setUser('max', { rpm: 7 });
      await expect(a.flush()).rejects.toThrow(/writing the directory's history to Redis failed/);
      conn.xadd = xadd;
      const version = a.currentVersion;
      expect((await a.history(0)).map((e) => e.action)).toEqual(['user.add']);

      const raw = new Redis(url);
      await raw.save();
      raw.disconnect();
      await stop(server);
      server = await redisServer(port, dir);
      let entries = await a.history(0).catch(() => []);
      for (let i = 0; i < 400 && entries.length < 2; i++) {
        await sleep(25);
        entries = await a.history(0).catch(() => []);
      }
      expect(entries.map((e) => [e.action, e.detail])).toEqual([
        ['user.add', undefined],
        ['user.set', 'rpm=7'],
      ]);
      await a.flush();
      expect(a.currentVersion).toBe(version);
    } finally {
      a.close();
    }
  });
});

/**
 * Holds back the directory's next write of one kind until released. It reaches into the instance's
 * Redis connection, since the window it opens (a change made, Redis not yet answering) is otherwise
 * a few microseconds wide.
 */
function holdWrites(d: RedisDirectory, op: string): { reached: Promise<void>; release: () => void } {
  const conn = (d as unknown as { redis: { kwDirWrite: (...args: string[]) => Promise<string> } }).redis;
  const send = conn.kwDirWrite.bind(conn);
  let release!: () => void;
  let reached!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const atWrite = new Promise<void>((r) => (reached = r));
  conn.kwDirWrite = async (...args: string[]) => {
    if (args.includes(op)) {
      reached();
      await held;
    }
    return send(...args);
  };
  return { reached: atWrite, release };
}
