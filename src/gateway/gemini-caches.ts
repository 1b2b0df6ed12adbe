/**
 * Gemini's context caches (`/v1beta/cachedContents`): a long prompt (documents, a system
 * instruction, tools) kept at Google for a time, which requests then name (`cachedContent`) and pay
 * the cached rate for. A cache is kept for the whole project its key belongs to, and what it holds is
 * its maker's prompt: through the gateway each is its maker's alone, to read, keep longer, delete,
 * list and name in a request, and it is made and reached with the key of its maker's files.
 *
 * Google bills a cache as it is made (its tokens, at the input rate) and for as long as it is kept
 * (its tokens, by the hour). The gateway counts its tokens first (`countTokens`, a request of its
 * own), holds what it costs for the time asked against the budgets, and bills it from what Google
 * answers: the tokens cached and the time until it expires. Keeping it longer is billed for the
 * time added. What a request that names a cache pays is billed with that request (its cached tokens).
 * A cache deleted or kept shorter is given back the storage it will not use, up to what was billed
 * for its storage that same UTC day (see CacheHeld): a credit, a ledger row of negative cost.
 */
import { GEMINI_CACHES_ROUTE, type ObjectCall } from './batches.js';
import { period } from './budget.js';
import type { Flight } from './flight.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import { admitted, cancelOnClose, counted, jsonAnswer, keyOf, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import type { CacheHeld, OwnerRecord } from './owners.js';
import { isObject } from './providers/types.js';
import type { Route } from './routes.js';
import { storedObjectsNamed } from './shared-objects.js';
import type { UpstreamAnswer } from './upstream-call.js';

/** How long Google keeps a cache when the request says nothing. */
const DEFAULT_TTL_MS = 3_600_000;
const HOUR_MS = 3_600_000;
/** A model as a cache names it: `models/{id}`, or the id alone. */
const CACHE_MODEL = /^(?:models\/)?([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
/** A protobuf Duration in JSON: seconds, with up to nine decimals, and an `s`. */
const DURATION = /^(\d{1,12})(?:\.(\d{1,9}))?s$/;
/** An RFC 3339 timestamp, as Google takes `expireTime`. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** One call on the context caches: made, listed elsewhere (object-lists.ts), or one of them read, kept longer or deleted. */
export async function geminiCache(g: ObjectRoutesGateway, r: ObjectRequest, call: ObjectCall, method: string): Promise<void> {
  if (call.id === undefined) return create(g, r);
  return reach(g, r, `cachedContents/${call.id}`, method);
}

/** When a cache asked for with this body expires: its `ttl` from now, its `expireTime`, or Google's default hour. */
export function expiryAsked(body: Record<string, unknown>, now: number, required = false): number {
  const { ttl, expireTime } = body;
  if (ttl !== undefined && expireTime !== undefined) throw badRequest("give a cache's 'ttl' or its 'expireTime', not both");
  if (ttl !== undefined) {
    const m = typeof ttl === 'string' ? DURATION.exec(ttl) : null;
    if (m === null) throw badRequest(`'ttl' must be a duration in seconds, as "3600s" or "90.5s"`);
    return now + Number(m[1]) * 1000 + Math.ceil(Number(`0.${m[2] ?? '0'}`) * 1000);
  }
  if (expireTime !== undefined) {
    const at = typeof expireTime === 'string' && TIMESTAMP.test(expireTime) ? Date.parse(expireTime) : NaN;
    if (!Number.isFinite(at)) throw badRequest(`'expireTime' must be a timestamp as RFC 3339 writes it, as "2026-12-01T09:00:00Z"`);
    if (at <= now) throw badRequest("'expireTime' must be in the future");
    return at;
  }
  if (required) throw badRequest("keeping a cache longer takes its new 'ttl' (as \"3600s\") or 'expireTime'");
  return now + DEFAULT_TTL_MS;
}

/** When a cache Google answered with expires, in ms; undefined when the answer does not say. */
function expiryOf(cache: Record<string, unknown> | undefined): number | undefined {
  const at = typeof cache?.expireTime === 'string' ? Date.parse(cache.expireTime) : NaN;
  return Number.isFinite(at) ? at : undefined;
}

/** The tokens a cache Google answered with holds. */
function tokensOf(cache: Record<string, unknown> | undefined): number | undefined {
  const meta = cache?.usageMetadata;
  const n = isObject(meta) ? meta.totalTokenCount : undefined;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A flight for a call that holds `usd` against the budgets (and counts `tokens` per minute), billed a flat sum when settled; `spends` false for a call a spent budget lets through (see plan). */
async function held(g: ObjectRoutesGateway, r: ObjectRequest, route: Route, model: string, tokens: number, usd: number, spends = true): Promise<{ f: Flight; extra: Record<string, string> | undefined }> {
  const f = counted(r, route, g.gemini, model);
  f.promptTokens = tokens;
  return { f, extra: await admitted(g, r, f, usd, tokens, spends) };
}

/**
 * `POST /v1beta/cachedContents`: its model allowed to the caller, its text held to the prompt secrets
 * policy, the files it names the caller's; its tokens counted, what it costs for the time asked held,
 * then made with its files' key, and recorded as the caller's.
 */
async function create(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  const { raw: given, parsed } = await g.json();
  if (!isObject(parsed)) throw badRequest('the request body must be a JSON object: {"model", "contents", "systemInstruction", "ttl"}');
  const m = typeof parsed.model === 'string' ? CACHE_MODEL.exec(parsed.model) : null;
  if (m === null) throw badRequest("'model' must name the model the cache is for, as \"models/gemini-2.5-flash\"");
  const model = m[1]!;
  const until = expiryAsked(parsed, Date.now());
  g.allowModel(r.caller.user, model);
  const original = given.toString('utf8');
  const text = g.promptText(r.caller, GEMINI_CACHES_ROUTE, r.reqId, original, true);
  // Redacted under the policy: the cache holds the redacted text.
  const raw = text === original ? given : Buffer.from(text);
  const body = text === original ? parsed : (JSON.parse(text) as Record<string, unknown>);
  // The files it names are the caller's, and it is made with the key they went up with: a cache and its files are one project's.
  const filesKey = await g.checkObjects(r.caller, storedObjectsNamed(raw, body));
  const up = g.gemini;
  const pinned = filesKey === undefined ? undefined : keyOf(up, { key: filesKey });
  up.requireKeys();
  const cancel = cancelOnClose(r.res);

  // Its tokens, counted by Google: what it holds (files, inline media) is known in tokens only there.
  const countRoute: Route = { kind: 'count', method: 'POST', provider: GEMINI_CACHES_ROUTE.provider, upstreamPath: `/v1beta/models/${model}:countTokens` };
  const c = await held(g, r, countRoute, model, 0, 0);
  const asked: Record<string, unknown> = { model: `models/${model}` };
  for (const k of ['contents', 'systemInstruction', 'tools', 'toolConfig'] as const) if (body[k] !== undefined) asked[k] = body[k];
  const countBody = Buffer.from(JSON.stringify({ generateContentRequest: asked }));
  let counted: UpstreamAnswer;
  let key: PoolKey;
  try {
    if (pinned !== undefined) {
      key = pinned;
      counted = await up.sendOn(pinned, countRoute.upstreamPath, cancel, 'POST', { body: countBody, type: 'application/json' });
    } else {
      const sent = await up.send(countRoute.upstreamPath, 'POST', { 'content-type': 'application/json', accept: 'application/json' }, countBody, cancel);
      counted = sent.res;
      key = sent.key;
    }
  } catch (err) {
    throw unreachable(g, c.f, r.res, up, err);
  }
  if (counted.statusCode >= 400) return g.forwardError(c.f, counted, r.res, c.extra);
  const total = jsonObject(await jsonAnswer(g, c.f, counted, up.provider))?.totalTokens;
  c.f.status = counted.statusCode;
  g.finish(c.f, NOTHING, 'ok', false);
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) throw new GatewayHttpError(502, 'upstream_error', "Google's count of the cache's tokens came back without a number: the cache was not made");

  const { f, extra } = await held(g, r, GEMINI_CACHES_ROUTE, model, total, g.prices.cacheCost(model, total, (until - Date.now()) / HOUR_MS, true));
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, GEMINI_CACHES_ROUTE.upstreamPath, cancel, 'POST', { body: raw, type: 'application/json' });
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  const out = await jsonAnswer(g, f, answer, up.provider);
  const cache = jsonObject(out);
  const tokens = tokensOf(cache) ?? total;
  const expires = expiryOf(cache) ?? until;
  const name = cache?.name;
  if (typeof name === 'string' && name.startsWith('cachedContents/')) {
    const storage = g.prices.cacheCost(model, tokens, (expires - Date.now()) / HOUR_MS, false);
    g.caches.set(name, { user: r.caller.user.id, provider: up.provider.name, key: key.label, model, cache: { tokens, expires, day: today(), dayUsd: storage } }, expires - Date.now());
  } else g.log.warn({ reqId: r.reqId }, 'a context cache came back without a name the gateway knows: nobody can reach it through the gateway');
  f.flatUsd = g.prices.cacheCost(model, tokens, (expires - Date.now()) / HOUR_MS, true);
  sendJson(g, r, f, answer.statusCode, out, extra);
  g.finish(f, { tokensIn: tokens, tokensOut: 0 }, 'ok', true);
}

/** One of the caller's caches: read, kept longer (the time added billed), or deleted; with the key that made it. Anyone else's is a 404. */
async function reach(g: ObjectRoutesGateway, r: ObjectRequest, name: string, method: string): Promise<void> {
  const up = g.gemini;
  let body: Buffer | undefined;
  let until: number | undefined;
  if (method === 'PATCH') {
    const { raw, parsed } = await g.json();
    if (!isObject(parsed)) throw badRequest('the request body must be a JSON object: {"ttl"} or {"expireTime"}');
    until = expiryAsked(parsed, Date.now(), true);
    body = raw;
  }
  const query = method === 'PATCH' ? updateMask(r.query) : '';
  const cancel = cancelOnClose(r.res);
  // Counted first: a client cannot have Google asked about cache after cache, unlimited.
  // Read where every instance writes it: another may have kept it longer (or shorter) since this one last saw it.
  const was = await g.caches.get(name, true);
  const owner: OwnerRecord | undefined = was !== undefined && was.user === r.caller.user.id ? was : undefined;
  const held0 = owner?.cache;
  const model = owner?.model ?? '-';
  // Kept longer: the time past what was held already, at the cache's storage rate.
  const added = until !== undefined && held0 !== undefined ? g.prices.cacheCost(model, held0.tokens, (until - Math.max(held0.expires, Date.now())) / HOUR_MS, false) : 0;
  // Read, kept shorter or deleted: nothing added to what the caller owes, so a spent budget lets it through.
  const { f, extra } = await held(g, r, GEMINI_CACHES_ROUTE, model, 0, added, added > 0);
  let key: PoolKey;
  try {
    if (owner === undefined) throw new GatewayHttpError(404, 'not_found', 'no context cache of yours with this name: a cache is reached through the gateway by the user who made it');
    key = keyOf(up, owner);
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, `/v1beta/${name}${query}`, cancel, method as 'GET' | 'PATCH' | 'DELETE', body !== undefined ? { body, type: 'application/json' } : undefined);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) {
    // Gone at Google (expired, or deleted there): forgotten here too.
    if (answer.statusCode === 404) g.caches.delete(name);
    return g.forwardError(f, answer, r.res, extra);
  }
  const out = await jsonAnswer(g, f, answer, up.provider);
  let usd = 0;
  if (method === 'DELETE') {
    g.caches.delete(name);
    if (held0 !== undefined) usd = -ended(g, model, held0, Date.now()).credit;
  } else if (method === 'PATCH' && held0 !== undefined) {
    const cache = jsonObject(out);
    const expires = expiryOf(cache) ?? until!;
    const tokens = tokensOf(cache) ?? held0.tokens;
    const now = Date.now();
    let kept: CacheHeld;
    if (expires >= held0.expires) {
      usd = g.prices.cacheCost(model, tokens, (expires - Math.max(held0.expires, now)) / HOUR_MS, false);
      kept = { tokens, expires, day: today(), dayUsd: billedToday(held0) + usd };
    } else {
      const back = ended(g, model, held0, expires);
      usd = -back.credit;
      kept = back.left;
    }
    g.caches.set(name, { ...owner, cache: kept }, expires - now);
  }
  f.flatUsd = usd;
  sendJson(g, r, f, answer.statusCode, out, extra);
  g.finish(f, NOTHING, usd < 0 ? 'credit' : 'ok', usd !== 0);
}

function today(): string {
  return period('day').key;
}

/** What a cache's storage was billed today (nothing when it was last billed on an earlier day). */
function billedToday(held: CacheHeld): number {
  return held.day === today() ? (held.dayUsd ?? 0) : 0;
}

/**
 * A cache ended at `end` (deleted now, or kept shorter), before the time billed for it ran out: the
 * storage it will not use, given back up to what its storage was billed today, and what is then held
 * as billed (the end of the time paid for moves back as far as the credit pays for).
 */
function ended(g: ObjectRoutesGateway, model: string, held: CacheHeld, end: number): { credit: number; left: CacheHeld } {
  const from = Math.max(end, Date.now());
  const unused = from < held.expires ? g.prices.cacheCost(model, held.tokens, (held.expires - from) / HOUR_MS, false) : 0;
  const billed = billedToday(held);
  const credit = Math.min(unused, billed);
  if (credit <= 0) return { credit: 0, left: held };
  const expires = Math.round(held.expires - (held.expires - from) * (credit / unused));
  return { credit, left: { tokens: held.tokens, expires, day: today(), dayUsd: billed - credit } };
}

/** The `updateMask` a client sent with a change (`ttl`, `expireTime`), and nothing else of its query. */
function updateMask(query: string): string {
  const mask = new URLSearchParams(query).get('updateMask');
  if (mask === null) return '';
  if (!/^(?:ttl|expireTime|expire_time)$/.test(mask)) throw badRequest("a cache's 'updateMask' may name 'ttl' or 'expireTime' alone: nothing else of a cache changes");
  return `?updateMask=${mask}`;
}
