import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLog, batchedDestination, createLogger, LOG_BATCH_BYTES, type AccessFields } from '../../src/gateway/logger.js';
import { engineWith, parseRules } from '../../src/secrets/index.js';
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
    const destination = batchedDestination(file);
    expect((destination as { minLength?: number }).minLength).toBe(LOG_BATCH_BYTES);
    const log = createLogger({ destination, flushMs: 20 });
    log.info({ reqId: 'r1', status: 200 }, 'request');
    // The destination opens its file in the background: on a busy machine it may not exist yet.
    const text = () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
    await until(() => text().includes('"reqId":"r1"'), 'the line was written');
    expect(JSON.parse(text().trim())).toMatchObject({ msg: 'request', status: 200, svc: 'keyward-gateway' });
  });

  it('hands a batching destination whole batches, in order, and the rest on flush', async () => {
    const writes: string[] = [];
    let flushed = 0;
    const destination = { minLength: 1000, write: (s: string) => void writes.push(s), flush: (cb?: () => void) => (flushed++, cb?.()) };
    const log = createLogger({ destination, flushMs: 0 });
    const access = accessLog(log);
    const line = (i: number): AccessFields => ({ reqId: `r${i}`, user: 'u', route: 'chat', model: 'm', status: 200, outcome: 'ok', tokensIn: 1, tokensOut: 2, costUsd: 0, ms: 1 });
    for (let i = 0; i < 30; i++) {
      if (i === 10) log.warn({ at: i }, 'between');
      access(line(i));
    }
    // About 200 bytes a line: a handful of writes of 1000 bytes or more, not one a line.
    expect(writes.length).toBeGreaterThan(2);
    expect(writes.length).toBeLessThan(8);
    for (const w of writes) expect(w.length).toBeGreaterThanOrEqual(1000);
    const before = writes.join('').split('\n').filter(Boolean).length;
    expect(before).toBeLessThan(31);
    await new Promise<void>((r) => log.flush(() => r()));
    expect(flushed).toBe(1);
    const lines = writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { reqId?: string; msg: string });
    expect(lines).toHaveLength(31);
    expect(lines.map((l) => l.reqId ?? l.msg)).toEqual([...Array.from({ length: 10 }, (_, i) => `r${i}`), 'between', ...Array.from({ length: 20 }, (_, i) => `r${i + 10}`)]);
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

  it("masks a project's own kind of secret with its rules, in fields, messages and the request line, and only in that logger", async () => {
    const engine = engineWith(parseRules(JSON.stringify({ schema: 'keyward.rules/1', rules: [{ id: 'acme-service-token', provider: 'Acme', title: 'Acme service token', severity: 'high', keywords: ['acme_svc_'], pattern: 'acme_svc_[A-Za-z0-9]{32}' }] }), 'rules.json'));
    const token = `acme_svc_${fakeOpenAiKey().replace(/[^A-Za-z0-9]/g, '').slice(-32)}`;
    const plainFile = join(dir, 'plain.log');
    const ruledFile = join(dir, 'ruled.log');
    const plain = createLogger({ destination: pino.destination({ dest: plainFile, sync: true }) });
    const ruled = createLogger({ destination: pino.destination({ dest: ruledFile, sync: true }), engine });
    // The built-in rules find nothing in it: the plain logger marks the string clean, which must not make the other pass it.
    for (const log of [plain, ruled]) {
      log.warn({ ref: token }, `upstream refused ${token}`);
      accessLog(log)({ reqId: 'r1', user: token, route: 'chat', model: 'm', status: 200, outcome: 'ok', tokensIn: 1, tokensOut: 1, costUsd: 0, ms: 1 });
    }
    await until(() => readFileSync(ruledFile, 'utf8').includes('"msg":"request"'), 'the request line is written');
    expect(readFileSync(plainFile, 'utf8')).toContain(token);
    const ruledText = readFileSync(ruledFile, 'utf8');
    expect(ruledText).not.toContain(token);
    expect(ruledText.match(/acme_svc_…/g)).toHaveLength(3);
  });

  it('censors the credential headers of every SDK, whatever the value looks like', () => {
    const file = join(dir, 'headers.log');
    const log = createLogger({ destination: pino.destination({ dest: file, sync: true }) });
    // Values no rule of the engine recognises: only the header names protect them.
    const values = { 'x-api-key': 'opaque-anthropic-credential', 'x-goog-api-key': 'opaque-google-credential', 'api-key': 'opaque-azure-credential' };
    log.warn({ headers: values, req: { headers: values } }, 'request headers');
    const text = readFileSync(file, 'utf8');
    for (const v of Object.values(values)) expect(text).not.toContain(v);
    expect(JSON.parse(text.trim()).headers).toEqual({ 'x-api-key': '[redacted]', 'x-goog-api-key': '[redacted]', 'api-key': '[redacted]' });
  });

  it('writes the per-request line as pino would, masked the same way, and not below its level', async () => {
    const file = join(dir, 'access.log');
    const log = createLogger({ destination: pino.destination({ dest: file, sync: true }) });
    const key = fakeOpenAiKey();
    const fields: AccessFields[] = [
      { reqId: 'a-1', user: 'jane', route: 'chat', model: 'gpt-4o-mini', status: 200, outcome: 'ok', tokensIn: 12, tokensOut: 8, costUsd: 0.0000066, ms: 1.25 },
      // A user named with a key, a model with quotes and a newline, a cost that is not a number.
      { reqId: 'a-2', user: `ci ${key}`, route: 'messages', model: 'm"od\nel', status: 502, outcome: 'upstream_failed', tokensIn: 0, tokensOut: 0, costUsd: Number.NaN, ms: 0.5 },
      // A request with the client's tag.
      { reqId: 'a-3', user: 'jane', route: 'chat', model: 'gpt-4o-mini', status: 200, outcome: 'ok', tokensIn: 1, tokensOut: 1, costUsd: 0, ms: 1, tag: 'checkout/summary' },
    ];
    for (const f of fields) {
      accessLog(log)(f);
      log.info(f, 'request');
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      const { time: t1, ...fast } = lines[i]!;
      const { time: t2, ...viaPino } = lines[i + 1]!;
      expect(fast).toEqual(viaPino);
      expect(Math.abs(Number(t1) - Number(t2))).toBeLessThan(1000);
    }
    expect(lines[0]).toMatchObject({ level: 30, svc: 'keyward-gateway', reqId: 'a-1', user: 'jane', costUsd: 0.0000066, msg: 'request' });
    expect(lines[2]!.model).toBe('m"od\nel');
    expect(lines[2]!.costUsd).toBeNull();
    expect(lines[4]!.tag).toBe('checkout/summary');
    expect(lines[0]!.tag).toBeUndefined();
    expect(readFileSync(file, 'utf8')).not.toContain(key.slice(12, 40));

    log.level = 'warn';
    accessLog(log)(fields[0]!);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(6);
    // A logger keyward did not make gets pino's own line.
    const other = pino(pino.destination({ dest: join(dir, 'other.log'), sync: true }));
    accessLog(other)(fields[0]!);
    expect(JSON.parse(readFileSync(join(dir, 'other.log'), 'utf8'))).toMatchObject({ reqId: 'a-1', msg: 'request' });
  });
});
