import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter, webhookSettings, type Alert } from '../../src/gateway/alerts.js';
import { issueToken } from '../../src/gateway/index.js';
import { createLogger } from '../../src/gateway/logger.js';
import { MemoryDirectory } from '../../src/store/memory.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startFakeUpstream } from './helpers/fake-upstream.js';
import { startGateway } from './helpers/gateway.js';
import { bearer, chat, post, until } from './helpers/http.js';
import { fakeAnthropicKey, fakeOpenAiKey, randomChars } from './helpers/keys.js';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that answers each POST with the next scripted status (then 200). */
async function receiver(): Promise<TestServer & { got: Received[]; answers: number[] }> {
  const got: Received[] = [];
  const answers: number[] = [];
  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  return Object.assign(server, { got, answers });
}

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', flushMs: 0, destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
  return { log, lines };
}

const alert: Alert = { kind: 'soft_budget', message: "user 'ada' has spent $4.01, past the soft budget of $4 for 2026-11", userId: 'u_1', user: 'ada' };
const SECRET = 'test-secret-' + randomChars(20);

describe('alert webhooks', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver();
  });
  afterAll(() => hook.close());

  it('POSTs the alert as JSON with a text Slack shows, signed with HMAC-SHA256 over the timestamp and the body', async () => {
    const { log } = capture();
    const a = new Alerter(log, { webhookUrl: `${hook.origin}/hook`, webhookSecret: SECRET });
    const before = hook.got.length;
    a.send(alert);
    await a.drain();
    expect(hook.got.length).toBe(before + 1);
    const { headers, body } = hook.got.at(-1)!;
    expect(JSON.parse(body)).toMatchObject({ source: 'keyward', kind: 'soft_budget', user: 'ada', userId: 'u_1', message: alert.message, text: `keyward: ${alert.message}`, at: expect.stringMatching(/^\d{4}-/) });
    const ts = Number(headers['x-keyward-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
    expect(headers['x-keyward-signature']).toBe(`v1=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
  });

  it('is not signed without a secret', async () => {
    const a = new Alerter(capture().log, { webhookUrl: `${hook.origin}/hook` });
    a.send(alert);
    await a.drain();
    expect(hook.got.at(-1)!.headers['x-keyward-signature']).toBeUndefined();
  });

  it('tries again after a 5xx or a 429, and not after another 4xx (a wrong URL), saying so in the log', async () => {
    const { log, lines } = capture();
    const a = new Alerter(log, { webhookUrl: `${hook.origin}/hook`, webhookRetryMs: [10, 10] });
    let before = hook.got.length;
    hook.answers.push(503, 429);
    a.send(alert);
    await a.drain();
    expect(hook.got.length).toBe(before + 3);
    expect(lines.join('')).not.toMatch(/alert webhook/);
    before = hook.got.length;
    hook.answers.push(404);
    a.send(alert);
    await a.drain();
    expect(hook.got.length).toBe(before + 1);
    expect(lines.join('')).toMatch(/alert webhook refused the alert \(404\); check the webhook URL/);
  });

  it('logs a webhook it cannot reach after its retries, without the URL (a credential), and never throws', async () => {
    const { log, lines } = capture();
    const path = `/services/${randomChars(24)}`;
    // Nothing listens on port 1 of the loopback address.
    const a = new Alerter(log, { webhookUrl: `http://127.0.0.1:1${path}`, webhookRetryMs: [5] });
    a.send(alert);
    await a.drain();
    const text = lines.join('');
    expect(text).toMatch(/"attempts":2.*alert webhook failed \(ECONNREFUSED\); the alert is only in this log/);
    expect(text).not.toContain(path);
  });

  it("delivers a gateway's alerts (a soft budget crossed) to the webhook", async () => {
    const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()] };
    const upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic });
    const dir = new MemoryDirectory();
    const gw = await startGateway(upstream, keys, { directory: dir, alerts: { webhookUrl: `${hook.origin}/gw`, webhookSecret: SECRET } });
    try {
      dir.addUser('spender', { softBudgetUsd: 0.000001 });
      const before = hook.got.length;
      expect((await post(`${gw.origin}/v1/chat/completions`, chat(), bearer(issueToken(dir, 'spender').token))).status).toBe(200);
      await until('the alert reached the webhook', () => hook.got.length > before);
      expect(JSON.parse(hook.got.at(-1)!.body)).toMatchObject({ kind: 'soft_budget', user: 'spender' });
    } finally {
      await gw.stop();
      await upstream.close();
    }
  });
});

describe('webhook settings for `keyward gateway`', () => {
  const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const slackHook = () => `https://hooks.slack.com/services/T${randomChars(10, UPPER)}/B${randomChars(10, UPPER)}/${randomChars(24)}`;

  it('reads the URL and the signing secret from the environment (or the .env), which wins over the config', () => {
    const url = slackHook();
    expect(webhookSettings({ webhookUrl: 'https://alerts.example/keyward' }, { KEYWARD_ALERT_WEBHOOK_URL: url, KEYWARD_ALERT_SECRET: SECRET })).toEqual({ webhookUrl: url, webhookSecret: SECRET });
    expect(webhookSettings({ webhookUrl: 'https://alerts.example/keyward' }, {})).toEqual({ webhookUrl: 'https://alerts.example/keyward', webhookSecret: undefined });
  });

  it('refuses a webhook URL that carries a credential in the config, which is meant to be committed', () => {
    expect(() => webhookSettings({ webhookUrl: slackHook() }, {})).toThrow(/alerts\.webhookUrl holds a credential/);
  });

  it('refuses a URL it cannot use and a short secret, without repeating the value', () => {
    const bad = `not a url ${randomChars(12)}`;
    let message = '';
    try {
      webhookSettings(undefined, { KEYWARD_ALERT_WEBHOOK_URL: bad });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('KEYWARD_ALERT_WEBHOOK_URL is not an http(s) URL');
    expect(() => webhookSettings(undefined, { KEYWARD_ALERT_SECRET: 'short' })).toThrow(/KEYWARD_ALERT_SECRET is too short \(5 characters; at least 16\)/);
  });
});
