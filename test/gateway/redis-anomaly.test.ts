import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/gateway/alerts.js';
import { issueToken } from '../../src/gateway/index.js';
import { RedisCounters } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { requireProgram } from '../helpers/programs.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey } from './helpers/keys.js';

const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };

describe.skipIf(!requireProgram('redis-server', 'redis-server'))('the anomaly guard on two instances sharing one redis-server', () => {
  let redis: TestRedis;
  let upstream: FakeUpstream;
  let dir: string;
  const stores: SqliteStore[] = [];
  const counters: RedisCounters[] = [];
  const gws: TestGateway[] = [];
  const alerts: Alert[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    dir = mkdtempSync(join(tmpdir(), 'kw-anomaly-redis-'));
    for (let i = 0; i < 2; i++) {
      const store = new SqliteStore(join(dir, 'keyward.db'));
      const c = await RedisCounters.connect(redis.url, { commandTimeoutMs: 2000 });
      stores.push(store);
      counters.push(c);
      gws.push(await startGateway(upstream, keys, { directory: store, counters: c, trustProxy: 1, anomaly: { maxRequestsPerMinute: 5, maxAddressesPerHour: 3 }, alerts: { onAlert: (a) => alerts.push(a) } }));
    }
  });
  afterAll(async () => {
    for (const g of gws) await g.stop();
    for (const c of counters) await c.close();
    for (const s of stores) s.close();
    await upstream.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const user = (name: string) => {
    stores[0]!.addUser(name, {});
    return issueToken(stores[0]!, name).token;
  };
  const from = (i: number, token: string, ip = '10.0.0.1') => post(`${gws[i % 2]!.origin}/v1/chat/completions`, chat(), { ...bearer(token), 'x-forwarded-for': ip });

  it('counts the requests of every instance together: six a minute on two instances trip a limit of five', async () => {
    const t = user('busy');
    // Three on each instance: under the limit on either alone.
    for (let i = 0; i < 6; i++) expect((await from(i, t)).status).toBe(200);
    await until('the user is disabled', () => stores[1]!.getUser('busy')?.disabled === true);
    expect(stores[1]!.getUser('busy')).toMatchObject({ disabledReason: 'anomaly: more than 5 requests per minute' });
    expect((await from(0, t)).status).toBe(403);
    expect((await from(1, t)).status).toBe(403);
    // One instance acted; the other found it done: one alert.
    expect(alerts.filter((a) => a.kind === 'anomaly_disabled' && a.user === 'busy')).toHaveLength(1);
  });

  it("counts a user's addresses across instances, each address once", async () => {
    const t = user('leaky');
    // Five requests (the most a minute): the same address on both instances counts once.
    expect((await from(0, t, '10.0.0.1')).status).toBe(200);
    expect((await from(1, t, '10.0.0.1')).status).toBe(200);
    expect((await from(0, t, '10.0.0.2')).status).toBe(200);
    expect((await from(1, t, '198.51.100.7')).status).toBe(200);
    expect(stores[0]!.getUser('leaky')?.disabled).toBe(false);
    // A fourth address, on instance A: past three within the hour.
    expect((await from(0, t, '203.0.113.9')).status).toBe(200);
    await until('the user is disabled', () => stores[0]!.getUser('leaky')?.disabled === true);
    expect(stores[0]!.getUser('leaky')?.disabledReason).toMatch(/^anomaly: called from more than 3 addresses within an hour/);
  });
});
