import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/gateway/logger.js';
import { fakeOpenAiKey } from './helpers/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-logger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('the gateway logger', () => {
  it('writes a line held in a batched destination within the flush interval, on a quiet gateway', async () => {
    const file = join(dir, 'quiet.log');
    const log = createLogger({ destination: pino.destination({ dest: file, sync: false, minLength: 4096 }), flushMs: 20 });
    log.info({ reqId: 'r1', status: 200 }, 'request');
    await until(() => readFileSync(file, 'utf8').includes('"reqId":"r1"'), 'the line was written');
    expect(JSON.parse(readFileSync(file, 'utf8').trim())).toMatchObject({ msg: 'request', status: 200, svc: 'keyward-gateway' });
  });

  it('never writes a provider key or a credential header whole', async () => {
    const file = join(dir, 'redacted.log');
    const key = fakeOpenAiKey();
    const log = createLogger({ destination: pino.destination({ dest: file, sync: true }) });
    log.warn({ headers: { authorization: `Bearer ${key}` }, body: `upstream said: invalid key ${key}` }, `failed with ${key}`);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(12, 40));
    expect(text).toContain('[redacted]');
  });
});
