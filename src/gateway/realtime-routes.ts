/**
 * The gateway's voice sessions: OpenAI Realtime and Gemini Live sessions relayed over WebSocket (the
 * HTTP server's `upgrade` events), and OpenAI Realtime calls over WebRTC (`POST /v1/realtime/calls`,
 * and the client's hang-up), each judged as any call is, then billed response by response while it
 * runs. Apart from server.ts because, unlike a request, a session outlives its handshake: this module
 * keeps what is open (for the metrics, and to end it all on shutdown), and takes what it needs of the
 * gateway in `RealtimeGateway`, built once by `createGateway`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { type RawData, type WebSocketServer } from 'ws';
import type { SharedValues, UserRecord } from '../store/types.js';
import type { Caller } from './auth.js';
import { CallRegistry } from './call-registry.js';
import { Cancel } from './cancel.js';
import type { Admission, Flight } from './flight.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import type { PoolKey } from './keys.js';
import { gemini, geminiModelId } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import { isObject, type ProviderName } from './providers/types.js';
import type { RealtimePolicy } from './realtime.js';
import { CallWatch, callForm, callIdOf, callOffer, CALLS_PATH, HANGUP_PATH } from './realtime-call.js';
import { geminiDialect, openaiDialect, parseEvent, type RelayDialect } from './realtime-dialects.js';
import { connectLive, connectRealtime, connectSideband, LIVE_PATH, liveRequest, RealtimeRelay, refuseUpgrade, relayServer, sessionRequest, type ConnectOptions, type UpstreamSocket } from './realtime-relay.js';
import { ROUTES, type Route } from './routes.js';
import { sessionAccount, type SessionAccountOf, type SessionGateway } from './session-account.js';
import type { ResilienceOptions, Upstream } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** What the sessions and calls need of the gateway; what a session's account bills through (SessionGateway) too. */
export interface RealtimeGateway extends SessionGateway {
  readonly upstreams: Readonly<Record<ProviderName, Upstream>>;
  /** Every upstream by name, the config's OpenAI-compatible providers too. */
  readonly byName: ReadonlyMap<string, Upstream>;
  /** Where every instance finds the calls the others opened (Redis); absent on a store that shares nothing. */
  readonly shared: SharedValues | undefined;
  readonly resilience: ResilienceOptions;
  /** The realtime policy in force (a reload may change it); undefined while the config allows none. */
  realtime(): RealtimePolicy | undefined;
  /** The model aliases in force (a reload may change them). */
  aliases(): ReadonlyMap<string, string>;
  /** True once the gateway has started closing. */
  closing(): boolean;
  requestId(): string;
  tagOf(req: IncomingMessage): string | undefined;
  clientIp(req: IncomingMessage): string | undefined;
  /** The CORS headers for the request's origin, when the gateway allows it. */
  corsHeaders(req: IncomingMessage): Record<string, string> | undefined;
  headersWith(extra?: Record<string, string>): Record<string, string>;
  /** The request's body, up to the gateway's limit on one. */
  readBody(req: IncomingMessage): Promise<Buffer>;
  /** Refuses a caller outside the networks its user may call from. */
  allowFrom(user: UserRecord, tokenId: string, req: IncomingMessage): void;
  /** Refuses a call to an API outside the token's scopes. */
  allowScope(caller: Caller, route: Route, req: IncomingMessage): void;
  allowModel(user: UserRecord, model: string, alias?: string): void;
  /** Warns once that a model has no price (it is billed at the fallback). */
  unpriced(model: string): void;
  /** Plans and admits the flight's caller, holding `reserveUsd` in the budgets. */
  admitFlight(f: Flight, req: IncomingMessage, reserveTokens: number, reserveUsd: number): Admission | Promise<Admission>;
  /** Relays an upstream's error answer (scrubbed) and settles the flight. */
  forwardError(f: Flight, up: UpstreamAnswer, res: ServerResponse, extra: Record<string, string> | undefined): Promise<void>;
  /** What the client is told of a failed session or call, logged and counted. */
  refusal(reqId: string, routeKind: string, provider: string, path: string, err: unknown): GatewayHttpError;
  /** Removes key material from text going to a client. */
  scrub(text: string): string;
  /** A provider refused one of its keys. */
  keyRejected(provider: string, key: PoolKey): void;
}

export interface RealtimeRoutes {
  /** A WebSocket handshake: a Realtime (`/v1/realtime?model=…`) or a Live session. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** `POST /v1/realtime/calls`, and `POST /v1/realtime/calls/{id}/hangup`, for a caller already authenticated. */
  handleCall(req: IncomingMessage, res: ServerResponse, reqId: string, start: number, caller: Caller, corsH: Record<string, string> | undefined, path: string, query: string): Promise<void>;
  /** The sessions and calls open now, by provider. */
  sessions(): Record<string, number>;
  /** Ends every session and call open, each billed for what it used, and closes the WebSocket server the sessions were taken on. */
  shutdown(): void;
}

const REALTIME_SESSION: Route = { kind: 'realtime-session', method: 'GET', provider: openai, upstreamPath: '/realtime' };
const LIVE_SESSION: Route = { kind: 'realtime-session', method: 'GET', provider: gemini, upstreamPath: '/ws' };
const REALTIME_CALL = ROUTES.get(CALLS_PATH)!;
/** A Live session's model, as Google names it (as in the Gemini routes' paths). */
const GEMINI_LIVE_MODEL = /^(?:models\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** How long a Live client may take to send its setup after the handshake. */
const SETUP_MS = 10_000;

export function realtimeRoutes(g: RealtimeGateway): RealtimeRoutes {
  /** The sessions being relayed, with their provider. */
  const relays = new Map<{ shutdown(): void }, string>();
  /** The WebRTC calls the gateway watches, and with Redis those every instance opened. */
  const calls = new CallRegistry<CallWatch>(g.shared);
  let relayWs: WebSocketServer | undefined;

  /**
   * A relayed Realtime or Live session: the same checks as any call (token, network, scopes, model,
   * limits), then a hold on the budgets (SessionHold) while it runs, each response billed and logged
   * as it ends, and the hold settled to what was billed when it closes.
   */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const start = performance.now();
    const reqId = g.requestId();
    socket.on('error', () => undefined);
    const corsH = g.corsHeaders(req);
    let route = REALTIME_SESSION;
    let account: SessionAccountOf | undefined;
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const query = q === -1 ? '' : url.slice(q + 1);
      const live = LIVE_PATH.exec(path);
      if (live) route = LIVE_SESSION;
      const ask = live ? liveRequest(req, live[1]!, query) : sessionRequest(req, path, query);
      if (g.closing()) throw new GatewayHttpError(503, 'shutting_down', 'the gateway is shutting down; open the session again on another instance', { 'retry-after': '1' });
      // A WebSocket is not held to CORS by browsers: the gateway checks the page's origin itself.
      if (req.headers.origin !== undefined && corsH === undefined) throw new GatewayHttpError(403, 'cors_not_allowed', 'WebSocket sessions from this origin are not allowed (set corsOrigins on the gateway)');
      const authed = g.authenticate(ask.credential);
      const caller = authed instanceof Promise ? await authed : authed;
      caller.dirVersion = g.dirVersion();
      g.allowFrom(caller.user, caller.tokenId, req);
      if (caller.scopes !== undefined) g.allowScope(caller, route, req);
      const { policy, up } = voiceUpstream(live ? 'gemini' : 'openai', 'relay Realtime or Live sessions');
      if (live) return await openLive(req, socket, head, reqId, start, caller, up, live[1]!, ask.credential);
      const { model: asked, beta } = ask as ReturnType<typeof sessionRequest>;
      const aliases = g.aliases();
      const alias = aliases.has(asked) ? asked : undefined;
      const model = alias !== undefined ? aliases.get(alias)! : asked;
      const f = sessionFlight(req, reqId, start, caller, REALTIME_SESSION, up, model, alias);
      account = await openAccount(f, req, policy, ask.credential);
      const conn = await connectRealtime(up, model, beta, connectOptions(up));
      if (!socket.writable) {
        conn.socket.terminate();
        throw new GatewayHttpError(499, 'client_disconnect', 'the client left before the session opened');
      }
      const opened = account;
      // A handshake that fails now (the client gone, a header ws refuses) never reaches the callback.
      let started = false;
      socket.once('close', () => {
        if (started) return;
        conn.socket.terminate();
        opened.settleUnused();
      });
      (relayWs ??= relayServer()).handleUpgrade(req, socket, head, (client) => {
        started = true;
        startRelay(client, conn, openaiDialect(), opened, f);
      });
    } catch (err) {
      account?.settleUnused();
      const e = g.refusal(reqId, route.kind, route.provider.name, route.upstreamPath, err);
      refuseUpgrade(socket, e, route.provider.errorBody(e.status, e.type, e.message), g.headersWith({ ...corsH, 'x-request-id': reqId }));
    }
  }

  /** The realtime policy and the provider a session or call opens with; refused while the config allows no realtime or no key is set. */
  function voiceUpstream(name: 'openai' | 'gemini', what: string): { policy: RealtimePolicy; up: Upstream } {
    const policy = g.realtime();
    if (policy === undefined) throw new GatewayHttpError(403, 'realtime_disabled', `this gateway does not ${what}: its operator can allow them with "realtime": { "usdPerSecret": … } in the config`);
    const up = g.upstreams[name];
    up.requireKeys();
    return { policy, up };
  }

  /**
   * A Live session names its model in its first message (`setup`), after the handshake: the session is
   * judged then, and refused with a close frame whose reason says why.
   */
  async function openLive(req: IncomingMessage, socket: Duplex, head: Buffer, reqId: string, start: number, caller: Caller, up: Upstream, version: string, credential: IncomingMessage['headers']): Promise<void> {
    const client = await new Promise<WebSocket | undefined>((resolve) => {
      socket.once('close', () => resolve(undefined));
      (relayWs ??= relayServer()).handleUpgrade(req, socket, head, resolve);
    });
    if (!client) return;
    const early: Array<[RawData, boolean]> = [];
    const setup = await new Promise<Buffer | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), SETUP_MS);
      client.on('message', (data, isBinary) => {
        if (early.length === 0 && !isBinary) {
          clearTimeout(t);
          resolve(data as Buffer);
        }
        early.push([data, isBinary]);
      });
      client.once('close', () => resolve(undefined));
    });
    let account: SessionAccountOf | undefined;
    try {
      if (!setup) throw badRequest('the session sent no setup message; send { "setup": { "model": … } } first');
      const event = parseEvent(setup);
      const named = isObject(event?.setup) ? event.setup.model : undefined;
      if (typeof named !== 'string' || !GEMINI_LIVE_MODEL.test(named)) throw badRequest("the first message must be { \"setup\": { \"model\": \"models/…\" } }");
      const model = geminiModelId(named);
      const f = sessionFlight(req, reqId, start, caller, LIVE_SESSION, up, model, undefined);
      // Asked again: the policy may have been reloaded while the client took its time with the setup.
      const policy = g.realtime();
      if (policy === undefined) throw new GatewayHttpError(403, 'realtime_disabled', 'this gateway no longer relays Live sessions');
      account = await openAccount(f, req, policy, credential);
      const conn = await connectLive(up, version, connectOptions(up));
      if (client.readyState !== WebSocket.OPEN) {
        conn.socket.terminate();
        throw new GatewayHttpError(499, 'client_disconnect', 'the client left before the session opened');
      }
      client.removeAllListeners('message');
      startRelay(client, conn, geminiDialect(), account, f, early);
    } catch (err) {
      account?.settleUnused();
      const e = g.refusal(reqId, LIVE_SESSION.kind, LIVE_SESSION.provider.name, LIVE_SESSION.upstreamPath, err);
      if (client.readyState === WebSocket.OPEN) client.close(e.status >= 500 ? 1011 : 1008, `${e.type}: ${e.message}`.slice(0, 120));
    }
  }

  function sessionFlight(req: IncomingMessage, reqId: string, start: number, caller: Caller, route: Route, up: Upstream, model: string, alias: string | undefined): Flight {
    g.allowModel(caller.user, model, alias);
    g.anomaly?.request(caller.user, g.clientIp(req));
    if (!g.prices().known(model)) g.unpriced(model);
    return { reqId, start, caller, route, provider: route.provider, upstream: up.provider.name, model, alias, promptTokens: 0, status: 101, settled: false, tag: g.tagOf(req) };
  }

  async function openAccount(f: Flight, req: IncomingMessage, policy: RealtimePolicy, credential: IncomingMessage['headers']): Promise<SessionAccountOf> {
    const holdUsd = policy.sessionHoldUsd ?? policy.usdPerSecret;
    const a = g.admitFlight(f, req, 0, holdUsd);
    f.admitted = (a instanceof Promise ? await a : a).admitted;
    return sessionAccount(g, f, holdUsd, credential);
  }

  function connectOptions(up: Upstream): ConnectOptions {
    return {
      retries: g.resilience.retries,
      timeoutMs: g.resilience.timeoutMs,
      attempted: (r) => g.metrics.attempt(up.provider.name, r),
      keyRejected: (key) => g.keyRejected(up.provider.name, key),
    };
  }

  function startRelay(client: WebSocket, conn: UpstreamSocket, dialect: RelayDialect, account: SessionAccountOf, f: Flight, clientEarly?: Array<[RawData, boolean]>): void {
    const relay = new RealtimeRelay(client, conn, dialect, {
      ...account,
      close(outcome) {
        relays.delete(relay);
        account.close(outcome);
      },
    }, g.log, g.scrub, { clientEarly });
    relays.set(relay, f.upstream);
    g.log.info({ reqId: f.reqId, user: f.caller.user.name, provider: f.upstream, model: f.model, key: conn.key.label }, 'Realtime session opened');
  }

  /**
   * A Realtime call over WebRTC (see realtime-call.ts): judged as a session is (token, network, scopes,
   * model, limits, a hold on the budgets), opened with the provider key, and watched over its sideband
   * until it ends. Also the client's own hang-up, `POST /v1/realtime/calls/{id}/hangup`.
   */
  async function handleCall(req: IncomingMessage, res: ServerResponse, reqId: string, start: number, caller: Caller, corsH: Record<string, string> | undefined, path: string, query: string): Promise<void> {
    const answered = (status: number, contentType: string, body: string, more?: Record<string, string>) => {
      const h = g.headersWith(corsH);
      h['content-type'] = contentType;
      h['x-request-id'] = reqId;
      res.writeHead(status, Object.assign(h, more));
      res.end(body);
    };
    const hang = HANGUP_PATH.exec(path);
    if (hang) {
      await hangUpFor(caller, hang[1]!, reqId);
      return answered(200, JSON_TYPE, '{}');
    }
    if (g.closing()) throw new GatewayHttpError(503, 'shutting_down', 'the gateway is shutting down; open the call again on another instance', { 'retry-after': '1' });
    const { policy, up } = voiceUpstream('openai', 'open Realtime calls');
    const raw = await g.readBody(req);
    const offer = await callOffer(raw, req.headers['content-type'], query);
    const aliases = g.aliases();
    const alias = aliases.has(offer.model) ? offer.model : undefined;
    const model = alias !== undefined ? aliases.get(alias)! : offer.model;
    const f = sessionFlight(req, reqId, start, caller, REALTIME_CALL, up, model, alias);
    const account = await openAccount(f, req, policy, req.headers);
    try {
      // What the offer's session asks for, as a session.update would (a transcription model the user may not call).
      const why = account.refuse({ type: 'session.update', session: offer.session });
      if (why !== undefined) throw new GatewayHttpError(403, 'model_not_allowed', why);
      const form = await callForm(offer, model);
      const cancel = new Cancel();
      res.once('close', () => {
        if (!res.writableFinished) cancel.abort();
      });
      const sent = await up.send('/realtime/calls', 'POST', { 'content-type': form.contentType, accept: 'application/sdp' }, form.body, cancel);
      if (sent.res.statusCode >= 300) return await g.forwardError(f, sent.res, res, corsH);
      const answer = await sent.res.body.text(256 * 1024, 'fail');
      const callId = callIdOf(sent.res.headers.location);
      if (callId === undefined) throw new GatewayHttpError(502, 'upstream_error', `${up.provider.name} opened a call without saying its id (no Location), so the gateway could not watch it`);
      const hangup = () => hangUpAt(up, sent.key, callId);
      let side: UpstreamSocket;
      try {
        side = await connectSideband(up, sent.key, callId, g.resilience.timeoutMs);
      } catch (err) {
        await hangup().catch((e: unknown) => g.log.error({ reqId, callId, err: e }, 'hanging up an unwatched Realtime call failed'));
        throw err;
      }
      f.status = 201;
      const watch: CallWatch = new CallWatch(callId, caller.user.id, side, openaiDialect(), {
        ...account,
        close(outcome) {
          calls.close(callId);
          relays.delete(watch);
          account.close(outcome);
        },
      }, hangup, g.log);
      calls.open(watch, up.provider.name, sent.key.label);
      relays.set(watch, f.upstream);
      g.log.info({ reqId, user: caller.user.name, provider: f.upstream, model, key: sent.key.label, callId }, 'Realtime call opened');
      // A client gone before its answer never connects: the call would only wait to time out.
      if (res.destroyed) return watch.end('client_disconnect');
      answered(201, 'application/sdp', answer, { location: `${CALLS_PATH}/${callId}` });
    } catch (err) {
      account.settleUnused();
      throw err;
    }
  }

  /** Ends a call at the provider, with the key that opened it (a call's hang-up must come from its own project). */
  async function hangUpAt(up: Upstream, key: PoolKey, callId: string): Promise<void> {
    const r = await up.sendOn(key, `/realtime/calls/${callId}/hangup`, new Cancel());
    await r.body.dump();
    // Already over (404) is what a hang-up wants.
    if (r.statusCode >= 300 && r.statusCode !== 404) throw new Error(`the provider answered ${r.statusCode} to the hang-up`);
  }

  /**
   * A client's hang-up through the gateway. The instance that watches the call ends it there (billing
   * what is in progress); another instance (with Redis) hangs it up at the provider with the same key,
   * and the watching instance settles it when the provider closes the sideband.
   */
  async function hangUpFor(caller: Caller, callId: string, reqId: string): Promise<void> {
    const notYours = () => new GatewayHttpError(404, 'not_found', calls.sharedAcrossInstances ? 'no call of yours with this id is open' : 'no call of yours with this id is open on this gateway (without Redis, hang a call up on the instance that opened it)');
    const watch = calls.here(callId);
    if (watch !== undefined) {
      if (watch.userId !== caller.user.id) throw notYours();
      return watch.end('client_hangup');
    }
    if (!calls.sharedAcrossInstances) throw notYours();
    if (g.counters.reachable?.() === false) throw new GatewayHttpError(503, 'store_unavailable', 'the usage store (Redis) is unreachable, so the gateway cannot find a call opened on another instance; try again, or close the peer connection to end the call', { 'retry-after': '1' });
    const record = await calls.anywhere(callId);
    if (record === undefined || record.user !== caller.user.id) throw notYours();
    const up = g.byName.get(record.provider);
    const key = up?.pool.byLabel(record.key);
    if (up === undefined || key === undefined) throw new GatewayHttpError(502, 'upstream_error', `the call was opened by another gateway instance with a provider key this one does not hold (${record.key}); give every instance the same keys, or close the peer connection to end the call`);
    try {
      await hangUpAt(up, key, callId);
    } catch (err) {
      g.log.error({ reqId, callId, err }, 'hanging up a Realtime call opened on another instance failed');
      throw new GatewayHttpError(502, 'upstream_error', `${up.provider.name} did not take the hang-up; try again, or close the peer connection to end the call`);
    }
    g.log.info({ reqId, user: caller.user.name, callId, key: key.label }, 'Realtime call hung up for the instance that watches it');
  }

  return {
    upgrade,
    handleCall,
    sessions() {
      const n: Record<string, number> = { openai: 0, gemini: 0 };
      for (const provider of relays.values()) n[provider] = (n[provider] ?? 0) + 1;
      return n;
    },
    shutdown() {
      for (const r of [...relays.keys()]) r.shutdown();
      relayWs?.close();
    },
  };
}
