/**
 * `keyward gateway`: runs the backend proxy. Provider keys come from the environment or a mode-600
 * `.env`; users and tokens from the SQLite store the management commands write; limits and budgets
 * in memory. With `--redis`, users, tokens, limits and budgets are shared through Redis by every
 * instance on every machine (the SQLite file keeps the usage ledger).
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { KeywardError } from '../errors.js';
import { webhookSettings } from '../gateway/alerts.js';
import { loadGatewayConfig, type GatewayConfigFile } from '../gateway/config.js';
import { keyCount, readEnvFile, upstreamFromEnv, upstreamsFromEnv, type UpstreamConfig } from '../gateway/env.js';
import type { KeyChange } from '../gateway/keys.js';
import { createLogger, type Logger } from '../gateway/logger.js';
import { engineWith } from '../secrets/index.js';
import { metricsEndpoint, MIN_METRICS_TOKEN } from '../gateway/metrics-endpoint.js';
import { keepSharedBudgets } from '../gateway/shared-budgets.js';
import { compatibleProvider, envPrefixOf } from '../gateway/providers/compatible.js';
import { egressDispatcher } from '../gateway/egress.js';
import { checkProviderKeys } from '../gateway/key-check.js';
import { PROVIDER_NAMES, PROVIDERS } from '../gateway/providers/registry.js';
import type { Provider } from '../gateway/providers/types.js';
import { createGateway, RELOADABLE, type GatewayHandler, type ReloadablePolicy } from '../gateway/server.js';
import { RedisCounters } from '../store/redis.js';
import { safeUrl } from '../store/redis-connect.js';
import { RedisDirectory } from '../store/redis-directory.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Counters, Directory } from '../store/types.js';
import { dbOption, MOVED_TO_REDIS, port, runProgram } from './users.js';

interface Flags {
  port: number;
  host: string;
  db: string;
  config?: string;
  redis?: string;
  envFile: string;
  logLevel: string;
  limitsOnStoreFailure?: 'open' | 'closed';
  metricsPort?: number;
  metricsHost: string;
  checkKeys?: boolean;
}

/** `--check-keys`: one line per provider key, by label; status 1 when a provider refuses one or cannot be asked. */
async function checkKeys(providers: Providers, config: GatewayConfigFile): Promise<number> {
  const list = [
    ...PROVIDER_NAMES.map((n) => ({ provider: PROVIDERS[n] as Provider<string>, config: providers.upstreams[n]! })),
    ...Object.entries(config.providers ?? {}).map(([name, c]) => ({ provider: compatibleProvider(name, c), config: providers.upstreams[name]! })),
  ].filter((u) => u.config.keys.length > 0);
  const dispatcher = egressDispatcher(providers.env, { connect: { timeout: 10_000 } });
  try {
    const checks = await checkProviderKeys(list, dispatcher);
    const width = Math.max(...checks.map((c) => c.key.length));
    for (const c of checks) process.stdout.write(`${c.key.padEnd(width)}  ${c.verdict.padEnd(12)}  ${c.detail}\n`);
    const bad = checks.filter((c) => c.verdict === 'rejected' || c.verdict === 'failed').length;
    process.stderr.write(bad === 0 ? `keyward gateway: all ${checks.length} provider keys are accepted\n` : `keyward gateway: ${bad} of ${checks.length} provider keys cannot be used; take them out of the .env (then kill -HUP the gateway) or fix the base URL\n`);
    return bad === 0 ? 0 : 1;
  } finally {
    await dispatcher.close();
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** A host as a URL writes it: an IPv6 address in brackets. */
const hostForUrl = (host: string) => (host.includes(':') ? `[${host}]` : host);

function listenOn(server: Server, host: string, wanted: number, portFlag: string, hostFlag: string): Promise<number> {
  return new Promise<number>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new KeywardError('KW_USAGE', `cannot listen on ${host}:${wanted}: ${err.code ?? err.message}`, { hint: err.code === 'EADDRINUSE' ? `choose another ${portFlag}` : `check ${hostFlag} and ${portFlag}` })),
    );
    server.listen(wanted, host, () => {
      const addr = server.address();
      ok(typeof addr === 'object' && addr ? addr.port : wanted);
    });
  });
}

/**
 * The metrics show spend by model and the state of every provider key: off loopback they need a
 * token, checked before anything starts.
 */
function metricsTokenFrom(env: Record<string, string | undefined>, o: Flags): string | undefined {
  const token = env.KEYWARD_METRICS_TOKEN?.trim() || undefined;
  if (o.metricsPort === undefined) return undefined;
  if (token !== undefined && token.length < MIN_METRICS_TOKEN) {
    throw new KeywardError('KW_BAD_CONFIG', `KEYWARD_METRICS_TOKEN is too short (${token.length} characters; at least ${MIN_METRICS_TOKEN})`, { hint: 'generate one with: openssl rand -hex 24' });
  }
  if (token === undefined && !isLoopback(o.metricsHost)) {
    throw new KeywardError('KW_BAD_CONFIG', `--metrics-host ${o.metricsHost} is reachable from other machines, and the metrics show spend by model and the state of every provider key`, {
      hint: 'set KEYWARD_METRICS_TOKEN (in the environment or the .env file) and give Prometheus the same token as its bearer credentials, or keep --metrics-host 127.0.0.1',
    });
  }
  return token;
}

interface Providers {
  /** The .env file's settings under the environment's. */
  env: Record<string, string | undefined>;
  /** The built-in providers', then the config's OpenAI-compatible providers'. */
  upstreams: Record<string, UpstreamConfig>;
}

/** Where the gateway's provider keys and base URLs come from, at start and on each reload. */
function readProviders(o: Flags, config: GatewayConfigFile): Providers {
  const env: Record<string, string | undefined> = { ...readEnvFile(resolve(o.envFile), { required: o.envFile !== '.env' }), ...process.env };
  const upstreams: Record<string, UpstreamConfig> = upstreamsFromEnv(env);
  for (const [name, c] of Object.entries(config.providers ?? {})) upstreams[name] = upstreamFromEnv(compatibleProvider(name, c), env);
  return { env, upstreams };
}

/**
 * Reads the .env again and gives each provider the keys it now lists. Anything wrong with the file
 * (mode, syntax, no keys left) keeps the keys the gateway has: a bad edit must not stop the traffic.
 */
function reloadKeys(o: Flags, config: GatewayConfigFile, current: Providers, gateway: GatewayHandler, log: Logger): void {
  let next: Providers;
  try {
    next = readProviders(o, config);
  } catch (err) {
    log.error({ err }, 'reloading the provider keys failed; the gateway keeps the keys it has');
    process.stderr.write(`keyward gateway: reloading the provider keys failed, keeping the current ones: ${(err as Error).message}\n`);
    return;
  }
  if (keyCount(next.upstreams) === 0) {
    log.error({ envFile: o.envFile }, 'the env file now lists no provider keys; the gateway keeps the keys it has');
    process.stderr.write(`keyward gateway: ${o.envFile} now lists no provider keys; keeping the current ones\n`);
    return;
  }
  const names = Object.keys(next.upstreams);
  const change = gateway.setProviderKeys(Object.fromEntries(names.map((n) => [n, next.upstreams[n]!.keys])));
  for (const n of names) {
    if (next.upstreams[n]!.baseUrl !== current.upstreams[n]?.baseUrl) log.warn({ provider: n }, `${envPrefixOf(n)}_BASE_URL changed in the env file; a base URL takes effect when the gateway restarts`);
  }
  log.info(change, 'provider keys reloaded');
  const say = (c: KeyChange | undefined) => (c === undefined ? 'unchanged' : `${c.added.length} added, ${c.removed.length} removed, ${c.kept} kept`);
  process.stderr.write(`keyward gateway: provider keys reloaded (${names.map((n) => `${n}: ${say(change[n])}`).join('; ')})\n`);
}

/**
 * Reads the config again on SIGHUP: the gateway takes its reloadable fields (models, prices, aliases,
 * fallbacks, limits per address, CORS, …) for the requests that follow; the others take effect on
 * restart, and the output says which changed. A config that cannot be read changes nothing (and
 * undefined is returned in place of the config read).
 */
function reloadPolicy(file: string, started: GatewayConfigFile, gateway: GatewayHandler, log: Logger): GatewayConfigFile | undefined {
  let next: GatewayConfigFile;
  try {
    next = loadGatewayConfig(file);
    gateway.setPolicy(Object.fromEntries(RELOADABLE.map((k) => [k, next[k]])) as ReloadablePolicy);
  } catch (err) {
    log.error({ err }, 'reloading the config failed; the gateway keeps its policy');
    process.stderr.write(`keyward gateway: reloading ${file} failed, keeping the current policy: ${(err as Error).message}\n`);
    return undefined;
  }
  const reloadable: readonly string[] = RELOADABLE;
  const fields = new Set([...Object.keys(started), ...Object.keys(next)].filter((k) => k !== '$schema' && k !== 'comment'));
  const later = [...fields].filter((k) => !reloadable.includes(k) && JSON.stringify(started[k as keyof GatewayConfigFile]) !== JSON.stringify(next[k as keyof GatewayConfigFile]));
  log.info({ restartNeeded: later }, 'config reloaded');
  process.stderr.write(`keyward gateway: policy reloaded from ${file}${later.length > 0 ? `; ${later.join(', ')} changed too, which takes effect when the gateway restarts` : ''}\n`);
  return next;
}

export async function serve(o: Flags): Promise<number> {
  const config: GatewayConfigFile = o.config ? loadGatewayConfig(o.config) : {};
  const providers = readProviders(o, config);
  const { env, upstreams } = providers;
  for (const name of Object.keys(config.providers ?? {})) {
    if (upstreams[name]!.keys.length === 0) {
      throw new KeywardError('KW_BAD_CONFIG', `the config names provider '${name}', but no ${envPrefixOf(name)}_API_KEY is set`, { hint: `put ${envPrefixOf(name)}_API_KEY=… in ${o.envFile} (chmod 600) or the environment, or take '${name}' out of "providers"` });
    }
  }
  if (keyCount(upstreams) === 0) {
    throw new KeywardError('KW_BAD_CONFIG', 'no provider keys: the gateway has nothing to forward with', {
      hint: `put OPENAI_API_KEY=…, ANTHROPIC_API_KEY=… and/or GEMINI_API_KEY=… in ${o.envFile} (chmod 600) or the environment`,
    });
  }
  if (o.checkKeys) return checkKeys(providers, config);
  const metricsToken = metricsTokenFrom(env, o);
  const webhook = webhookSettings(config.alerts, env);
  const log = createLogger({ level: o.logLevel, ...(config.promptSecretRules ? { engine: engineWith(config.promptSecretRules) } : {}) });
  if (config.cache?.shared && !o.redis) {
    throw new KeywardError('KW_BAD_CONFIG', '"cache": { "shared": true } keeps answers in the gateways\' Redis, and this gateway has none', { hint: 'start it with --redis redis://host:port, or take "shared" out of "cache"' });
  }
  const store = new SqliteStore(o.db);
  /** The teams as the config says now (a reload may change their periods, which the shared budgets follow). */
  let teamsNow = config.teams;
  // What the gateway changes itself (a user disabled by the anomaly guard, one made from a JWT) is recorded as this machine's gateway.
  store.actor = `gateway@${hostname()}`;
  /** Redis's; without --redis the gateway keeps its own in memory. */
  let counters: Counters | undefined;
  let directory: Directory = store;
  if (o.redis) {
    // Users and tokens live in Redis too, so a change made on any machine reaches every instance.
    const shared = await RedisDirectory.connect(o.redis, { onError: (err) => log.warn({ err }, 'user/token directory in Redis') });
    shared.actor = store.actor;
    const imported = await shared.importFrom(store);
    store.setMeta(MOVED_TO_REDIS, safeUrl(o.redis));
    if (imported.users + imported.tokens > 0) log.info(imported, `copied users and tokens from ${o.db} to Redis`);
    if (imported.skipped.length > 0) log.warn({ users: imported.skipped }, 'users in the SQLite file whose names Redis already gives to another user were not copied');
    const rc = await RedisCounters.connect(o.redis);
    rc.watchDirectory(shared);
    // Redis keeps the running budget totals, this file the rows: put this file's spend in (once per Redis epoch).
    await keepSharedBudgets({ counters: rc, ledger: store, users: () => shared.listUsers(), global: config.globalBudget, teams: () => new Map(Object.entries(teamsNow ?? {})), log });
    counters = rc;
    directory = shared;
  } else {
    const moved = store.meta(MOVED_TO_REDIS);
    if (moved !== undefined) process.stderr.write(`keyward: note: the users and tokens of ${o.db} were moved to Redis (${moved}); without --redis this gateway reads the file's older copy\n`);
    // The gateway's own memory counters start each budget from this file's spend for its period when first used (also a budget given later).
  }
  const { alerts: _alerts, ...policy } = config;
  const gateway = createGateway({
    ...policy,
    directory,
    counters,
    ledger: store,
    env,
    // The keys and base URLs just read and checked, rather than the gateway reading the env again.
    upstreams,
    logger: log,
    alerts: webhook,
    limitsOnStoreFailure: o.limitsOnStoreFailure ?? policy.limitsOnStoreFailure,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, gateway);
  // Realtime sessions relayed over WebSocket (GET /v1/realtime).
  server.on('upgrade', gateway.upgrade);
  const port = await listenOn(server, o.host, o.port, '--port', '--host');
  let metricsServer: Server | undefined;
  let metricsNote = '';
  if (o.metricsPort !== undefined) {
    metricsServer = createServer(metricsEndpoint(gateway.metrics.withProcessMetrics(), { token: metricsToken, logger: log }));
    const mport = await listenOn(metricsServer, o.metricsHost, o.metricsPort, '--metrics-port', '--metrics-host').catch((err: unknown) => {
      server.close();
      throw err;
    });
    metricsNote = `; metrics on http://${hostForUrl(o.metricsHost)}:${mport}/metrics${metricsToken ? ' (token required)' : ''}`;
  }
  const host = hostForUrl(o.host);
  process.stderr.write(
    `keyward gateway listening on http://${host}:${port}  (${Object.entries(upstreams).map(([n, u]) => `${n}: ${u.keys.length} key${u.keys.length === 1 ? '' : 's'}`).join(', ')}; store ${o.db}; ${o.redis ? `users, tokens and limits in Redis ${safeUrl(o.redis)}` : 'limits in memory'}${metricsNote})\n`,
  );
  if (!isLoopback(o.host)) process.stderr.write(`keyward: note: listening on ${o.host}, reachable from other machines; put TLS in front of it\n`);

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      server.close();
      server.closeIdleConnections();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      // Give in-flight requests a moment to finish, then cut the rest.
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      force.unref();
      await new Promise<void>((r) => server.once('close', () => r()));
      await gateway.close();
      await counters?.close();
      if (directory !== store) directory.close();
      store.close();
      log.flush();
      process.stderr.write('keyward gateway stopped; usage ledger written\n');
      done(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    // Key rotation and policy changes without a restart: edit the .env or the config, then `kill -HUP <pid>`.
    process.on('SIGHUP', () => {
      if (stopping) return;
      reloadKeys(o, config, providers, gateway, log);
      if (o.config) {
        const next = reloadPolicy(o.config, config, gateway, log);
        if (next) teamsNow = next.teams;
      }
    });
  });
}

export async function run(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command('keyward gateway')
    .description('run the backend proxy that keeps provider keys server-side')
    .option('--port <n>', 'port to listen on', port, 8787)
    .option('--host <addr>', 'address to listen on (loopback by default)', '127.0.0.1')
    .addOption(dbOption())
    .option('--config <file>', 'gateway policy (JSON): models, chat route, CORS, IP limits, global budget, timeouts…')
    .addOption(new Option('--redis <url>', 'share users, tokens, limits and budgets across instances through Redis (redis://host:port)').env('KEYWARD_REDIS'))
    .option('--env-file <path>', 'where provider keys are read from (must be mode 600)', '.env')
    .addOption(new Option('--limits-on-store-failure <mode>', 'when Redis is unreachable: refuse (closed) or skip rate limits (open); budgets always refuse').choices(['open', 'closed']))
    .option('--metrics-port <n>', 'serve Prometheus metrics at /metrics on this port (off by default)', port)
    .option('--metrics-host <addr>', 'address for the metrics port (loopback by default; elsewhere KEYWARD_METRICS_TOKEN is required)', '127.0.0.1')
    .option('--check-keys', "ask each provider, with each of its keys, for its model list (a call nobody bills), print which keys it accepts, and exit (1 when one cannot be used)")
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .action(async (o: Flags) => {
      status = await serve(o);
    });
  const r = await runProgram(program, argv);
  return r !== 0 ? r : status;
}
