/**
 * OpenAI Realtime calls over WebRTC (`POST /v1/realtime/calls`), opened through the gateway. A browser
 * or phone sends its SDP offer to the gateway with its gateway token; the gateway opens the call with
 * the provider key and answers with OpenAI's SDP answer. The audio then flows between the client and
 * OpenAI directly, never through the gateway, so the gateway watches the call over OpenAI's sideband
 * WebSocket (`/v1/realtime?call_id=…`, with the key that opened it): each `response.done` is billed as
 * on a relayed session, and the call is hung up when a budget is spent or the token revoked.
 *
 * A call the gateway cannot watch is a call it cannot bill: when the sideband cannot be opened, or is
 * lost, the call is hung up.
 */
import WebSocket, { type RawData } from 'ws';
import { badRequest, GatewayHttpError } from './http-error.js';
import type { Logger } from './logger.js';
import { Upload } from './upload.js';
import { isObject } from './providers/types.js';
import { parseEvent, type RelayDialect } from './realtime-dialects.js';
import { ResponsesInProgress, type SessionAccount, type SessionEnd, type UpstreamSocket } from './realtime-relay.js';

export const CALLS_PATH = '/v1/realtime/calls';
/** What OpenAI's form for a call holds, for the message when it cannot be read. */
const CALL_PARTS = 'the fields sdp (the offer) and session (its JSON)';
/** A client's own hang-up, through the gateway. */
export const HANGUP_PATH = /^\/v1\/realtime\/calls\/([A-Za-z0-9_-]{1,128})\/hangup$/;
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** What the client offered: its SDP, and the session as OpenAI is to open it (the model in it). */
export interface CallOffer {
  sdp: string;
  session: Record<string, unknown>;
  model: string;
}

/**
 * Reads the client's offer as OpenAI takes it: the SDP alone (`application/sdp`, the model in
 * `?model=`), or a form with `sdp` and `session` (the session's JSON, the model in it).
 */
export async function callOffer(raw: Buffer, contentType: string | undefined, query: string): Promise<CallOffer> {
  const ct = (contentType ?? '').toLowerCase();
  const asked = new URLSearchParams(query).get('model') ?? undefined;
  let sdp: string;
  let session: Record<string, unknown> = {};
  if (ct.startsWith('application/sdp')) sdp = raw.toString('utf8');
  else if (ct.startsWith('multipart/form-data')) {
    const form = await Upload.read(raw, contentType, CALL_PARTS);
    sdp = form.field('sdp') ?? '';
    const given = form.field('session');
    if (given !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(given);
      } catch {
        parsed = undefined;
      }
      if (!isObject(parsed)) throw badRequest('the session field must be a JSON object, as for POST /v1/realtime/client_secrets');
      session = parsed;
    }
  } else {
    throw new GatewayHttpError(415, 'invalid_request_error', `${CALLS_PATH} takes the SDP offer as application/sdp (the model in ?model=), or as multipart/form-data with the fields sdp and session`);
  }
  if (!sdp.startsWith('v=0')) throw badRequest('the offer is not SDP (it must start with v=0): send the localDescription.sdp of an RTCPeerConnection');
  const named = session.model ?? asked;
  if (typeof named !== 'string' || named === '') throw badRequest(`name the model: ${CALLS_PATH}?model=gpt-realtime, or "model" in the session`);
  if (asked !== undefined && session.model !== undefined && asked !== session.model) throw badRequest('the model in the URL and the one in the session differ; name it once');
  return { sdp, session, model: named };
}

/** The form OpenAI opens the call from: the SDP, and the session with its `type` and the model the gateway settled on. */
export function callForm(offer: CallOffer, model: string): Promise<Upload> {
  return Upload.of({ sdp: offer.sdp, session: JSON.stringify({ type: 'realtime', ...offer.session, model }) });
}

/** The call's id from OpenAI's `Location` (`/v1/realtime/calls/{id}`), or undefined when there is none to trust. */
export function callIdOf(location: string | string[] | undefined): string | undefined {
  if (typeof location !== 'string') return undefined;
  const id = location.slice(location.lastIndexOf('/') + 1);
  return CALL_ID.test(id) ? id : undefined;
}

/**
 * Watches one call over its sideband: bills what each response reports, ends the call (hangs it up)
 * when the account says to, or when the session turns to a transcription model the user may not call.
 */
export class CallWatch {
  private ended = false;
  private outcome = 'ok';
  private billing: Promise<void> = Promise.resolve();
  private readonly responses = new ResponsesInProgress();
  private closed = false;
  private readonly sideband: WebSocket;

  constructor(
    readonly callId: string,
    /** Whose call it is: only they may hang it up through the gateway. */
    readonly userId: string,
    up: UpstreamSocket,
    private readonly dialect: RelayDialect,
    private readonly account: SessionAccount,
    private readonly hangup: () => Promise<void>,
    private readonly log: Logger,
  ) {
    const sideband = (this.sideband = up.socket);
    sideband.removeAllListeners('message');
    sideband.on('message', (data, isBinary) => this.fromUpstream(data, isBinary));
    for (const [data, isBinary] of up.early.splice(0)) this.fromUpstream(data, isBinary);
    // OpenAI closes the sideband normally when the call ends; any other close leaves the call unwatched.
    sideband.on('close', (code) => (this.ended ? this.finish() : this.end(code === 1000 ? 'ok' : 'sideband_lost')));
    sideband.on('error', (err) => this.log.warn({ reqId: account.reqId, err }, 'Realtime call: the sideband connection failed'));
    if (sideband.readyState !== WebSocket.OPEN) this.end('sideband_lost');
  }

  private fromUpstream(data: RawData, isBinary: boolean): void {
    if (isBinary || (this.ended && !this.responses.draining)) return;
    const buf = data as Buffer;
    const m = this.dialect.inspectUpstream(buf);
    if (m !== undefined) this.responses.note(m);
    // A response begun beside another needs a hold of its own.
    if (m?.started !== undefined && this.responses.count > 1 && !this.ended) {
      const n = this.responses.count;
      this.settle(() => this.account.cover(n));
    }
    if (m?.charge !== undefined) this.settle(() => this.account.bill(m.charge!));
    if (this.responses.drained) return this.finish();
    // The client changes its session over its own data channel, which the gateway does not see: it
    // reads the result here, and ends a call that took on a transcription model the user may not call.
    if (!this.ended && buf.includes('"session.updated"')) {
      const event = parseEvent(buf);
      const why = event?.type === 'session.updated' && isObject(event.session) ? this.account.refuse({ type: 'session.update', session: event.session }) : undefined;
      if (why !== undefined) {
        this.log.info({ reqId: this.account.reqId, callId: this.callId, why }, 'Realtime call: the session was changed to what the user may not use');
        this.end('model_not_allowed');
      }
    }
  }

  /** Queues a bill or a hold on the call's account, in the order the sideband's events came. */
  private settle(task: () => Promise<SessionEnd | undefined>): void {
    this.billing = this.billing.then(async () => {
      const stop = await task().catch((err: unknown): SessionEnd => {
        this.log.error({ reqId: this.account.reqId, err }, 'billing a Realtime call failed');
        return { type: 'internal_error', message: 'the gateway could not bill the call' };
      });
      if (stop && !this.ended) {
        this.log.info({ reqId: this.account.reqId, callId: this.callId, why: stop.message }, 'Realtime call ended by the gateway');
        this.end(stop.type);
      }
    });
  }

  /** Ends the call once: responses in progress are cancelled and awaited (a few seconds at most), then the call is hung up. */
  end(outcome: string, drain = true): void {
    if (this.ended) return;
    this.ended = true;
    this.outcome = outcome;
    if (this.responses.drain(this.dialect, this.sideband, () => this.finish(), drain)) return;
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.responses.stop();
    // Ended by its client or by OpenAI (the sideband closed with the call): nothing to hang up.
    const hangup = this.outcome === 'ok' ? Promise.resolve() : this.hangup().catch((err: unknown) => this.log.error({ reqId: this.account.reqId, callId: this.callId, err }, 'hanging up a Realtime call failed'));
    void hangup.then(() => {
      if (this.sideband.readyState === WebSocket.OPEN) this.sideband.close(1000);
      setTimeout(() => this.sideband.terminate(), 2_000).unref();
    });
    void this.billing.then(() => this.account.close(this.outcome));
  }

  /** The gateway is shutting down: it could no longer bill the call, so it hangs it up. */
  shutdown(): void {
    // At once: the gateway's connections to OpenAI close next.
    this.end('shutdown', false);
  }
}
