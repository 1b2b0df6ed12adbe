/**
 * What a provider keeps for the whole project, through the gateway: OpenAI's and Anthropic's files
 * (`/v1/files`, and OpenAI's uploads in parts: openai-uploads.ts), Gemini's (`/v1beta/files`, uploaded
 * at `/upload/v1beta/files`: gemini-uploads.ts), OpenAI's, Anthropic's and Gemini's batches
 * (`/v1/batches`, `/v1/messages/batches`, `/v1beta/batches`), Gemini's context caches
 * (`/v1beta/cachedContents`: gemini-caches.ts), OpenAI's conversations
 * (`/v1/conversations`) and vector stores (`/v1/vector_stores`); lists are in object-lists.ts. Each
 * call is authenticated and counted like any other; each object is reached by the user who made it
 * alone (batches.ts, and the tags in an OpenAI object's metadata), with the provider key that made it.
 * Creating a batch reads its requests first (batch-lines.ts) and holds their worst case against the
 * budgets.
 */
import type { IncomingMessage } from 'node:http';
import type { UserRecord } from '../store/types.js';
import { geminiFileSummary, readAnthropicBatch, readGeminiBatch, readOpenAiBatch, type BatchReading, type BatchSummary } from './batch-lines.js';
import { ANTHROPIC_BATCH_ROUTE, ANTHROPIC_BATCH_RUN, ANTHROPIC_FILES_ROUTE, FILES_ROUTE, GEMINI_BATCH_RUN, GEMINI_CACHES_ROUTE, GEMINI_FILES_ROUTE, geminiFileName, isFileId, objectCall, OPENAI_BATCH_ROUTE, OPENAI_BATCH_RUN, throughGateway, UPLOADS_ROUTE, type BatchProvider, type ObjectCall, type TaggedKind } from './batches.js';
import type { Cancel } from './cancel.js';
import { endUserId } from './end-user-id.js';
import type { Flight } from './flight.js';
import { geminiCache } from './gemini-caches.js';
import { geminiUpload } from './gemini-uploads.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import { admitted, anthropicHeaders, cancelOnClose, counted, fileTooLarge, jsonAnswer, keyOf, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import { list } from './object-lists.js';
import { openaiUpload } from './openai-uploads.js';
import type { OwnerRecord } from './owners.js';
import { isObject, type ShapedRequest } from './providers/types.js';
import { ownerFromTag, tagOwner } from './response-ownership.js';
import type { Route } from './routes.js';
import { storedObjectsNamed } from './shared-objects.js';
import type { Upstream } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';
import { Upload } from './upload.js';

export type { ObjectRequest, ObjectRoutesGateway } from './object-calls.js';

/** What a file may be for through the gateway: what the routes it serves can use. */
const PURPOSES = new Set(['batch', 'user_data', 'vision']);
export async function handleObjects(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  const call = objectCall(r.path, r.route);
  if (typeof call === 'string') throw new GatewayHttpError(404, 'not_found', call);
  const method = r.req.method ?? 'GET';
  const allowed = allowedMethods(call);
  if (!allowed.includes(method)) throw new GatewayHttpError(405, 'method_not_allowed', `${r.path.slice(0, 100)} takes ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
  const route = call.route;
  if (call.tagged !== undefined) {
    if (call.id !== undefined) return reachTagged(g, r, call, method);
    return method === 'POST' ? createTagged(g, r, call.tagged) : list(g, r, route);
  }
  if (route === GEMINI_CACHES_ROUTE && (call.id !== undefined || method === 'POST')) return geminiCache(g, r, call, method);
  if (call.part === 'upload') return geminiUpload(g, r);
  if (call.route === UPLOADS_ROUTE) return openaiUpload(g, r, call);
  if (call.model !== undefined) return createInlineBatch(g, r, 'gemini', call.model);
  if (call.id === undefined) {
    if (method === 'GET') return list(g, r, route);
    if (route.kind === 'file') return uploadFile(g, r, route);
    return route === OPENAI_BATCH_ROUTE ? createOpenAiBatch(g, r) : createInlineBatch(g, r, 'anthropic');
  }
  return reach(g, r, call, method);
}

/** Whose API a route is. */
function providerOf(route: Route): BatchProvider {
  return route.provider.name as BatchProvider;
}

/** What a file is recorded under: its id, or for a Gemini file its name (`files/{id}`), as requests name it. */
function fileKey(route: Route, id: string): string {
  return route === GEMINI_FILES_ROUTE ? `files/${id}` : id;
}

/** An object's path under its upstream's base URL: Gemini names a method after a colon (`batches/{id}:cancel`, `files/{id}:download`), the others after a slash. */
function objectPath(route: Route, id: string, part: string | undefined): string {
  if (part === undefined) return `${route.upstreamPath}/${id}`;
  if (route.provider.name !== 'gemini') return `${route.upstreamPath}/${id}/${part}`;
  return `${route.upstreamPath}/${id}:${part}${part === 'download' ? '?alt=media' : ''}`;
}

/** Anthropic's headers for a call of its API (its version, the betas the client asked for); none for another's. */
function headersFor(route: Route, req: IncomingMessage): { headers: Record<string, string> } | undefined {
  return route.provider.name === 'anthropic' ? { headers: anthropicHeaders(req) } : undefined;
}

function allowedMethods(call: ObjectCall): string[] {
  if (call.model !== undefined || call.part === 'upload' || call.route === UPLOADS_ROUTE) return ['POST'];
  if (call.tagged !== undefined) return call.id === undefined ? (call.tagged.listed ? ['GET', 'POST'] : ['POST']) : ['GET', 'POST', 'DELETE'];
  if (call.route === GEMINI_CACHES_ROUTE) return call.id === undefined ? ['GET', 'POST'] : ['GET', 'PATCH', 'DELETE'];
  // Gemini's files are made by an upload (`/upload/v1beta/files`), its batches at their model.
  if (call.id === undefined) return call.route.provider.name === 'gemini' ? ['GET'] : ['GET', 'POST'];
  if (call.part === 'cancel') return ['POST'];
  if (call.part !== undefined) return ['GET'];
  return call.route === OPENAI_BATCH_ROUTE ? ['GET'] : ['GET', 'DELETE'];
}


function notYours(call: ObjectCall): GatewayHttpError {
  const what = call.route.kind === 'file' ? 'file' : 'batch';
  return new GatewayHttpError(404, 'not_found', `no ${what} of yours with this id: a ${what} is reached through the gateway by the user it was ${what === 'file' ? 'uploaded' : 'created'} by`);
}

/** Retrieves, cancels, deletes or reads one file or batch, with the key that made it, for its owner alone. */
async function reach(g: ObjectRoutesGateway, r: ObjectRequest, call: ObjectCall, method: string): Promise<void> {
  const id = call.id!;
  const route = call.route;
  const anthropicBatch = route === ANTHROPIC_BATCH_ROUTE;
  const provider = providerOf(route);
  const up = g[provider];
  const cancel = cancelOnClose(r.res);
  // Counted first: a client cannot have the provider asked about id after id, unlimited.
  const f = counted(r, route, up, '-');
  const extra = await admitted(g, r, f, 0, 0, false);
  let key: PoolKey;
  let owner: OwnerRecord | undefined;
  try {
    owner = route.kind === 'file' ? await g.batches.fileOwner(fileKey(route, id)) : await batchOwner(g, id, route, cancel);
    if (owner === undefined || owner.user !== r.caller.user.id) throw notYours(call);
    key = keyOf(up, owner);
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  if (owner.model !== undefined) f.model = owner.model;
  // A batch deleted takes its results with it: one that has ended is billed first, from them.
  if (method === 'DELETE' && route.kind === 'batch' && g.batches.following(provider, id)) await billBeforeDeleting(g, up, key, route, id, owner, r.req, cancel);
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, objectPath(route, id, call.part), cancel, method as 'GET' | 'POST' | 'DELETE', headersFor(route, r.req));
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  if (call.part === 'content' || call.part === 'results' || call.part === 'download') {
    const h = g.headersWith(extra);
    h['content-type'] = String(answer.headers['content-type'] ?? 'application/octet-stream');
    h['x-request-id'] = r.reqId;
    f.status = answer.statusCode;
    return g.pipe(r.res, answer, f, h, cancel);
  }
  const body = await jsonAnswer(g, f, answer, route.provider);
  sendJson(g, r, f, answer.statusCode, anthropicBatch ? forClient(body) : body, extra);
  if (method === 'DELETE') {
    if (route.kind === 'file') g.batches.forgetFile(fileKey(route, id));
    else g.batches.forgetBatch(id);
  } else if (route.kind !== 'file') g.batches.seen(provider, body, owner, up);
  g.finish(f, NOTHING, 'ok', false);
}

/** Asks about a followed batch about to be deleted, and when it has ended, waits for its bill (its results read). */
async function billBeforeDeleting(g: ObjectRoutesGateway, up: Upstream, key: PoolKey, route: Route, id: string, owner: OwnerRecord, req: IncomingMessage, cancel: Cancel): Promise<void> {
  try {
    const state = await up.sendOn(key, objectPath(route, id, undefined), cancel, 'GET', headersFor(route, req));
    const text = await state.body.text(16 * 1024 * 1024, 'fail');
    if (state.statusCode < 300) await g.batches.seen(providerOf(route), Buffer.from(text), owner, up);
  } catch (err) {
    // Deleted all the same: the follower bills it as reserved when it finds it gone.
    g.log.warn({ batchId: id, err }, 'a batch about to be deleted could not be asked about first');
  }
}

/** Whose a batch is: recorded, or (an OpenAI batch the gateway no longer remembers) by the tag in its metadata. */
async function batchOwner(g: ObjectRoutesGateway, id: string, route: Route, cancel: Cancel): Promise<OwnerRecord | undefined> {
  const known = await g.batches.batchOwner(id);
  if (known !== undefined || route !== OPENAI_BATCH_ROUTE) return known;
  const tagged = await taggedOwner(g, `/batches/${id}`, `batch ${id}`, cancel);
  if (tagged !== undefined) g.batches.noteBatch(id, tagged);
  return tagged;
}

/** Whose an OpenAI object is by the tag in its metadata (see ownerFromTag). */
function taggedOwner(g: ObjectRoutesGateway, path: string, what: string, cancel: Cancel): Promise<OwnerRecord | undefined> {
  return ownerFromTag(g.openai, path, what, cancel, (up) => g.answerText(up, g.openai.provider));
}

/** Whose a tagged object (a conversation, a vector store) is: recorded, or by its tag at OpenAI (then recorded). */
export async function taggedObjectOwner(g: ObjectRoutesGateway, kind: TaggedKind, id: string, cancel: Cancel): Promise<OwnerRecord | undefined> {
  const owners = g.tagged(kind);
  const known = await owners.get(id);
  if (known !== undefined) return known;
  const tagged = await taggedOwner(g, `${kind.route.upstreamPath}/${id}`, `${kind.what} ${id}`, cancel);
  if (tagged !== undefined) owners.set(id, tagged);
  return tagged;
}

/**
 * `POST /v1/conversations`, `POST /v1/vector_stores`: an object for the caller alone, tagged with
 * their id as a stored response is; the files its body names must be theirs.
 */
async function createTagged(g: ObjectRoutesGateway, r: ObjectRequest, kind: TaggedKind): Promise<void> {
  const { raw, parsed } = await g.json();
  const body = isObject(parsed) ? parsed : undefined;
  if (body === undefined) throw badRequest('the request body must be a JSON object');
  await g.checkObjects(r.caller, storedObjectsNamed(raw, body));
  const up = g.openai;
  const f = counted(r, kind.route, up, '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  let sent: { res: UpstreamAnswer; key: PoolKey };
  try {
    sent = await up.send(kind.route.upstreamPath, 'POST', { 'content-type': 'application/json', accept: 'application/json' }, tagOwner(raw, body, r.caller.user.id), cancel);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (sent.res.statusCode >= 400) return g.forwardError(f, sent.res, r.res, extra);
  const answer = await jsonAnswer(g, f, sent.res, up.provider);
  const id = jsonObject(answer)?.id;
  if (typeof id === 'string' && kind.id.test(id)) g.tagged(kind).set(id, { user: r.caller.user.id, provider: up.provider.name, key: sent.key.label });
  sendJson(g, r, f, sent.res.statusCode, answer, extra);
  g.finish(f, NOTHING, 'ok', false);
}

/**
 * A tagged object of the caller's: retrieved, changed (its tag kept, whatever metadata the client
 * sends), deleted; what it holds (a conversation's items, a vector store's files and file batches)
 * listed, added (the files named the caller's), read, deleted; a vector store searched. Sent with the
 * key that made it; another user's is a 404.
 */
async function reachTagged(g: ObjectRoutesGateway, r: ObjectRequest, call: ObjectCall, method: string): Promise<void> {
  const kind = call.tagged!;
  const id = call.id!;
  const rest = call.rest ?? '';
  const up = g.openai;
  const cancel = cancelOnClose(r.res);
  let body: Buffer | undefined;
  if (method === 'POST') {
    const { raw, parsed } = await g.json();
    if (!isObject(parsed)) throw badRequest('the request body must be a JSON object');
    await g.checkObjects(r.caller, storedObjectsNamed(raw, parsed));
    body = rest === '' ? tagOwner(raw, parsed, r.caller.user.id) : raw;
  }
  const f = counted(r, kind.route, up, '-');
  // A change or an addition may cost (files indexed, a search): a spent budget refuses it, not a read or a deletion.
  const extra = await admitted(g, r, f, 0, 0, method === 'POST');
  let key: PoolKey;
  try {
    const owner = await taggedObjectOwner(g, kind, id, cancel);
    if (owner === undefined || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', `no ${kind.what} of yours with this id: a ${kind.what} is reached through the gateway by the user it was made for`);
    key = keyOf(up, owner);
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  const params = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(r.query)) if (['limit', 'after', 'before', 'order', 'include', 'include[]', 'filter'].includes(k)) params.append(k, v.slice(0, 256));
  const qs = params.toString();
  const path = `${kind.route.upstreamPath}/${id}${rest}${qs === '' ? '' : `?${qs}`}`;
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, path, cancel, method as 'GET' | 'POST' | 'DELETE', body === undefined ? undefined : { body, type: 'application/json' });
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  sendJson(g, r, f, answer.statusCode, await jsonAnswer(g, f, answer, up.provider), extra);
  if (method === 'DELETE' && rest === '') g.tagged(kind).delete(id);
  g.finish(f, NOTHING, 'ok', false);
}



/** How a batch's requests are read for this user: their models, caps, identifier, and the worst case at batch rates. */
function reading(g: ObjectRoutesGateway, user: UserRecord): BatchReading {
  const budgeted = g.budgeted(user);
  return {
    defaultMaxTokens: g.defaultMaxTokens(),
    cap: g.budgeted(user, true),
    endUser: g.endUserIds ? endUserId(user.id) : undefined,
    userId: user.id,
    allowModel: (model) => {
      g.allowModel(user, model);
      if (budgeted && !g.prices.known(model)) g.unpriced(model);
    },
    worst: (model: string, s: ShapedRequest) => g.prices.cost(model, s.promptTokens, s.maxTokens, s.imageTokens) * g.prices.tierFactor(model, 'batch') + g.prices.toolCost(model, s, s.searchPreview),
  };
}

/**
 * `POST /v1/files`: a file for the caller alone. A batch's input is read request by request first
 * (refused with the line at fault), and goes to OpenAI as the gateway would send each request. An
 * Anthropic file (its Files API takes no purpose) is a document or image for the caller's messages.
 */
async function uploadFile(g: ObjectRoutesGateway, r: ObjectRequest, route: Route): Promise<void> {
  const limit = g.maxFileBytes();
  const raw = await g.body(limit);
  if (raw.length > limit) throw fileTooLarge(limit);
  const anthropicFile = route === ANTHROPIC_FILES_ROUTE;
  const upload = await Upload.read(raw, r.req.headers['content-type'], anthropicFile ? "'file'" : "'file' and 'purpose'");
  const purpose = anthropicFile ? 'user_data' : upload.field('purpose');
  if (purpose === undefined || !PURPOSES.has(purpose)) throw badRequest(`'purpose' must be one of ${[...PURPOSES].join(', ')}: what the gateway's routes use a file for`);
  const file = await upload.file('file', purpose === 'batch' ? "the batch's requests, one JSON object a line" : 'the file');
  let summary: BatchSummary | undefined;
  if (purpose === 'batch') {
    // JSON lines: each line is checked to be JSON once redacted.
    const text = g.promptText(r.caller, FILES_ROUTE, r.reqId, file.bytes.toString('utf8'), false);
    const bytes = text === file.bytes.toString('utf8') ? file.bytes : Buffer.from(text);
    const read = readOpenAiBatch(bytes, reading(g, r.caller.user));
    await g.checkObjects(r.caller, read.objects);
    summary = read.summary;
    if (read.file !== file.bytes) await upload.setFile('file', { ...file, bytes: read.file });
  } else {
    // A document in text (notes, a CSV, code) goes to the provider for the model to read, as a prompt does; a binary one is not read.
    const text = file.bytes.toString('utf8');
    if (!text.includes('\uFFFD') && !text.includes('\0')) {
      const sent = g.promptText(r.caller, route, r.reqId, text, false);
      if (sent !== text) await upload.setFile('file', { ...file, bytes: Buffer.from(sent) });
    }
  }
  const up = anthropicFile ? g.anthropic : g.openai;
  const f = counted(r, route, up, summary?.model ?? '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  let sent: { res: UpstreamAnswer; key: PoolKey };
  try {
    sent = await up.send(route.upstreamPath, 'POST', { 'content-type': upload.contentType, accept: 'application/json', ...headersFor(route, r.req)?.headers }, upload.body, cancel);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (sent.res.statusCode >= 400) return g.forwardError(f, sent.res, r.res, extra);
  const body = await jsonAnswer(g, f, sent.res, up.provider);
  // An answer that is not a file object is relayed as it came; nobody can reach the file through the gateway (logged below).
  const id = jsonObject(body)?.id;
  if (typeof id === 'string' && isFileId(id)) g.batches.noteFile(id, r.caller.user.id, up, sent.key, { batch: summary });
  else g.log.warn({ reqId: r.reqId }, 'an uploaded file came back without an id the gateway knows: nobody can reach it through the gateway');
  sendJson(g, r, f, sent.res.statusCode, body, extra);
  g.finish(f, NOTHING, 'ok', false);
}

/** Refuses a batch whose reservation would not be its worst case: some requests set no cap, and a budget now counts the user. */
function allowSummary(g: ObjectRoutesGateway, user: UserRecord, s: BatchSummary): void {
  g.allowModel(user, s.model);
  if (!g.budgeted(user, true)) return;
  if (s.uncapped > 0) throw badRequest(`${s.uncapped} of the batch's requests set no output cap, and a budget or token limit now counts this user's spend: upload the file again (the gateway caps each request when it reads it)`);
  if (g.budgeted(user) && !g.prices.known(s.model)) g.unpriced(s.model);
}

/** Holds a batch's worst case for as long as it runs; its place among the requests in flight is given back once it is created. */
async function admitBatch(g: ObjectRoutesGateway, r: ObjectRequest, route: Route, up: Upstream, s: BatchSummary): Promise<{ f: Flight; extra: Record<string, string> | undefined }> {
  const f = counted(r, route, up, s.model);
  f.promptTokens = s.promptTokens;
  f.outsideTpm = true;
  const extra = await admitted(g, r, f, s.reserveUsd);
  return { f, extra };
}

/** `POST /v1/batches`: the caller's batch input file, read when it was uploaded, run with the key it was uploaded with. */
async function createOpenAiBatch(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  const { raw, parsed } = await g.json();
  if (!isObject(parsed)) throw badRequest('the request body must be a JSON object');
  const fileId = parsed.input_file_id;
  if (typeof fileId !== 'string' || !fileId.startsWith('file-') || !isFileId(fileId)) throw badRequest("'input_file_id' is required: the id (file-…) of a file uploaded through the gateway with purpose 'batch'");
  const owner = await g.batches.fileOwner(fileId);
  if (owner === undefined || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', `no file of yours with id '${fileId}': upload the batch's input through the gateway (POST /v1/files, purpose 'batch')`);
  const summary = owner.batch;
  if (summary === undefined) throw badRequest(`file '${fileId}' was not uploaded with purpose 'batch', so the gateway has not read its requests`);
  if (parsed.endpoint !== summary.endpoint) throw badRequest(`'endpoint' must be '${summary.endpoint}', the endpoint the file's requests call`);
  allowSummary(g, r.caller.user, summary);
  return createFromFile(g, r, 'openai', keyOf(g.openai, owner), summary, '/batches', tagOwner(raw, parsed, r.caller.user.id));
}

/** A batch whose requests are in a file the caller uploaded: held, then created with the key the file went up with (a provider runs a batch in the project that holds its file). */
async function createFromFile(g: ObjectRoutesGateway, r: ObjectRequest, provider: 'openai' | 'gemini', key: PoolKey, summary: BatchSummary, path: string, body: Buffer): Promise<void> {
  const up = g[provider];
  const { f, extra } = await admitBatch(g, r, provider === 'openai' ? OPENAI_BATCH_RUN : GEMINI_BATCH_RUN, up, summary);
  const cancel = cancelOnClose(r.res);
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, path, cancel, 'POST', { body, type: 'application/json' });
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  return created(g, r, f, extra, provider, up, key, summary, answer);
}

/**
 * A batch whose requests are in its body: `POST /v1/messages/batches` (Anthropic) or
 * `POST /v1beta/models/{model}:batchGenerateContent` (Gemini, inline requests). The requests are read
 * one by one, and the batch runs with the first key that takes it.
 */
async function createInlineBatch(g: ObjectRoutesGateway, r: ObjectRequest, provider: 'anthropic' | 'gemini', model?: string): Promise<void> {
  // Its requests are in the body: as large as a batch file may be.
  const { raw, parsed } = await g.json(g.maxFileBytes());
  const route = provider === 'anthropic' ? ANTHROPIC_BATCH_RUN : GEMINI_BATCH_RUN;
  const text = g.promptText(r.caller, route, r.reqId, raw.toString('utf8'), true);
  const body = text === raw.toString('utf8') ? parsed : JSON.parse(text);
  const fileName = provider === 'gemini' ? geminiInputFile(body) : undefined;
  if (fileName !== undefined) return createGeminiFileBatch(g, r, model!, fileName, Buffer.from(text));
  const read = provider === 'anthropic' ? readAnthropicBatch(body, reading(g, r.caller.user)) : readGeminiBatch(body, model!, reading(g, r.caller.user));
  const objectsKey = await g.checkObjects(r.caller, read.objects);
  allowSummary(g, r.caller.user, read.summary);
  const up = g[provider];
  // Its requests name the caller's file or cache: the batch runs in the project that holds it.
  const pinned = up.pool.byLabel(objectsKey);
  const { f, extra } = await admitBatch(g, r, route, up, read.summary);
  const cancel = cancelOnClose(r.res);
  const path = provider === 'anthropic' ? route.upstreamPath : `/v1beta/models/${model!}:batchGenerateContent`;
  let sent: { res: UpstreamAnswer; key: PoolKey };
  try {
    sent = await up.send(path, 'POST', { 'content-type': 'application/json', accept: 'application/json', ...headersFor(route, r.req)?.headers }, read.body, cancel, 0, false, pinned);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  return created(g, r, f, extra, provider, up, sent.key, read.summary, sent.res);
}

/** The file a Gemini batch names for its requests (`batch.inputConfig.fileName`) when it has no inline ones. */
function geminiInputFile(body: unknown): string | undefined {
  const batch = isObject(body) ? body.batch : undefined;
  const input = isObject(batch) ? batch.inputConfig : undefined;
  if (!isObject(input) || input.fileName === undefined || input.requests !== undefined) return undefined;
  if (typeof input.fileName !== 'string' || geminiFileName(input.fileName) !== input.fileName) throw badRequest("'batch.inputConfig.fileName' must name a file (files/…) uploaded through the gateway");
  return input.fileName;
}

/**
 * `POST /v1beta/models/{model}:batchGenerateContent` from a file: the caller's batch file, whose
 * requests the gateway read as it went up, run for `model`.
 */
async function createGeminiFileBatch(g: ObjectRoutesGateway, r: ObjectRequest, model: string, fileName: string, body: Buffer): Promise<void> {
  const owner = await g.batches.fileOwner(fileName);
  if (owner === undefined || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', `no file of yours named '${fileName}': upload the batch's requests through the gateway (ai.files.upload, mimeType 'jsonl')`);
  if (owner.geminiBatch === undefined) throw badRequest(`file '${fileName}' did not go up as JSON lines (mimeType 'jsonl'), so the gateway has not read its requests`);
  const summary = geminiFileSummary(owner.geminiBatch, model, reading(g, r.caller.user));
  await g.checkObjects(r.caller, owner.geminiBatch.objects);
  if (summary.uncapped > 0 && g.budgeted(r.caller.user, true)) {
    throw badRequest(`${summary.uncapped} of the batch file's requests set no output cap (generationConfig.maxOutputTokens), and a budget or token limit counts this user's spend: the gateway cannot cap a file's requests once it is up, so set a cap on each and upload the file again`);
  }
  // The model was allowed (and an unpriced one warned of) as the summary was made.
  return createFromFile(g, r, 'gemini', keyOf(g.gemini, owner), summary, `/v1beta/models/${model}:batchGenerateContent`, body);
}

async function created(g: ObjectRoutesGateway, r: ObjectRequest, f: Flight, extra: Record<string, string> | undefined, provider: BatchProvider, up: Upstream, key: PoolKey, summary: BatchSummary, answer: UpstreamAnswer): Promise<void> {
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  const body = await jsonAnswer(g, f, answer, up.provider);
  sendJson(g, r, f, answer.statusCode, provider === 'anthropic' ? forClient(body) : body, extra);
  // It runs for hours at the provider, apart from the user's live requests.
  g.release(f);
  if (!g.batches.created(provider, body, f, summary, up, key)) {
    // Not a batch the gateway can follow: billed as reserved now rather than never.
    g.log.warn({ reqId: r.reqId }, 'a batch was created but its answer could not be read: billed as reserved');
    g.finish(f, { tokensIn: summary.promptTokens, tokensOut: summary.maxTokens, serviceTier: 'batch' }, 'ok_estimated', true);
  }
}

/** An Anthropic batch object's answer with its results reached through the gateway (see throughGateway). */
function forClient(body: Buffer): Buffer {
  const o = jsonObject(body);
  return typeof o?.results_url === 'string' ? Buffer.from(JSON.stringify(throughGateway(o))) : body;
}
