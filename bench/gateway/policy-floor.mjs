/**
 * The policy floor: the least a gateway can do and still keep the policies keyward runs with in this
 * benchmark, written straight on node:http and undici's dispatch, with none of keyward's routes,
 * providers or features. It is a measuring stick, not a gateway: it tells how much of keyward's cost
 * over the bare passthrough the policies themselves take on this machine, and whether the 1.25× target
 * leaves room for them at all.
 *
 * Per request, as keyward does for the benchmark's user: the gateway token hashed (SHA-256) and looked
 * up; a sliding window each on the user's requests per minute and per day, tokens per minute and the
 * client IP's requests per minute; the user's daily and the global monthly budget, the worst case held
 * before the call and settled to the usage after; `stream_options.include_usage` added to a stream and
 * the usage-only event taken out of it again; the usage read from the answer; a ledger row (SQLite,
 * written in batches) and a log line (pino, batched); security and rate-limit headers on the answer.
 */
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setInterval } from 'node:timers';
import { URL } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Agent } from 'undici';
import { apiSecurityHeaders } from '../../dist/recommended-headers.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
// gpt-4o-mini's rates, USD per token.
const PRICE_IN = 0.15e-6;
const PRICE_OUT = 0.6e-6;

/** Two fixed windows weighted by how far into the current one `now` is: the usual sliding-window estimate. */
class Window {
  constructor(limit, ms) {
    this.limit = limit;
    this.ms = ms;
    this.bucket = 0;
    this.cur = 0;
    this.prev = 0;
  }

  admit(now, n) {
    const b = Math.floor(now / this.ms);
    if (b !== this.bucket) {
      this.prev = b === this.bucket + 1 ? this.cur : 0;
      this.cur = 0;
      this.bucket = b;
    }
    if (this.prev * (1 - (now % this.ms) / this.ms) + this.cur + n > this.limit) return false;
    this.cur += n;
    return true;
  }
}

class Budget {
  constructor(usd) {
    this.usd = usd;
    this.spent = 0;
  }

  hold(usd) {
    if (this.spent + usd > this.usd) return false;
    this.spent += usd;
    return true;
  }

  settle(held, usd) {
    this.spent += usd - held;
  }
}

/** The usage-only event a client that did not ask for usage is not sent: `"choices":[]` with a usage object. */
function withoutUsageEvent(chunk) {
  const text = chunk.toString('latin1');
  const at = text.indexOf('"choices":[]');
  if (at === -1) return chunk;
  const start = text.lastIndexOf('\n\n', at) + 2;
  const end = text.indexOf('\n\n', at);
  return Buffer.concat([chunk.subarray(0, start < 2 ? 0 : start), chunk.subarray(end === -1 ? chunk.length : end + 2)]);
}

/** Prompt and completion tokens from the last usage object of an answer or a stream's last chunk. */
function usageOf(buf) {
  const text = buf.toString('latin1');
  const at = text.lastIndexOf('"usage"');
  if (at === -1) return undefined;
  const m = /"prompt_tokens":(\d+).*?"completion_tokens":(\d+)/.exec(text.slice(at, at + 400));
  return m ? { tokensIn: Number(m[1]), tokensOut: Number(m[2]) } : undefined;
}

export function startPolicyFloor(upstream, providerKey, onReady) {
  const token = `kw_floor_${randomBytes(24).toString('base64url')}`;
  const user = { id: 'u1', name: 'bench', disabled: false };
  const tokens = new Map([[createHash('sha256').update(token).digest('hex'), { id: 't1', user, revoked: false }]]);
  const rpm = new Window(10_000_000, MINUTE);
  const rpd = new Window(100_000_000, DAY);
  const tpm = new Window(1_000_000_000, MINUTE);
  const ipRpm = new Map();
  const userBudget = new Budget(1_000_000);
  const globalBudget = new Budget(10_000_000);

  const dir = mkdtempSync(join(tmpdir(), 'kw-floor-'));
  const db = new Database(join(dir, 'ledger.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE usage (ts INTEGER, request_id TEXT, user_id TEXT, token_id TEXT, model TEXT, tokens_in INTEGER, tokens_out INTEGER, cost_usd REAL, latency_ms REAL, status INTEGER, outcome TEXT)');
  const insert = db.prepare('INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const append = db.transaction((rows) => {
    for (const r of rows) insert.run(r);
  });
  let rows = [];
  setInterval(() => {
    if (rows.length === 0) return;
    append(rows);
    rows = [];
  }, 200).unref();
  const log = pino({ base: { svc: 'policy-floor' } }, pino.destination({ dest: join(dir, 'gateway.log'), sync: false, minLength: 32 * 1024, maxWrite: 64 * 1024 }));

  const agent = new Agent({ connections: 512, keepAliveTimeout: 30_000 });
  const origin = new URL(upstream).origin;
  const security = apiSecurityHeaders();
  let seq = 0;

  const refuse = (res, status, message) => {
    res.writeHead(status, { ...security, 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const start = performance.now();
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization;
      const t = typeof auth === 'string' && auth.startsWith('Bearer ') ? tokens.get(createHash('sha256').update(auth.slice(7)).digest('hex')) : undefined;
      if (t === undefined || t.revoked || t.user.disabled) return refuse(res, 401, 'invalid gateway token');
      const raw = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return refuse(res, 400, 'the body is not JSON');
      }
      const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 4096;
      const promptTokens = Math.ceil(raw.length / 4);
      const now = Date.now();
      const ip = req.socket.remoteAddress ?? '';
      let ipWindow = ipRpm.get(ip);
      if (ipWindow === undefined) ipRpm.set(ip, (ipWindow = new Window(10_000_000, MINUTE)));
      if (!rpm.admit(now, 1) || !rpd.admit(now, 1) || !ipWindow.admit(now, 1) || !tpm.admit(now, promptTokens + maxTokens)) return refuse(res, 429, 'rate limit reached');
      const held = promptTokens * PRICE_IN + maxTokens * PRICE_OUT;
      if (!userBudget.hold(held)) return refuse(res, 402, 'budget reached');
      if (!globalBudget.hold(held)) {
        userBudget.settle(held, 0);
        return refuse(res, 402, 'budget reached');
      }
      const stream = body.stream === true;
      const injected = stream && body.stream_options === undefined;
      let out = raw;
      if (injected) {
        body.stream_options = { include_usage: true };
        out = Buffer.from(JSON.stringify(body));
      }
      const reqId = `floor-${(++seq).toString(36)}`;
      const limits = { 'x-ratelimit-limit-requests': '10000000', 'x-ratelimit-remaining-requests': String(10_000_000 - rpm.cur), 'x-ratelimit-limit-tokens': '1000000000', 'x-ratelimit-remaining-tokens': String(1_000_000_000 - tpm.cur) };
      let status = 0;
      // The usage event may come in the chunk before the stream's last ([DONE]).
      let last;
      let before;
      const answer = [];
      const settle = (outcome) => {
        const usage = (last && usageOf(last)) ?? (before && usageOf(before)) ?? { tokensIn: promptTokens, tokensOut: 0 };
        const cost = usage.tokensIn * PRICE_IN + usage.tokensOut * PRICE_OUT;
        userBudget.settle(held, cost);
        globalBudget.settle(held, cost);
        const ms = performance.now() - start;
        rows.push([Date.now(), reqId, user.id, t.id, body.model, usage.tokensIn, usage.tokensOut, cost, ms, status, outcome]);
        log.info({ reqId, user: user.name, model: body.model, status, outcome, tokensIn: usage.tokensIn, tokensOut: usage.tokensOut, costUsd: cost, ms }, 'request');
      };
      agent.dispatch(
        { origin, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${providerKey}` }, body: out },
        {
          onRequestStart() {},
          onResponseStart(_c, code, headers) {
            status = code;
            if (stream) res.writeHead(code, { ...security, ...limits, 'content-type': headers['content-type'], 'x-request-id': reqId });
          },
          onResponseData(_c, chunk) {
            if (!stream) answer.push(chunk);
            else {
              before = last;
              last = chunk;
              res.write(injected ? withoutUsageEvent(chunk) : chunk);
            }
          },
          onResponseEnd() {
            if (!stream) {
              last = answer.length === 1 ? answer[0] : Buffer.concat(answer);
              res.writeHead(status, { ...security, ...limits, 'content-type': 'application/json', 'content-length': String(last.length), 'x-request-id': reqId });
              res.end(last);
            } else res.end();
            settle('ok');
          },
          onResponseError() {
            if (!res.headersSent) refuse(res, 502, 'the upstream failed');
            else res.destroy();
            settle('upstream_error');
          },
        },
      );
    });
  });
  server.listen(0, '127.0.0.1', () => onReady(server.address().port, token));
}
