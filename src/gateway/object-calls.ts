/**
 * What every call on a provider's stored objects (files and uploads, batches, conversations, vector
 * stores) does the same way: what it needs of the gateway, the flight that counts it as a request and
 * bills nothing, the upstream's answer read or relayed, and the clear errors when either side fails.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserRecord } from '../store/types.js';
import type { Caller } from './auth.js';
import type { Batches, TaggedKind } from './batches.js';
import { Cancel } from './cancel.js';
import type { Admission, Flight } from './flight.js';
import { GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import type { Logger } from './logger.js';
import type { OwnerRecord, Owners } from './owners.js';
import { ANTHROPIC_VERSION } from './providers/anthropic.js';
import type { Prices } from './providers/prices.js';
import type { Provider, Usage } from './providers/types.js';
import type { Route } from './routes.js';
import type { Upstream } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';

export const JSON_TYPE = 'application/json; charset=utf-8';

export interface ObjectRoutesGateway {
  readonly batches: Batches;
  /** Whose each conversation, each vector store is. */
  tagged(kind: TaggedKind): Owners;
  /** Whose each Gemini context cache is, what it holds and until when it was billed. */
  readonly caches: Owners;
  readonly openai: Upstream;
  readonly anthropic: Upstream;
  readonly gemini: Upstream;
  readonly prices: Prices;
  readonly log: Logger;
  readonly endUserIds: boolean;
  defaultMaxTokens(): number;
  /** The largest file upload accepted, in bytes. */
  maxFileBytes(): number;
  /** `spends` false: a call that adds nothing to what the caller owes, which a spent budget does not refuse (see plan). */
  admit(f: Flight, req: IncomingMessage, reserveTokens: number, reserveUsd: number, spends?: boolean): Admission | Promise<Admission>;
  finish(f: Flight, usage: Usage, outcome: string, billed: boolean, last?: boolean): void;
  /** Gives back a flight's place among the requests in flight before it is settled. */
  release(f: Flight): void;
  /** Relays an upstream's error answer (scrubbed) and settles the flight. */
  forwardError(f: Flight, up: UpstreamAnswer, res: ServerResponse, extra: Record<string, string> | undefined): Promise<void>;
  answerText(up: UpstreamAnswer, provider: Provider<string>): Promise<string>;
  headersWith(extra?: Record<string, string>): Record<string, string>;
  /** Passes a body through to the client as it comes (a file's content, a batch's results). */
  pipe(res: ServerResponse, up: UpstreamAnswer, f: Flight, headers: Record<string, string>, cancel: Cancel): void;
  allowModel(user: UserRecord, model: string): void;
  /** True when a budget counts the user's spend; `tpm` too: a budget or a tokens-per-minute limit. */
  budgeted(user: UserRecord, tpm?: boolean): boolean;
  /** Warns once that a budgeted model has no price (it is billed at the fallback). */
  unpriced(model: string): void;
  /** Refuses a request that names a stored object that is neither the caller's nor shared; the label of the key that made the caller's own. */
  checkObjects(caller: Caller, ids: string[]): Promise<string | undefined>;
  /** The text of a request under the gateway's prompt secrets policy: as it came, redacted, or refused (`json`: it must stay one JSON value). */
  promptText(caller: Caller, route: Route, reqId: string, text: string, json: boolean): string;
  /** The request's body: read (up to `limit` bytes), or what a framework in front already read. */
  body(limit: number): Promise<Buffer>;
  /** The JSON request body, parsed; up to `limit` bytes (default: the gateway's limit on a request body). */
  json(limit?: number): Promise<{ raw: Buffer; parsed: unknown }>;
  tagOf(req: IncomingMessage): string | undefined;
}

export interface ObjectRequest {
  req: IncomingMessage;
  res: ServerResponse;
  reqId: string;
  start: number;
  caller: Caller;
  cors: Record<string, string> | undefined;
  path: string;
  query: string;
  /** The API the path belongs to (objectRoute's). */
  route: Route;
}


/** A flight for a call counted as a request and billed nothing. */
export function counted(r: ObjectRequest, route: Route, up: Upstream, model: string): Flight {
  return { reqId: r.reqId, start: r.start, caller: r.caller, route, provider: route.provider, upstream: up.provider.name, model, promptTokens: 0, status: 0, settled: false };
}

/**
 * Admits the flight's caller, holding `reserveUsd` against the budgets and `reserveTokens` against
 * the tokens per minute; the headers its answer carries. `spends` false: a read, list, cancel or
 * delete, which a spent budget lets through.
 */
export async function admitted(g: ObjectRoutesGateway, r: ObjectRequest, f: Flight, reserveUsd = 0, reserveTokens = 0, spends = true): Promise<Record<string, string> | undefined> {
  f.tag = g.tagOf(r.req);
  const a = g.admit(f, r.req, reserveTokens, reserveUsd, spends);
  const { admitted, headers } = a instanceof Promise ? await a : a;
  f.admitted = admitted;
  return headers || r.cors ? Object.assign({}, headers, r.cors) : undefined;
}

export function cancelOnClose(res: ServerResponse): Cancel {
  const cancel = new Cancel();
  res.once('close', () => {
    if (!res.writableFinished) cancel.abort();
  });
  return cancel;
}

export const NOTHING = { tokensIn: 0, tokensOut: 0 };

/** The upstream could not be reached: the flight settled, and a clear error. */
export function unreachable(g: ObjectRoutesGateway, f: Flight, res: ServerResponse, up: Upstream, err: unknown): GatewayHttpError {
  f.status = 502;
  g.finish(f, NOTHING, res.destroyed ? 'client_disconnect' : 'upstream_failed', false, false);
  if (err instanceof GatewayHttpError) return err;
  return (err as { name?: string }).name === 'AbortError' ? new GatewayHttpError(499, 'client_disconnect', 'the client left') : new GatewayHttpError(502, 'upstream_error', `${up.provider.name} could not be reached (${(err as { code?: string }).code ?? 'error'})`);
}

/** A JSON answer read whole; the flight settled when it cannot be. */
export async function jsonAnswer(g: ObjectRoutesGateway, f: Flight, up: UpstreamAnswer, provider: Provider<string>): Promise<Buffer> {
  try {
    return Buffer.from(await g.answerText(up, provider));
  } catch (err) {
    f.status = 502;
    g.finish(f, NOTHING, 'upstream_reset', false, false);
    throw err;
  }
}

export function sendJson(g: ObjectRoutesGateway, r: ObjectRequest, f: Flight, status: number, body: Buffer, extra: Record<string, string> | undefined): void {
  const h = g.headersWith(extra);
  h['content-type'] = JSON_TYPE;
  h['content-length'] = String(body.length);
  h['x-request-id'] = r.reqId;
  f.status = status;
  r.res.writeHead(status, h);
  r.res.end(body);
}
/** The key that made what `owner` records; a 502 when the pool no longer holds it. */
export function keyOf(up: Upstream, owner: Pick<OwnerRecord, 'key'>): PoolKey {
  const key = up.pool.byLabel(owner.key);
  if (key === undefined) throw new GatewayHttpError(502, 'upstream_error', `it was made with a provider key this gateway does not hold (${owner.key}); give every instance the same keys`);
  return key;
}

/** An upstream's answer that must be a JSON object; a 502 saying so when it is not. */
export function answerJson(text: string, up: Upstream): Record<string, unknown> {
  const o = jsonObject(text);
  if (o === undefined) throw new GatewayHttpError(502, 'upstream_error', `${up.provider.name} answered with something that is not a JSON object`);
  return o;
}

/** Anthropic's headers for a call of its API: the version and betas the client asked for. */
export function anthropicHeaders(req: IncomingMessage): Record<string, string> {
  const v = req.headers['anthropic-version'];
  const beta = req.headers['anthropic-beta'];
  return { 'anthropic-version': typeof v === 'string' ? v : ANTHROPIC_VERSION, ...(typeof beta === 'string' ? { 'anthropic-beta': beta } : {}) };
}

/** A file larger than `maxFileBytes`. */
export function fileTooLarge(limit: number): GatewayHttpError {
  return new GatewayHttpError(413, 'request_too_large', `the file is larger than the gateway accepts (${limit} bytes; "maxFileBytes" in the config)`);
}

/** A flight refused after it was counted: settled with the refusal's status. */
export function refused(g: ObjectRoutesGateway, f: Flight, err: unknown): void {
  f.status = err instanceof GatewayHttpError ? err.status : 502;
  g.finish(f, NOTHING, 'refused', false, false);
}

/**
 * A part of a file whose size was declared before its bytes came (a resumable or multipart upload),
 * held to the prompt secrets policy when it is text (a binary one is not read). A redaction would
 * change the declared size, so a secret refuses the part whatever the policy. True when the part was
 * read as text: its ends may then be read again with the parts next to it.
 */
export function noSecretsInPart(g: ObjectRoutesGateway, r: ObjectRequest, route: Route, raw: Buffer): boolean {
  const text = raw.toString('utf8');
  if (raw.length === 0 || text.includes('\uFFFD') || text.includes('\0')) return false;
  if (g.promptText(r.caller, route, r.reqId, text, false) !== text) {
    throw new GatewayHttpError(400, 'secret_in_prompt', 'the file carries a secret, which the gateway cannot redact in an upload whose size was declared at its start: take the secret out and upload the file again');
  }
  return true;
}

/**
 * The end of one text part and the start of the part that follows it in the file, read as one under
 * the same policy: a secret cut between two parts, each of which was read clean on its own.
 */
export function noSecretAcrossParts(g: ObjectRoutesGateway, r: ObjectRequest, route: Route, before: Buffer, after: Buffer): void {
  try {
    noSecretsInPart(g, r, route, Buffer.concat([before, after]));
  } catch (err) {
    // The refusal says where the secret is (no part alone holds it), then what the policy said: under `block`, what was found.
    if (err instanceof GatewayHttpError && err.type === 'secret_in_prompt') {
      throw new GatewayHttpError(400, 'secret_in_prompt', `a secret spans two of the file's parts (the end of one and the start of the next, in the order of 'part_ids'): ${err.message}`);
    }
    throw err;
  }
}
