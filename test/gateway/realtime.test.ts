import { GoogleGenAI, Modality, type ApiError } from '@google/genai';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken } from '../../src/gateway/index.js';
import { MemoryLedger } from '../../src/store/memory.js';
import type { TestGateway } from './helpers/gateway.js';
import { bearer, post, until } from './helpers/http.js';
import { gatewaySuite } from './helpers/suite.js';

describe('OpenAI Realtime client secrets minted for gateway users', () => {
  const s = gatewaySuite({ user: 'vic', gateway: { realtime: { usdPerSecret: 0.25, maxTtlSeconds: 120 } } });
  const { keys, dir, ledger, oa } = s;
  /** A gateway with no realtime policy. */
  let off: TestGateway;
  beforeAll(async () => {
    off = await s.another({ ledger: new MemoryLedger() });
  });

  it('mints a secret with the real key upstream, for no longer than the gateway allows, billed its flat price', async () => {
    const before = s.upstream.seen.length;
    const r = await oa().realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime' } });
    expect(r.value).toMatch(/^ek_/);
    expect(r.session).toMatchObject({ id: 'sess_fake', model: 'gpt-realtime' });
    const seen = s.upstream.seen.at(-1)!;
    expect(s.upstream.seen.length).toBe(before + 1);
    expect(seen).toMatchObject({ path: '/v1/realtime/client_secrets', keyIndex: 0 });
    // Asked for no lifetime (OpenAI would give ten minutes): given the gateway's longest.
    expect(seen.body).toMatchObject({ expires_after: { anchor: 'created_at', seconds: 120 } });
    expect(r.expires_at - Date.now() / 1000).toBeLessThanOrEqual(121);
    await until('the secret is in the ledger', () => ledger.rows({}).some((x) => x.route === 'realtime'));
    expect(ledger.rows({}).find((x) => x.route === 'realtime')).toMatchObject({ model: 'gpt-realtime', tokensIn: 0, tokensOut: 0, costUsd: 0.25, outcome: 'ok' });
    // A shorter life asked for is kept.
    await oa().realtime.clientSecrets.create({ expires_after: { anchor: 'created_at', seconds: 30 } });
    expect(s.upstream.seen.at(-1)!.body).toMatchObject({ expires_after: { seconds: 30 } });
    // The secret is the client's to use, never the gateway's log's.
    expect(s.gw.logs.join('')).not.toContain(r.value);
  });

  it('refuses a longer life, a model the user may not call, and a budget the flat price does not fit, with nothing minted', async () => {
    const before = s.upstream.seen.length;
    const long = await oa().realtime.clientSecrets.create({ expires_after: { anchor: 'created_at', seconds: 600 } }).catch((e: unknown) => e);
    expect(long).toMatchObject({ status: 400, error: { message: "a client secret may live 120 seconds at most on this gateway ('expires_after.seconds' asked for 600)" } });
    dir.addUser('textonly', { models: ['gpt-4o-mini'] });
    const model = await oa(issueToken(dir, 'textonly').token).realtime.clientSecrets.create({ session: { type: 'realtime', model: 'gpt-realtime' } }).catch((e: unknown) => e);
    expect(model).toMatchObject({ status: 403, error: { message: "model 'gpt-realtime' is not allowed for this user" } });
    const transcription = await oa(issueToken(dir, 'textonly').token).realtime.clientSecrets.create({ session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } }).catch((e: unknown) => e);
    expect(transcription).toMatchObject({ status: 403, error: { message: "model 'gpt-4o-transcribe' is not allowed for this user" } });
    dir.addUser('poor', { budgetUsd: 0.2, period: 'day' });
    const budget = await oa(issueToken(dir, 'poor').token).realtime.clientSecrets.create({}).catch((e: unknown) => e);
    expect(budget).toMatchObject({ status: 402 });
    const bad = await post(`${s.gw.origin}/v1/realtime/client_secrets`, { expires_after: { seconds: 5 } }, bearer(s.token));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ message: "'expires_after.seconds' must be a whole number of seconds from 10 to 7200" });
    expect(s.upstream.seen.length).toBe(before);
  });

  it('mints nothing unless the config allows it, and says how', async () => {
    const r = await oa(s.token, off.origin).realtime.clientSecrets.create({}).catch((e: unknown) => e);
    expect(r).toMatchObject({ status: 403, error: { type: 'realtime_disabled', message: expect.stringMatching(/"realtime": \{ "usdPerSecret": … \} in the config/) } });
  });

  it('an app-only token cannot mint one', async () => {
    const appOnly = issueToken(dir, 'vic', { scopes: ['app'] }).token;
    expect(await oa(appOnly).realtime.clientSecrets.create({}).catch((e: unknown) => e)).toMatchObject({ status: 403 });
  });

  it('the config takes realtime with a price and a lifetime OpenAI allows', () => {
    expect(validateGatewayConfig({ realtime: { usdPerSecret: 0.5, maxTtlSeconds: 300 } }).realtime).toEqual({ usdPerSecret: 0.5, maxTtlSeconds: 300 });
    expect(() => validateGatewayConfig({ realtime: { maxTtlSeconds: 60 } })).toThrow(/'realtime' must be an object with 'usdPerSecret'/);
    expect(() => validateGatewayConfig({ realtime: { usdPerSecret: 1, maxTtlSeconds: 9000 } })).toThrow(/a whole number of seconds from 10 to 7200/);
    expect(validateGatewayConfig({ realtime: { usdPerSecret: 0.5, sessionHoldUsd: 0.2 } }).realtime).toEqual({ usdPerSecret: 0.5, sessionHoldUsd: 0.2 });
    expect(() => validateGatewayConfig({ realtime: { usdPerSecret: 0.5, sessionHoldUsd: 0 } })).toThrow(/sessionHoldUsd.*a number > 0/);
    expect(validateGatewayConfig({ prices: { 'voice-x': { input: 1, output: 2, audioInput: 8, audioOutput: 16, cachedInput: 0.1, cachedAudioInput: 0.2 } } }).prices).toBeDefined();
    expect(() => validateGatewayConfig({ prices: { 'voice-x': { input: 1, output: 2, audioOutput: -1 } } })).toThrow(/prices/);
  });

  it('no provider key reaches a client or a log line', () => {
    for (const k of keys.openai) expect(s.gw.logs.join('') + off.logs.join('')).not.toContain(k);
  });
});

describe('Gemini Live ephemeral tokens minted for gateway users', () => {
  const s = gatewaySuite({ user: 'liv', gateway: { realtime: { usdPerSecret: 0.25, maxTtlSeconds: 120 } } });
  const { dir, ledger } = s;
  /** A gateway with no realtime policy. */
  let off: TestGateway;
  beforeAll(async () => {
    off = await s.another({ ledger: new MemoryLedger() });
  });

  // As Google documents it: the token is created with the v1alpha API.
  const ai = (t = s.token, origin = s.gw.origin) => new GoogleGenAI({ apiKey: t, httpOptions: { baseUrl: origin, apiVersion: 'v1alpha' } });
  const LIVE = 'gemini-live-2.5-flash-preview';

  it('mints a token with the real key upstream, locked to its model, its sessions to start soon, billed the flat price for each', async () => {
    const t = await ai().authTokens.create({ config: { uses: 2, liveConnectConstraints: { model: LIVE, config: { responseModalities: [Modality.AUDIO] } } } });
    expect(t.name).toMatch(/^auth_tokens\//);
    const seen = s.upstream.seen.at(-1)!;
    expect(seen).toMatchObject({ provider: 'gemini', path: '/v1alpha/auth_tokens', keyIndex: 0, body: { uses: 2, bidiGenerateContentSetup: { model: `models/${LIVE}` } } });
    // Asked for no start deadline (Google would give a minute): given the gateway's longest, 120 s.
    const start = Date.parse(String(seen.body!.newSessionExpireTime));
    expect(start - Date.now()).toBeGreaterThan(100_000);
    expect(start - Date.now()).toBeLessThanOrEqual(120_000);
    await until('the token is in the ledger', () => ledger.rows({}).some((x) => x.route === 'realtime'));
    expect(ledger.rows({}).find((x) => x.route === 'realtime')).toMatchObject({ provider: 'gemini', model: LIVE, costUsd: 0.5, outcome: 'ok' });
    expect(s.gw.logs.join('')).not.toContain(t.name!);
  });

  it('refuses a token for no model, one whose sessions may start later than allowed, a model the user may not call, and a gateway that mints none, with nothing minted', async () => {
    const before = s.upstream.seen.length;
    const refused = (p: Promise<unknown>) => p.then(() => ({ status: 0, message: 'minted' }), (e: unknown) => ({ status: (e as ApiError).status, message: (e as ApiError).message }));
    const noModel = await refused(ai().authTokens.create({ config: { uses: 1 } }));
    expect(noModel.status).toBe(400);
    expect(noModel.message).toMatch(/name the Live model the token is for \(liveConnectConstraints\.model in the SDK\)/);
    const late = await refused(ai().authTokens.create({ config: { newSessionExpireTime: new Date(Date.now() + 3_600_000).toISOString(), liveConnectConstraints: { model: LIVE } } }));
    expect(late.status).toBe(400);
    expect(late.message).toMatch(/a Live token's sessions must start within 120 seconds on this gateway/);
    const many = await refused(ai().authTokens.create({ config: { uses: 50, liveConnectConstraints: { model: LIVE } } }));
    expect(many.message).toMatch(/'uses' must be a whole number of sessions from 1 to 20/);
    dir.addUser('flashonly', { models: ['gemini-2.5-flash'] });
    const model = await refused(ai(issueToken(dir, 'flashonly').token).authTokens.create({ config: { liveConnectConstraints: { model: LIVE } } }));
    expect(model.status).toBe(403);
    const disabled = await refused(ai(s.token, off.origin).authTokens.create({ config: { liveConnectConstraints: { model: LIVE } } }));
    expect(disabled.status).toBe(403);
    expect(disabled.message).toMatch(/does not mint Gemini Live tokens/);
    expect(s.upstream.seen.length).toBe(before);
  });
});
