import { generateKeyPairSync } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGatewayConfig, validateGatewayConfig } from '../../src/gateway/config.js';
import { issueToken, type Alert } from '../../src/gateway/index.js';
import { redactBody } from '../../src/gateway/prompt-secrets.js';
import { parseRules, scanText, type CustomRules } from '../../src/secrets/index.js';
import { MemoryDirectory, MemoryLedger } from '../../src/store/memory.js';
import { startFakeUpstream, type FakeUpstream } from './helpers/fake-upstream.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey, randomChars } from './helpers/keys.js';

/** An AWS access key id as a developer might paste it, built at run time. */
const awsKeyId = () => 'AK' + 'IA' + randomChars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');

describe('secrets in what clients send to AI providers', () => {
  const keys = { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] };
  const pasted = awsKeyId();
  const pastedOpenAi = fakeOpenAiKey();
  let upstream: FakeUpstream;
  const gws: TestGateway[] = [];
  const seenByClient: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream({ openaiKeys: keys.openai, anthropicKeys: keys.anthropic, geminiKeys: keys.gemini, outputTokens: 2 });
  });
  afterAll(async () => {
    for (const g of gws) {
      await g.stop();
    }
    await upstream.close();
  });

  async function gatewayWith(promptSecrets: 'off' | 'block' | 'redact' | undefined, promptSecretRules?: CustomRules) {
    const dir = new MemoryDirectory();
    const ledger = new MemoryLedger();
    const alerts: Alert[] = [];
    const gw = await startGateway(upstream, keys, { directory: dir, ledger, alerts: { onAlert: (a) => alerts.push(a) }, ...(promptSecrets ? { promptSecrets } : {}), ...(promptSecretRules ? { promptSecretRules } : {}) });
    gws.push(gw);
    dir.addUser('pat', {});
    const token = issueToken(dir, 'pat').token;
    return { gw, ledger, alerts, token, oa: new OpenAI({ baseURL: `${gw.origin}/v1`, apiKey: token, maxRetries: 0 }) };
  }
  const prompt = (secret: string) => `why does this fail?\nAWS_ACCESS_KEY_ID=${secret}\nregion=eu-west-1`;

  it("with the project's own rules, refuses or redacts its kind of secret too, named from a config file beside the rules", async () => {
    const rulesJson = JSON.stringify({ schema: 'keyward.rules/1', rules: [{ id: 'acme-service-token', provider: 'Acme', title: 'Acme service token', severity: 'high', keywords: ['acme_svc_'], pattern: 'acme_svc_[A-Za-z0-9]{32}' }] });
    const internal = `acme_svc_${randomChars(32)}`;
    const ask = `the job fails with ref=${internal}, why?`;
    const blocking = await gatewayWith('block', parseRules(rulesJson, 'rules.json'));
    const before = upstream.seen.length;
    const err = await blocking.oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: ask }] }).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(400);
    expect(String((err as Error).message)).toMatch(/carries an Acme service token \(acme_svc_…/);
    expect(upstream.seen.length).toBe(before);
    const redacting = await gatewayWith('redact', parseRules(rulesJson, 'rules.json'));
    await redacting.oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: ask }] });
    expect(JSON.stringify(upstream.seen.at(-1)!.body)).not.toContain(internal);
    // Without the rules the built-in ones do not know it.
    const plain = await gatewayWith('block');
    await plain.oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: ask }] });
    expect(JSON.stringify(upstream.seen.at(-1)!.body)).toContain(internal);
    // A config file names the rules file by a path from its own folder.
    const dir = mkdtempSync(join(tmpdir(), 'kw-prompt-rules-'));
    try {
      writeFileSync(join(dir, 'rules.json'), rulesJson);
      writeFileSync(join(dir, 'keyward.config.json'), JSON.stringify({ promptSecrets: 'block', promptSecretRules: 'rules.json' }));
      expect(loadGatewayConfig(join(dir, 'keyward.config.json')).promptSecretRules?.rules.map((r) => r.id)).toEqual(['acme-service-token']);
      writeFileSync(join(dir, 'rules.json'), rulesJson.replace('"high"', '"urgent"'));
      expect(() => loadGatewayConfig(join(dir, 'keyward.config.json'))).toThrow(/rules\.json: rule 'acme-service-token': 'severity' must be one of/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('by default looks at nothing: the prompt goes upstream as sent', async () => {
    const { oa } = await gatewayWith(undefined);
    await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt(pasted) }] });
    expect(JSON.stringify(upstream.seen.at(-1)!.body)).toContain(pasted);
  });

  it('block: refuses before anything is forwarded or billed, names the kind and the redacted form, raises one alert an hour', async () => {
    const { gw, oa, ledger, alerts, token } = await gatewayWith('block');
    const before = upstream.seen.length;
    for (let i = 0; i < 2; i++) {
      const err = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt(pasted) }] }).catch((e: unknown) => e);
      expect((err as { status?: number }).status).toBe(400);
      const message = String((err as Error).message);
      seenByClient.push(message);
      expect(message).toMatch(/carries an AWS access key ID \(AK…[A-Z2-7]{2}\); the gateway does not send secrets to AI providers/);
      expect((err as { error?: { type?: string } }).error?.type).toBe('secret_in_prompt');
    }
    expect(upstream.seen.length).toBe(before);
    await new Promise((r) => setTimeout(r, 50));
    expect(ledger.rows({})).toHaveLength(0);
    expect(alerts.filter((a) => a.kind === 'secret_in_prompt')).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(/user 'pat' sent an AWS access key ID .* \(refused\); rotate it if it is real: https:\/\/console\.aws\.amazon\.com/);
    // The Anthropic and Gemini routes refuse in their own shapes.
    const an = new Anthropic({ baseURL: gw.origin, apiKey: token, maxRetries: 0 });
    const aerr = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: `use ${pastedOpenAi}` }] }).catch((e: unknown) => e);
    expect((aerr as { status?: number }).status).toBe(400);
    expect(String((aerr as Error).message)).toMatch(/OpenAI project API key \(sk-proj-…/);
    const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: gw.origin } });
    const gerr = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt(pasted) }).catch((e: unknown) => e);
    expect(gerr).toBeInstanceOf(ApiError);
    expect((gerr as ApiError).message).toMatch(/INVALID_ARGUMENT.*secret_in_prompt/);
    expect(upstream.seen.length).toBe(before);
    const logs = gw.logs.join('');
    expect(logs).toMatch(/"msg":"secret in a request to an AI provider"/);
    expect(logs).toMatch(/"rule":"aws-access-key-id"/);
    expect((await gw.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_prompt_secrets_total\{action="refused"\} 4$/m);
  });

  it('redact: sends the request with each secret replaced by its redacted form, on every route', async () => {
    const { oa, alerts, gw, token } = await gatewayWith('redact');
    const r = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${prompt(pasted)}\nOPENAI_API_KEY=${pastedOpenAi}` }] });
    expect(r.choices[0]!.message.content).toBe('toktok');
    const sent = (upstream.seen.at(-1)!.body!.messages as Array<{ content: string }>)[0]!.content;
    expect(sent).not.toContain(pasted);
    expect(sent).not.toContain(pastedOpenAi);
    expect(sent).toMatch(/^why does this fail\?\nAWS_ACCESS_KEY_ID=AK…[A-Z2-7]{2}\nregion=eu-west-1\nOPENAI_API_KEY=sk-proj-…[A-Za-z0-9]{4}$/);
    expect(alerts[0]!.message).toMatch(/an AWS access key ID \(AK…[A-Z2-7]{2}\) and 1 more secret .*sent with the secrets redacted/);
    // The app route, whose body the gateway rewrites for the provider, sends the redacted text too.
    const app = await fetch(`${gw.origin}/api/ai/chat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ message: prompt(pasted) }) });
    expect(app.status).toBe(200);
    expect(JSON.stringify(upstream.seen.at(-1)!.body)).not.toContain(pasted);
    expect(gw.logs.join('')).not.toContain(pasted);
    expect((await gw.gateway.metrics.scrape()).body).toMatch(/^keyward_gateway_prompt_secrets_total\{action="redacted"\} 2$/m);
  });

  it("redact: a keyward gateway token pasted into a prompt (the caller's own, here) never reaches the provider", async () => {
    const { oa, gw, token } = await gatewayWith('redact');
    await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my app config:\nKEYWARD_TOKEN=${token}` }] });
    const sent = (upstream.seen.at(-1)!.body!.messages as Array<{ content: string }>)[0]!.content;
    expect(sent).toBe(`my app config:\nKEYWARD_TOKEN=kw_…${token.slice(-4)}`);
    expect(gw.logs.join('')).not.toContain(token);
  });

  it('redacts only where the result is still the same JSON, and leaves a clean body alone', () => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: `key ${pasted} here` }] });
    const found = scanText(body);
    expect(found.map((m) => m.ruleId)).toEqual(['aws-access-key-id']);
    const clean = redactBody(body, found)!;
    expect(JSON.parse(clean).messages[0].content).toMatch(/^key AK…[A-Z2-7]{2} here$/);
    // A match that ended inside an escape would break the JSON: refused rather than sent broken.
    expect(redactBody('{"a":"x\\u0041"}', [{ ...found[0]!, index: 9, length: 4, redacted: 'zz' }])).toBeUndefined();
    expect(scanText(JSON.stringify({ messages: [{ role: 'user', content: 'AKIAIOSFODNN7EXAMPLE is the documented example' }] }))).toEqual([]);
    // A private key pasted into a chat arrives with its line breaks escaped: still found, still redacted into valid JSON.
    const pem = String(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const withPem = JSON.stringify({ messages: [{ role: 'user', content: `fix my config:\n${pem}` }] });
    const keyFound = scanText(withPem);
    expect(keyFound.map((m) => m.ruleId)).toEqual(['private-key']);
    const redacted = JSON.parse(redactBody(withPem, keyFound)!) as { messages: Array<{ content: string }> };
    expect(redacted.messages[0]!.content).toMatch(/^fix my config:\n/);
    expect(redacted.messages[0]!.content).not.toContain(pem.split('\n')[1]);
  });

  it("the config takes promptSecrets 'off', 'block' or 'redact' and nothing else", () => {
    expect(validateGatewayConfig({ promptSecrets: 'redact' }).promptSecrets).toBe('redact');
    expect(() => validateGatewayConfig({ promptSecrets: 'warn' })).toThrow(/'promptSecrets' must be one of off, block, redact/);
  });

  it('no pasted secret reaches a client or a log line', () => {
    const all = seenByClient.join('\n') + gws.flatMap((g) => g.logs).join('');
    for (const k of [pasted, pastedOpenAi]) expect(all).not.toContain(k);
  });
});
