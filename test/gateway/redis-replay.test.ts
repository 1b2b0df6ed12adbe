import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/store/redis.js';
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

  it('are kept and replayed into the same counters when Redis comes back with its data', async () => {
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
      await expect(counters.adjust(settlement)).rejects.toThrow();
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
});
