/**
 * Voice sessions relayed through the gateway over WebSocket: OpenAI Realtime (`GET /v1/realtime?model=…`)
 * and Gemini Live (`/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`).
 * The client speaks to the gateway with its gateway token, the gateway to the provider with the
 * provider key, and every event passes through unchanged. The gateway reads the events that report
 * usage (its dialect says which, see realtime-dialects.ts), so a session is billed what it used, and
 * ended when a budget is spent or its token is revoked, which a minted client secret (see
 * realtime.ts) cannot offer.
 *
 * The WebSocket protocol is `ws`'s; what is keyward's is below: where the token comes from, which
 * client events are refused, what is billed and when a session ends.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { badRequest, GatewayHttpError } from './http-error.js';
import type { PoolKey } from './keys.js';
import type { Logger } from './logger.js';
import type { AttemptResult } from './metrics.js';
import type { RelayDialect, SessionCharge, UpstreamMeaning } from './realtime-dialects.js';
import { attemptOutcome, keyRejectedError, keysCoolingError, type Upstream } from './upstream.js';

export const REALTIME_PATH = '/v1/realtime';
/** The subprotocol a browser's WebSocket carries its key in (browsers cannot set headers): the OpenAI SDK's own. */
const KEY_PROTOCOL = 'openai-insecure-api-key.';
const BETA_PROTOCOL = 'openai-beta.realtime-v1';
/** Client events are JSON; audio arrives in chunks of well under this. */
const MAX_FRAME = 16 * 1024 * 1024;
/** How long a session's responses in progress may take to report their usage once it is ending. */
const DRAIN_MS = 5_000;
/** Events queued for an end that does not read them (a minute of audio is about 4 MB): past this the session is ended. */
const MAX_QUEUED = 32 * 1024 * 1024;

/** What the client asked for: the model, the credential as `authenticate` reads it, and the beta interface if asked. */
export interface SessionRequest {
  model: string;
  credential: IncomingHttpHeaders;
  beta: boolean;
}

/** Reads the upgrade request; throws the refusal the client gets as an HTTP answer. */
export function sessionRequest(req: IncomingMessage, path: string, query: string): SessionRequest {
  if (path !== REALTIME_PATH) throw new GatewayHttpError(404, 'not_found', `no WebSocket route ${path.slice(0, 100)}; the gateway relays Realtime sessions at ${REALTIME_PATH}?model=… and Gemini Live sessions at /ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`);
  checkHandshake(req);
  const params = new URLSearchParams(query);
  if (params.has('call_id')) throw badRequest(`the gateway watches the WebRTC calls it opens itself (POST ${REALTIME_PATH}/calls); a client does not attach to one`);
  const model = params.get('model');
  if (!model) throw badRequest(`name the model in the URL: ${REALTIME_PATH}?model=gpt-realtime`);
  const protocols = protocolsOf(req);
  const fromProtocol = protocols.find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length);
  const credential: IncomingHttpHeaders = {};
  if (req.headers.authorization !== undefined) credential.authorization = req.headers.authorization;
  else if (fromProtocol) credential.authorization = `Bearer ${fromProtocol}`;
  return { model, credential, beta: protocols.includes(BETA_PROTOCOL) || /realtime=v1/.test(String(req.headers['openai-beta'] ?? '')) };
}

/** Checked before anything is reserved or opened upstream: the handshake would fail on them later. */
function checkHandshake(req: IncomingMessage): void {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new GatewayHttpError(400, 'invalid_request_error', 'only WebSocket upgrades are taken');
  if (!/^[A-Za-z0-9+/]{22}==$/.test(String(req.headers['sec-websocket-key'] ?? '')) || req.headers['sec-websocket-version'] !== '13') {
    throw new GatewayHttpError(400, 'invalid_request_error', 'not a WebSocket handshake this gateway can complete (Sec-WebSocket-Key and Sec-WebSocket-Version: 13 are required)');
  }
}

/** Gemini Live's WebSocket path, as `ai.live.connect()` of `@google/genai` opens it (the API version it was given; after a base URL's own slash, two). */
export const LIVE_PATH = /^\/{1,2}ws\/google\.ai\.generativelanguage\.(v1beta|v1alpha)\.GenerativeService\.BidiGenerateContent$/;

export interface LiveRequest {
  version: string;
  credential: IncomingHttpHeaders;
}

/**
 * A Gemini Live upgrade: the gateway token in `x-goog-api-key`, or in the `key` parameter, where the
 * SDK puts it (a browser cannot set headers); the model comes later, in the session's setup message.
 */
export function liveRequest(req: IncomingMessage, version: string, query: string): LiveRequest {
  checkHandshake(req);
  const params = new URLSearchParams(query);
  if (params.has('access_token')) throw badRequest('an ephemeral token opens its session with Google directly, not through the gateway');
  const header = req.headers['x-goog-api-key'];
  const key = typeof header === 'string' ? header : params.get('key');
  return { version, credential: key ? { 'x-goog-api-key': key } : {} };
}

function protocolsOf(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  return typeof h === 'string' ? h.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/**
 * Answers an upgrade the gateway refuses, as an HTTP response on the raw socket (the handshake never
 * happened). `headers` are the gateway's security headers and the refusal's own.
 */
export function refuseUpgrade(socket: Duplex, err: GatewayHttpError, body: string, headers: Record<string, string>): void {
  if (!socket.writable) return void socket.destroy();
  const h = { ...headers, ...err.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  const head = [`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}`, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  socket.end(`${head}\r\n\r\n${body}`);
}

export interface UpstreamSocket {
  socket: WebSocket;
  key: PoolKey;
  /** Events the provider sent before the client's handshake was done (its `session.created`), passed on first. */
  early: Array<[RawData, boolean]>;
}

export interface ConnectOptions {
  retries: number;
  timeoutMs: number;
  attempted(result: AttemptResult): void;
  keyRejected(key: PoolKey): void;
}

/**
 * Opens the session with the provider, on the next usable key of the pool: a key the provider rejects
 * leaves the pool (as for any call), a 429, a 5xx or a failed connection moves on to the next key.
 * Throws the refusal for the client when every try failed; its message names no key.
 */
export async function connectRealtime(upstream: Upstream, model: string, beta: boolean, o: ConnectOptions): Promise<UpstreamSocket> {
  return connectSession(upstream, (key) => {
    const headers: Record<string, string> = { ...upstream.provider.authHeaders(key.secret) };
    if (beta) headers['openai-beta'] = 'realtime=v1';
    return { url: `${upstream.base.replace(/^http/, 'ws')}/realtime?model=${encodeURIComponent(model)}`, headers };
  }, o);
}

/**
 * Opens a Gemini Live session with Google, its key in the URL as Google's own SDK sends it (the
 * gateway's call, never logged). `version`: the API version the client called.
 */
export async function connectLive(upstream: Upstream, version: string, o: ConnectOptions): Promise<UpstreamSocket> {
  return connectSession(upstream, (key) => ({ url: `${upstream.base.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.${version}.GenerativeService.BidiGenerateContent?key=${encodeURIComponent(key.secret)}`, headers: {} }), o);
}

/**
 * Attaches to a WebRTC call's sideband, with the key that opened the call (another project's key could
 * not). One try: a call the gateway cannot watch is hung up rather than kept waiting.
 */
export async function connectSideband(upstream: Upstream, key: PoolKey, callId: string, timeoutMs: number): Promise<UpstreamSocket> {
  const r = await openSocket(`${upstream.base.replace(/^http/, 'ws')}/realtime?call_id=${encodeURIComponent(callId)}`, upstream.provider.authHeaders(key.secret), timeoutMs);
  if (r.socket) return { socket: r.socket, key, early: r.early! };
  throw new GatewayHttpError(502, 'upstream_error', `${upstream.provider.name} opened the call but would not let the gateway watch it (${r.status ?? (r.timedOut ? 'no answer in time' : 'connection error')}), so the gateway hung it up`);
}

async function connectSession(upstream: Upstream, target: (key: PoolKey) => { url: string; headers: Record<string, string> }, o: ConnectOptions): Promise<UpstreamSocket> {
  const tried = new Set<PoolKey>();
  let last: GatewayHttpError | undefined;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    const key = upstream.pool.pick(tried);
    if (!key) break;
    tried.add(key);
    const { url, headers } = target(key);
    const r = await openSocket(url, headers, o.timeoutMs);
    if (r.socket) {
      o.attempted('answered');
      upstream.pool.success(key);
      return { socket: r.socket, key, early: r.early! };
    }
    const s = r.status;
    // The same reading of the status as an HTTP call's (Upstream.send).
    const outcome = s === undefined ? (r.timedOut ? 'timeout' : 'connection_error') : attemptOutcome(s);
    if (outcome === 'key_rejected') {
      o.attempted(outcome);
      upstream.pool.failure(key, s);
      o.keyRejected(key);
      last = keyRejectedError(upstream.provider.name);
      continue;
    }
    if (s === undefined || outcome === 'rate_limited' || outcome === 'server_error') {
      o.attempted(outcome);
      upstream.pool.failure(key);
      last =
        s === undefined
          ? new GatewayHttpError(r.timedOut ? 504 : 502, r.timedOut ? 'upstream_timeout' : 'upstream_unreachable', `cannot open a Realtime session with ${upstream.provider.name} (${r.timedOut ? 'no answer in time' : 'connection error'})`)
          : new GatewayHttpError(s === 429 ? 429 : 502, s === 429 ? 'rate_limit_exceeded' : 'upstream_error', `${upstream.provider.name} refused the Realtime session (${s})`, s === 429 ? { 'retry-after': '5' } : undefined);
      continue;
    }
    // 400, 404: the client's request (an unknown model), the same on every key.
    o.attempted('client_error');
    throw new GatewayHttpError(s, s === 404 ? 'model_not_found' : 'invalid_request_error', `${upstream.provider.name} refused the Realtime session (${s}); check the model name`);
  }
  throw last ?? keysCoolingError(upstream.provider.name);
}

function openSocket(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ socket?: WebSocket; early?: Array<[RawData, boolean]>; status?: number; timedOut?: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, perMessageDeflate: false, maxPayload: MAX_FRAME, followRedirects: false });
    ws.once('open', () => {
      ws.removeAllListeners('error');
      // The provider's first event can come in the handshake's own packet, emitted before any await resumes.
      const early: Array<[RawData, boolean]> = [];
      ws.on('message', (data, isBinary) => early.push([data, isBinary]));
      ws.on('error', () => undefined);
      resolve({ socket: ws, early });
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.removeAllListeners('error');
      ws.on('error', () => undefined);
      ws.terminate();
      resolve({ status: res.statusCode ?? 502 });
    });
    ws.once('error', (err) => resolve({ timedOut: /timed out/i.test(err.message) }));
  });
}

/** Why a session was ended by the gateway, told to the client as an `error` event before the close. */
export interface SessionEnd {
  type: string;
  message: string;
}

/** The session's account, kept by the gateway: each response billed, the hold settled at the end. */
export type { SessionCharge };

export interface SessionAccount {
  readonly reqId: string;
  /** Bills one charge; resolves to a reason to end the session (a budget spent, the token revoked), or undefined to go on. */
  bill(charge: SessionCharge): Promise<SessionEnd | undefined>;
  /** `responses` run at once: holds enough of the budgets for each; resolves to a reason to end the session when a budget refuses. */
  cover(responses: number): Promise<SessionEnd | undefined>;
  /** The client sent an event the session may not carry (another model): the refusal, or undefined. */
  refuse(event: Record<string, unknown>): string | undefined;
  /** Settles the hold to what was billed; called once, when either side closes. */
  close(outcome: string): void;
}

/** The WebSocket server end of the gateway: the handshake only (`noServer`), never the key protocol chosen. */
export function relayServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_FRAME,
    // A browser must get one of the protocols it offered back; never the one carrying its token.
    handleProtocols: (offered) => (offered.has('realtime') ? 'realtime' : false),
  });
}

const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY = 1008;
const CLOSE_ERROR = 1011;

/** A close code one end may send the other (1005, 1006 and 1015 are only ever reported). */
function sendable(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999) ? code : CLOSE_NORMAL;
}

export interface RelayOptions {
  /** Bytes queued for an end that does not read before the session is ended. */
  maxQueued?: number;
  /** Client events that arrived before the relay began (after a Live session's setup), passed on first. */
  clientEarly?: Array<[RawData, boolean]>;
}

/**
 * The responses a session has in progress, as the provider's events tell, and the wait for their
 * usage when the session ends: they are cancelled, and the session's side at the provider stays open
 * until each has reported what it produced (DRAIN_MS at most), so that it is billed. Shared by a
 * relayed session and a watched WebRTC call.
 */
export class ResponsesInProgress {
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /** Ending, and waiting for the usage of responses in progress. */
  get draining(): boolean {
    return this.timer !== undefined;
  }

  /** Ending, and the last response in progress has reported: the provider's side may close. */
  get drained(): boolean {
    return this.timer !== undefined && this.ids.size === 0;
  }

  /** How many are in progress. */
  get count(): number {
    return this.ids.size;
  }

  /** Where a response that starts while the session drains is cancelled. */
  private cancelOn: { dialect: RelayDialect; socket: WebSocket } | undefined;

  note(m: UpstreamMeaning): void {
    if (m.started !== undefined) {
      this.ids.add(m.started);
      // The provider's voice detection can start one from audio already sent (a call's audio never
      // passes the gateway): it is cancelled too, and awaited like the others.
      const c = this.cancelOn;
      if (c !== undefined && c.socket.readyState === WebSocket.OPEN) for (const event of c.dialect.cancel([m.started])) c.socket.send(event);
    }
    if (m.done !== undefined) this.ids.delete(m.done);
  }

  /**
   * The session ends: asks the provider to cancel what is in progress and, when `wait`, calls `close`
   * once the last reports or after DRAIN_MS. False when there is nothing to wait for: close now.
   */
  drain(dialect: RelayDialect, socket: WebSocket, close: () => void, wait = true): boolean {
    if (this.ids.size === 0 || socket.readyState !== WebSocket.OPEN) return false;
    for (const event of dialect.cancel([...this.ids])) socket.send(event);
    if (!wait) return false;
    this.cancelOn = { dialect, socket };
    this.timer = setTimeout(close, DRAIN_MS);
    return true;
  }

  /** The provider's side is closing: no more waiting. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.cancelOn = undefined;
  }
}

/**
 * Passes events both ways until either end closes, billing what the provider's events report (its
 * dialect says which those are) and refusing the client events the session may not carry.
 */
export class RealtimeRelay {
  private ended = false;
  private outcome = 'ok';
  /** Bills in the order responses finished, one at a time. */
  private billing: Promise<void> = Promise.resolve();
  private readonly responses = new ResponsesInProgress();
  private upstreamClosed = false;
  private readonly upstream: WebSocket;
  private readonly maxQueued: number;
  /** Bills not yet settled, and the client events held meanwhile. */
  private unbilled = 0;
  private waiting: Array<[Buffer, boolean]> = [];
  private waitingBytes = 0;

  constructor(
    private readonly client: WebSocket,
    up: UpstreamSocket,
    private readonly dialect: RelayDialect,
    private readonly account: SessionAccount,
    private readonly log: Logger,
    private readonly scrub: (text: string) => string,
    o: RelayOptions = {},
  ) {
    this.maxQueued = o.maxQueued ?? MAX_QUEUED;
    const upstream = (this.upstream = up.socket);
    client.on('message', (data, isBinary) => this.fromClient(data, isBinary));
    upstream.removeAllListeners('message');
    upstream.on('message', (data, isBinary) => this.fromUpstream(data, isBinary));
    for (const [data, isBinary] of up.early.splice(0)) this.fromUpstream(data, isBinary);
    for (const [data, isBinary] of o.clientEarly ?? []) this.fromClient(data, isBinary);
    if (upstream.readyState !== WebSocket.OPEN) this.end('upstream_closed', CLOSE_ERROR, 'the provider closed the session');
    client.on('close', (code) => this.end(code === 1006 ? 'client_disconnect' : 'ok', code));
    upstream.on('close', (code, reason) => (this.ended ? this.closeUpstream() : this.end(code === CLOSE_NORMAL ? 'ok' : 'upstream_closed', code, this.scrub(reason.toString('utf8')).slice(0, 120))));
    client.on('error', () => this.end('client_error', CLOSE_ERROR));
    upstream.on('error', (err) => {
      this.log.warn({ reqId: account.reqId, err }, 'Realtime session: the provider connection failed');
      if (this.ended) this.closeUpstream();
      else this.end('upstream_error', CLOSE_ERROR, 'the provider connection failed');
    });
  }

  private fromClient(data: RawData, isBinary: boolean): void {
    if (this.ended) return;
    const buf = data as Buffer;
    const refused = isBinary ? undefined : this.dialect.inspectClient(buf, (e) => this.account.refuse(e));
    if (refused) {
      const event = this.dialect.errorEvent('invalid_request_error', 'model_not_allowed', refused.why, refused.eventId);
      if (event !== undefined) this.tell(event);
      else this.end('model_not_allowed', CLOSE_POLICY, refused.why.slice(0, 120));
      return;
    }
    // While a bill is being settled, the client's events wait: none of them may start a response
    // before the session is known to hold enough of the budgets for it (a few milliseconds).
    if (this.unbilled > 0) {
      this.waitingBytes += buf.length;
      if (this.waitingBytes > this.maxQueued) return this.end('client_too_fast', CLOSE_ERROR, 'the client sent more than the gateway holds while it bills');
      this.waiting.push([buf, isBinary]);
      return;
    }
    this.pass(this.upstream, buf, isBinary, 'upstream_too_slow');
  }

  private fromUpstream(data: RawData, isBinary: boolean): void {
    if (this.ended && !this.responses.draining) return;
    const buf = data as Buffer;
    if (!this.ended) this.pass(this.client, buf, isBinary, 'client_too_slow');
    const m = isBinary ? undefined : this.dialect.inspectUpstream(buf);
    if (m === undefined) return;
    this.responses.note(m);
    // A response begun beside another needs a hold of its own: until it is taken, the client's events wait.
    if (m.started !== undefined && this.responses.count > 1 && !this.ended) {
      const n = this.responses.count;
      this.settle(() => this.account.cover(n));
    }
    // The last response of an ending session has reported: its bill is queued first, then the provider's side closed.
    if (m.charge !== undefined) this.settle(() => this.account.bill(m.charge!));
    if (this.responses.drained) this.closeUpstream();
  }

  /** Queues a bill or a hold on the session's account, in the order the provider's events came. */
  private settle(task: () => Promise<SessionEnd | undefined>): void {
    this.unbilled++;
    this.billing = this.billing.then(async () => {
      const stop = await task().catch((err: unknown): SessionEnd => {
        this.log.error({ reqId: this.account.reqId, err }, 'billing a Realtime session failed');
        return { type: 'internal_error', message: 'the gateway could not bill the session, so it ended it' };
      });
      this.unbilled--;
      if (stop && !this.ended) {
        const event = this.dialect.errorEvent(stop.type, stop.type, stop.message, null);
        if (event !== undefined) this.tell(event);
        this.end(stop.type, CLOSE_POLICY, stop.message.slice(0, 120));
      }
      if (this.unbilled > 0 || this.ended) return;
      const waiting = this.waiting;
      this.waiting = [];
      this.waitingBytes = 0;
      for (const [buf, isBinary] of waiting) this.pass(this.upstream, buf, isBinary, 'upstream_too_slow');
    });
  }

  /** Sends on, unless the other end has stopped reading: its queue is bounded, and the session ends past it. */
  private pass(to: WebSocket, buf: Buffer, isBinary: boolean, slow: string): void {
    if (to.readyState !== WebSocket.OPEN) return;
    if (to.bufferedAmount > this.maxQueued) {
      this.end(slow, CLOSE_ERROR, to === this.client ? 'the client does not read its events' : 'the provider does not read its events');
      return;
    }
    to.send(buf, { binary: isBinary });
  }

  /** An event of the gateway's own to the client. */
  private tell(event: string): void {
    if (this.client.readyState === WebSocket.OPEN) this.client.send(event);
  }

  /**
   * Ends the session once. Responses still in progress are cancelled and their `response.done` awaited
   * (a few seconds at most) before the provider's side is closed, so that what they produced is billed;
   * the account is settled after the last bill.
   */
  end(outcome: string, code: number, reason = ''): void {
    if (this.ended) return;
    this.ended = true;
    this.outcome = outcome;
    const c = sendable(code);
    const r = Buffer.byteLength(reason) <= 123 ? reason : '';
    if (this.client.readyState === WebSocket.OPEN) this.client.close(c, r);
    else if (this.client.readyState === WebSocket.CONNECTING) this.client.terminate();
    // A client that never answers the close is cut after a moment.
    setTimeout(() => this.client.terminate(), 2_000).unref();
    if (this.responses.drain(this.dialect, this.upstream, () => this.closeUpstream())) return;
    this.closeUpstream(c, r);
  }

  private closeUpstream(code = CLOSE_NORMAL, reason = ''): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    this.responses.stop();
    if (this.upstream.readyState === WebSocket.OPEN) this.upstream.close(code, reason);
    else if (this.upstream.readyState === WebSocket.CONNECTING) this.upstream.terminate();
    setTimeout(() => this.upstream.terminate(), 2_000).unref();
    void this.billing.then(() => this.account.close(this.outcome));
  }

  /** The gateway is shutting down. */
  shutdown(): void {
    this.end('shutdown', CLOSE_GOING_AWAY, 'the gateway is shutting down');
  }
}
