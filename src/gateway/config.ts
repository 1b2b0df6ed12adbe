/**
 * The gateway's JSON config file (`--config keyward.config.json`): policy only, never keys (those come
 * from the environment). Every field is checked, and a bad one is named with what to write instead.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KeywardError } from '../errors.js';
import { loadRules } from '../secrets/custom-rules.js';
import { teamNameError } from '../store/records.js';
import { networkError } from './networks.js';
import { COMPATIBLE_AUTH, providerNameError } from './providers/compatible.js';
import { PROVIDER_NAMES } from './providers/registry.js';
import type { GatewayOptions } from './server.js';

export type GatewayConfigFile = Pick<
  GatewayOptions,
  | 'models'
  | 'chat'
  | 'defaultMaxTokens'
  | 'prices'
  | 'fallbackPrice'
  | 'ipLimits'
  | 'trustProxy'
  | 'globalBudget'
  | 'limitsOnStoreFailure'
  | 'corsOrigins'
  | 'maxBodyBytes'
  | 'maxUploadBytes'
  | 'maxFileBytes'
  | 'maxBufferedBytes'
  | 'resilience'
  | 'breaker'
  | 'jwt'
  | 'anomaly'
  | 'providers'
  | 'promptSecrets'
  | 'promptSecretRules'
  | 'sharedObjects'
  | 'fallbacks'
  | 'aliases'
  | 'cache'
  | 'realtime'
  | 'teams'
  | 'background'
  | 'endUserIds'
> & { alerts?: { webhookUrl?: string } };

type Check = (v: unknown) => string | undefined;
const posInt: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? undefined : 'a positive integer');
const posNum: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a number ≥ 0');
const str: Check = (v) => (typeof v === 'string' && v !== '' ? undefined : 'a non-empty string');
const strList: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'an array of strings');
const networks: Check = (v) => {
  const e = strList(v);
  if (e) return e;
  const bad = (v as string[]).find((x) => networkError(x) !== undefined);
  return bad === undefined ? undefined : `a list of IP addresses and CIDR ranges ('${bad.slice(0, 60)}' is neither)`;
};
/** True for an absolute http: or https: URL. */
export function isHttpUrl(v: unknown): v is string {
  return typeof v === 'string' && URL.canParse(v) && /^https?:$/.test(new URL(v).protocol);
}
const url: Check = (v) => (isHttpUrl(v) ? undefined : 'an http(s) URL');
const oneOf =
  (...xs: string[]): Check =>
  (v) =>
    typeof v === 'string' && xs.includes(v) ? undefined : `one of ${xs.join(', ')}`;
const obj =
  (fields: Record<string, Check>, required: string[] = []): Check =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'an object';
    for (const r of required) if (!(r in v)) return `an object with '${r}'`;
    for (const [k, x] of Object.entries(v)) {
      const c = fields[k];
      if (!c) return `an object without '${k}' (known: ${Object.keys(fields).join(', ')})`;
      const e = c(x);
      if (e) return `an object whose '${k}' is ${e}`;
    }
    return undefined;
  };
const modelList: Check = (v) => (strList(v) === undefined && (v as string[]).length > 0 && (v as string[]).every((m) => m !== '' && m !== '*') ? undefined : "a non-empty list of model ids (a prefix may end in '*', as in 'qwen/*')");
const compatible = obj({ baseUrl: url, models: modelList, auth: oneOf(...COMPATIBLE_AUTH) }, ['baseUrl', 'models']);
/** A map of names (each checked by `nameError`) to values (each checked by `value`); `what` says what the map is. */
const namedMap =
  (noun: string, what: string, nameError: (name: string) => string | undefined, value: Check): Check =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return what;
    for (const [name, x] of Object.entries(v)) {
      const bad = nameError(name);
      if (bad) return `a map of ${noun} names, and ${bad}`;
      const e = value(x);
      if (e) return `a map whose '${name}' is ${e}`;
    }
    return undefined;
  };
const providers = namedMap('provider', 'a map of provider name to { baseUrl, models }', providerNameError, compatible);
const longContext = obj({ above: posInt, input: posNum, output: posNum, cachedInput: posNum }, ['above', 'input', 'output']);
const price = obj({ input: posNum, output: posNum, imageInput: posNum, imageOutput: posNum, cachedInput: posNum, cacheWrite: posNum, cacheWrite1h: posNum, webSearch: posNum, webSearchPreview: posNum, searchQuery: posNum, fileSearch: posNum, audioInput: posNum, cachedAudioInput: posNum, audioOutput: posNum, priority: posNum, flex: posNum, fast: posNum, batch: posNum, longContext, cacheStorage: posNum }, ['input', 'output']);

const teamPolicy = obj({ rpm: posInt, tpm: posInt, budgetUsd: posNum, softBudgetUsd: posNum, period: oneOf('day', 'month'), models: strList });
const teamName: Check = (v) => (typeof v === 'string' ? teamNameError(v) : 'a team name');
const teams = namedMap('team', 'a map of team name to { rpm, tpm, budgetUsd, softBudgetUsd, period, models }, as in { "research": { "budgetUsd": 500 } }', teamNameError, teamPolicy);

const FIELDS: Record<string, Check> = {
  models: strList,
  chat: obj({ provider: str, model: str, maxTokens: posInt, system: str }, ['provider', 'model']),
  defaultMaxTokens: posInt,
  prices: (v) => {
    const shape = 'a map of model to { input, output, imageInput?, imageOutput?, cachedInput?, cacheWrite?, cacheWrite1h?, webSearch?, webSearchPreview?, searchQuery?, fileSearch?, audioInput?, cachedAudioInput?, audioOutput?, priority?, flex?, fast?, batch?, longContext?: { above, input, output, cachedInput? }, cacheStorage? } (USD per million tokens, cacheStorage per million tokens an hour; searches per thousand)';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return shape;
    for (const [model, p] of Object.entries(v)) {
      const e = price(p);
      if (e) return `${shape}, and '${model}' is ${e}`;
    }
    return undefined;
  },
  fallbackPrice: price,
  ipLimits: obj({ rpm: posInt, rpd: posInt }),
  trustProxy: (v) => (posInt(v) === undefined || strList(v) === undefined ? undefined : 'a number of proxy hops or a list of proxy addresses'),
  globalBudget: obj({ usd: posNum, period: oneOf('day', 'month') }, ['usd', 'period']),
  limitsOnStoreFailure: oneOf('open', 'closed'),
  corsOrigins: strList,
  maxBodyBytes: posInt,
  maxUploadBytes: posInt,
  maxFileBytes: posInt,
  maxBufferedBytes: posInt,
  resilience: obj({ timeoutMs: posInt, idleTimeoutMs: posInt, retries: (v) => (v === 0 ? undefined : posInt(v)), backoffBaseMs: posInt, backoffMaxMs: posInt }),
  breaker: obj({ threshold: posInt, cooldownMs: posInt }),
  jwt: obj({ jwksUrl: url, issuer: str, audience: str, userClaim: str, createUsers: obj({ rpm: posInt, rpd: posInt, tpm: posInt, parallel: posInt, budgetUsd: posNum, softBudgetUsd: posNum, period: oneOf('day', 'month'), models: strList, allowIps: networks, team: teamName }) }, ['jwksUrl']),
  anomaly: obj({ maxRequestsPerMinute: posInt, maxRefusalsPerMinute: posInt, maxUsdPerHour: posNum, maxAddressesPerHour: posInt }),
  alerts: obj({ webhookUrl: url }),
  providers,
  promptSecrets: oneOf('off', 'block', 'redact'),
  // The path of a rules file (relative to the config file), read into the rules themselves below.
  promptSecretRules: str,
  sharedObjects: strList,
  endUserIds: (v) => (typeof v === 'boolean' ? undefined : 'true or false'),
  background: obj({
    pollMs: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1000 ? undefined : 'a whole number of milliseconds, 1000 or more'),
    maxMs: posInt,
    onShutdown: oneOf('handover', 'cancel'),
  }),
  fallbacks: (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'a map of model to the models to fall back to, in order';
    for (const [m, chain] of Object.entries(v)) {
      if (!Array.isArray(chain) || chain.length === 0 || !chain.every((x) => typeof x === 'string' && x !== '' && x !== m)) return `a map whose '${m.slice(0, 60)}' is a non-empty list of other model ids`;
    }
    return undefined;
  },
  cache: obj({ ttlSeconds: posInt, maxMegabytes: posInt, shared: (v) => (typeof v === 'boolean' ? undefined : 'true or false') }, ['ttlSeconds']),
  teams,
  realtime: obj({ usdPerSecret: posNum, sessionHoldUsd: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a number > 0 (USD)'), maxTtlSeconds: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 10 && v <= 7200 ? undefined : 'a whole number of seconds from 10 to 7200') }, ['usdPerSecret']),
  aliases: (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'a map of alias to the model it stands for, as in { "fast": "gpt-4o-mini" }';
    const map = v as Record<string, unknown>;
    for (const [name, target] of Object.entries(map)) {
      if (name === '' || name.length > 200) return 'a map whose aliases are 1 to 200 characters long';
      if (typeof target !== 'string' || target === '' || target === name) return `a map whose '${name.slice(0, 60)}' is another model's id`;
      if (Object.hasOwn(map, target)) return `a map whose '${name.slice(0, 60)}' names a model, not another alias ('${target.slice(0, 60)}')`;
    }
    return undefined;
  },
};

/** `baseDir`: where a relative `promptSecretRules` path starts (the config file's folder). */
export function validateGatewayConfig(value: unknown, source = 'config', baseDir = process.cwd()): GatewayConfigFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeywardError('KW_BAD_CONFIG', `${source}: the config must be a JSON object`, { hint: 'see docs/gateway.md for the fields' });
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === '$schema' || k === 'comment') continue;
    const check = FIELDS[k];
    if (!check) throw new KeywardError('KW_BAD_CONFIG', `${source}: unknown field '${k}'`, { hint: `known fields: ${Object.keys(FIELDS).join(', ')}` });
    const e = check(v);
    if (e) throw new KeywardError('KW_BAD_CONFIG', `${source}: '${k}' must be ${e}`, { hint: 'see docs/gateway.md for the fields' });
  }
  const config = value as GatewayConfigFile;
  const rulesPath = (value as { promptSecretRules?: unknown }).promptSecretRules;
  if (typeof rulesPath === 'string') config.promptSecretRules = loadRules(resolve(baseDir, rulesPath));
  const chatProvider = config.chat?.provider;
  if (chatProvider !== undefined && !(PROVIDER_NAMES as readonly string[]).includes(chatProvider) && !(config.providers && chatProvider in config.providers)) {
    throw new KeywardError('KW_BAD_CONFIG', `${source}: 'chat' names provider '${chatProvider.slice(0, 40)}', which is neither built in (${PROVIDER_NAMES.join(', ')}) nor one of "providers"`, {
      hint: 'name a built-in provider, or add this one to "providers"',
    });
  }
  return config;
}

export function loadGatewayConfig(path: string): GatewayConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeywardError('KW_FILE', `cannot read the gateway config '${path}': ${(err as Error).message}`, { hint: 'check the --config path', cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeywardError('KW_BAD_CONFIG', `the gateway config '${path}' is not valid JSON: ${(err as Error).message}`, { hint: 'fix the JSON syntax' });
  }
  return validateGatewayConfig(json, path, dirname(resolve(path)));
}
