/**
 * Cost of each stage of the gateway's hot path, in µs per request (best of 5 runs), to see where the
 * time over a bare passthrough goes:  node --import tsx bench/gateway/hot-path.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Authenticator } from '../../src/gateway/auth.js';
import { accessLog, createLogger } from '../../src/gateway/logger.js';
import { GatewayMetrics } from '../../src/gateway/metrics.js';
import { StreamMeter } from '../../src/gateway/meter.js';
import { plan } from '../../src/gateway/policy.js';
import { openai } from '../../src/gateway/providers/openai.js';
import { Prices } from '../../src/gateway/providers/prices.js';
import { ROUTES, shapeRequest } from '../../src/gateway/routes.js';
import { issueToken } from '../../src/gateway/tokens.js';
import { UsageEventFilter } from '../../src/gateway/usage-filter.js';
import { usageOfAnswer } from '../../src/gateway/usage-search.js';
import { MemoryCounters, MemoryDirectory } from '../../src/store/memory.js';
import { scanText } from '../../src/secrets/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { apiSecurityHeaders } from '../../src/recommended-headers.js';

const dir = new MemoryDirectory();
dir.addUser('bench', { rpm: 1e7, rpd: 1e8, tpm: 1e9, budgetUsd: 1e6, softBudgetUsd: 9e5, period: 'day' });
const token = issueToken(dir, 'bench').token;
const auth = new Authenticator(dir);
const counters = new MemoryCounters();
const prices = new Prices();
const log = createLogger({ destination: pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }) });
const raw = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64, stream: true }));
const route = ROUTES.get('/v1/chat/completions')!;
const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
const chunks = [...Array.from({ length: 8 }, () => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'tok' }, finish_reason: null }], usage: null })}\n\n`), `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 } })}\n\n`, 'data: [DONE]\n\n'].map((s) => Buffer.from(s));
const N = 20000;
function time(name: string, fn: () => void) {
  for (let i = 0; i < 2000; i++) fn();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < N / 5; i++) fn();
    best = Math.min(best, ((performance.now() - t) * 1000) / (N / 5));
  }
  console.log(name.padEnd(12), best.toFixed(2), 'µs');
}
time('auth', () => void auth.authenticate({ authorization: `Bearer ${token}` }));
time('parse+shape', () => void shapeRequest(route, JSON.parse(raw.toString()), raw, 4096));
// promptSecrets 'block' or 'redact' (off by default): the secrets engine over the request body.
time('prompt scan', () => void scanText(raw.toString('utf8')));
const user = dir.getUser('bench')!;
time('plan+admit', () => void counters.admit(plan(user, '127.0.0.1', { rpm: 1e7 }, { usd: 1e7, period: 'month' }, 100, prices.cost('gpt-4o-mini', 30, 64), Date.now(), 'bench-1').checks));
time('meter', () => {
  const m = new StreamMeter(openai);
  for (const c of chunks) m.push(c);
  m.end();
  m.usage(10);
});
const access = accessLog(log);
const line = { reqId: 'abc', user: 'bench', route: 'chat', model: 'gpt-4o-mini', status: 200, outcome: 'ok', tokensIn: 12, tokensOut: 8, costUsd: 0.0001, ms: 1.23 };
time('log (pino)', () => log.info(line, 'request'));
time('log line', () => access(line));
// A JSON answer of 4 KB, billed from its usage object.
const answer = Buffer.from(JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(800) }, finish_reason: 'stop' }], usage: { prompt_tokens: 12, completion_tokens: 800, total_tokens: 812 } }));
time('answer usage', () => void usageOfAnswer(openai, answer));
// What finish() adds to the metrics for a billed answer: a count, a duration, tokens and spend.
const metrics = new GatewayMetrics({ keyState: () => ({}), ledgerQueued: () => 0 });
time('metrics', () => {
  metrics.took('chat', 'openai', 0.0123);
  metrics.request('chat', 'openai', 200, 'ok');
  metrics.usage('openai', 'gpt-4o-mini', 12, 8, 0.0001);
});
const SEC = apiSecurityHeaders();
time('headers', () => void Object.assign({}, SEC, { 'content-type': 'x', 'x-request-id': 'y' }));
time('usage filter', () => {
  const f = new UsageEventFilter();
  for (const c of chunks) f.push(c);
  f.end();
});
const tmp = mkdtempSync(join(tmpdir(), 'kw-hot-'));
const ledger = new SqliteStore(join(tmp, 'ledger.db'));
const row = { ts: Date.now(), requestId: 'abc-1', userId: user.id, tokenId: 't', provider: 'openai', route: 'chat', model: 'gpt-4o-mini', tokensIn: 12, tokensOut: 8, costUsd: 0.0001, latencyMs: 1.2, status: 200, outcome: 'ok' };
const batch = Array.from({ length: 200 }, () => row);
time('ledger row', () => ledger.append(batch.slice(0, 1)));
time('ledger row/200', () => ledger.append(batch));
// `keyward gateway` reads users and tokens from its SQLite file, not from memory.
ledger.addUser('bench', { rpm: 1e7, budgetUsd: 1e6, period: 'day' });
const sqliteToken = issueToken(ledger, 'bench').token;
const sqliteAuth = new Authenticator(ledger);
time('auth (sqlite)', () => void sqliteAuth.authenticate({ authorization: `Bearer ${sqliteToken}` }));
ledger.close();
rmSync(tmp, { recursive: true, force: true });
