/**
 * Voice from a browser or a phone: the app asks its backend for a short-lived credential and connects
 * to the provider with it directly over WebRTC or WebSocket: OpenAI's Realtime client secret (`ek_…`,
 * `POST /v1/realtime/client_secrets`) or Gemini Live's ephemeral token (`auth_tokens/…`,
 * `POST /v1alpha/auth_tokens`). The gateway mints it for a gateway user, so the app's backend needs
 * no provider key either.
 *
 * The session itself runs between the client and OpenAI, where the gateway cannot meter it: a secret
 * is billed the flat `usdPerSecret` the operator sets (reserved against the budgets before it is
 * minted), and lives `maxTtlSeconds` at most (the client's `expires_after` may ask for less), since
 * whoever holds it may open sessions until it expires. Off unless `realtime` is in the config.
 */
import { badRequest, GatewayHttpError } from './http-error.js';
import { isObject, type ShapedRequest } from './providers/types.js';

export interface RealtimePolicy {
  /** What one minted secret is billed and reserved at, in USD (the sessions it opens are not seen). */
  usdPerSecret: number;
  /** The longest a secret may live (seconds, 10–7200; default 60). */
  maxTtlSeconds?: number;
  /**
   * A session relayed through the gateway (`GET /v1/realtime`, Live) or a call it watches (`POST
   * /v1/realtime/calls`) is billed what each response used; it holds this much of the budgets ahead of
   * its spend (or what the dearest response yet cost, when more), taking more as it spends (default
   * `usdPerSecret`). Set it to at least what a session's first response can cost.
   */
  sessionHoldUsd?: number;
}

/** OpenAI's bounds for `expires_after.seconds`. */
const MIN_TTL = 10;
const MAX_TTL = 7200;
export const DEFAULT_REALTIME_TTL = 60;
/** The models OpenAI uses when the request names none. */
const DEFAULT_MODEL = 'gpt-realtime';
const DEFAULT_TRANSCRIPTION_MODEL = 'whisper-1';



/** The model a session will run: a realtime session's `model`, or a transcription session's transcription model. */
function sessionModel(session: Record<string, unknown>): string {
  if (session.type === 'transcription') {
    const audio = isObject(session.audio) ? session.audio : {};
    const input = isObject(audio.input) ? audio.input : {};
    const t = isObject(input.transcription) ? input.transcription : {};
    if (t.model !== undefined && (typeof t.model !== 'string' || t.model === '')) throw badRequest("'session.audio.input.transcription.model' must be a string");
    return (t.model as string | undefined) ?? DEFAULT_TRANSCRIPTION_MODEL;
  }
  if (session.model !== undefined && (typeof session.model !== 'string' || session.model === '')) throw badRequest("'session.model' must be a string");
  return (session.model as string | undefined) ?? DEFAULT_MODEL;
}

/**
 * A client-secret request: the session's model (checked like any other), a lifetime no longer than
 * the policy allows (set to it when the client asks for none, since OpenAI's own default is ten
 * minutes), billed the flat price.
 */
export function shapeRealtime(o: Record<string, unknown>, policy: RealtimePolicy | undefined): ShapedRequest {
  if (policy === undefined) {
    throw new GatewayHttpError(403, 'realtime_disabled', 'this gateway does not mint Realtime client secrets: its operator can allow them with "realtime": { "usdPerSecret": … } in the config');
  }
  const max = policy.maxTtlSeconds ?? DEFAULT_REALTIME_TTL;
  if (o.session !== undefined && !isObject(o.session)) throw badRequest("'session' must be an object");
  const session = (o.session ?? {}) as Record<string, unknown>;
  const model = sessionModel(session);
  const exp = o.expires_after;
  if (exp !== undefined && !isObject(exp)) throw badRequest("'expires_after' must be an object");
  const seconds = (exp as Record<string, unknown> | undefined)?.seconds;
  if (seconds !== undefined && (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_TTL || seconds > MAX_TTL)) {
    throw badRequest(`'expires_after.seconds' must be a whole number of seconds from ${MIN_TTL} to ${MAX_TTL}`);
  }
  if (seconds !== undefined && seconds > max) throw badRequest(`a client secret may live ${max} seconds at most on this gateway ('expires_after.seconds' asked for ${seconds})`);
  const body = seconds === undefined ? Buffer.from(JSON.stringify({ ...o, expires_after: { anchor: 'created_at', seconds: max } })) : Buffer.from(JSON.stringify(o));
  return { model, stream: false, maxTokens: 0, promptTokens: 0, body, knownCost: true, flatUsd: policy.usdPerSecret };
}

/** The most sessions one Gemini Live token may open here (each is billed the flat price). */
const MAX_USES = 20;
/** Model ids as Google names them (as in the Gemini routes' paths). */
const GEMINI_MODEL = /^(?:models\/)?([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
/** How far past the limit a start deadline the client sets may be (its clock and the gateway's differ). */
const CLOCK_SLACK_MS = 5_000;

/**
 * A Gemini Live ephemeral token (what `ai.authTokens.create()` of `@google/genai` sends): locked to
 * a Live model the user may call (`liveConnectConstraints.model`, required, so that the token cannot
 * open sessions with any model), its sessions to start within the policy's lifetime
 * (`newSessionExpireTime`, set to it when absent: Google's own default is a minute), billed the flat
 * price for each session it may open (`uses`, Google's default 1).
 */
export function shapeGeminiLiveToken(o: Record<string, unknown>, policy: RealtimePolicy | undefined, now = Date.now()): ShapedRequest {
  if (policy === undefined) {
    throw new GatewayHttpError(403, 'realtime_disabled', 'this gateway does not mint Gemini Live tokens: its operator can allow them with "realtime": { "usdPerSecret": … } in the config');
  }
  const setup = o.bidiGenerateContentSetup;
  if (!isObject(setup) || typeof setup.model !== 'string') {
    throw badRequest('name the Live model the token is for (liveConnectConstraints.model in the SDK): the gateway checks it, and the token may open sessions with that model only');
  }
  const m = GEMINI_MODEL.exec(setup.model);
  if (m === null) throw badRequest("'bidiGenerateContentSetup.model' must be a Gemini model id, such as models/gemini-live-2.5-flash");
  const uses = o.uses ?? 1;
  if (typeof uses !== 'number' || !Number.isInteger(uses) || uses < 1 || uses > MAX_USES) throw badRequest(`'uses' must be a whole number of sessions from 1 to ${MAX_USES}`);
  const max = policy.maxTtlSeconds ?? DEFAULT_REALTIME_TTL;
  const latest = now + max * 1000;
  let start = o.newSessionExpireTime;
  if (start === undefined) start = new Date(latest).toISOString();
  else {
    const t = typeof start === 'string' ? Date.parse(start) : NaN;
    if (Number.isNaN(t)) throw badRequest("'newSessionExpireTime' must be a time, such as 2026-11-30T12:00:00Z");
    if (t > latest + CLOCK_SLACK_MS) throw badRequest(`a Live token's sessions must start within ${max} seconds on this gateway ('newSessionExpireTime' is ${Math.round((t - now) / 1000)} seconds away)`);
  }
  if (o.expireTime !== undefined && (typeof o.expireTime !== 'string' || Number.isNaN(Date.parse(o.expireTime)))) throw badRequest("'expireTime' must be a time, such as 2026-11-30T12:30:00Z");
  const body = Buffer.from(JSON.stringify({ ...o, uses, newSessionExpireTime: start }));
  return { model: m[1]!, stream: false, maxTokens: 0, promptTokens: 0, body, knownCost: true, flatUsd: policy.usdPerSecret * uses };
}
