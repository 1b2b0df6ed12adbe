/**
 * Gemini's Files API uploads (`/upload/v1beta/files`), in the resumable protocol Google's SDKs use:
 * a `start` declares the file's size and type and opens a session at Google, whose URL names it
 * (`upload_id`); each later call sends bytes at an offset into that URL, the last one with `finalize`,
 * which answers with the file (`files/{id}`).
 *
 * Through the gateway, the session is opened with one of the gateway's keys and answered with an
 * upload URL on the gateway, never Google's: the bytes then come through the gateway too, held to
 * `maxFileBytes` and the prompt secrets policy, and go on with the key that opened the session, for the
 * user who opened it alone. The finished file is its uploader's (batches.ts records it under its name),
 * so only they may retrieve, delete or name it in a request.
 */
import type { IncomingMessage } from 'node:http';
import { emptyGeminiFile, isJsonLines, readGeminiFile, type GeminiFileRead } from './batch-lines.js';
import { GEMINI_FILES_ROUTE, GEMINI_UPLOAD_PATH, geminiFileName } from './batches.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import { admitted, cancelOnClose, counted, fileTooLarge, jsonAnswer, keyOf, noSecretsInPart, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import type { OwnerRecord, UploadTail } from './owners.js';
import { isObject } from './providers/types.js';
import type { UpstreamAnswer } from './upstream-call.js';
import { lastBytes, withoutCutEnd } from './utf8-cuts.js';

/** The commands of Google's resumable protocol that continue a session (a start opens one). */
const COMMANDS = new Set(['upload', 'finalize', 'query', 'cancel']);
/** A session id as Google makes them (long, URL-safe). */
const SESSION_ID = /^[A-Za-z0-9_-]{1,512}$/;
/** What an upload's answers tell the client of the session, passed on as they came. */
const SESSION_HEADERS = ['x-goog-upload-status', 'x-goog-upload-size-received', 'x-goog-upload-chunk-granularity'];
const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/;

export async function geminiUpload(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  const commands = String(r.req.headers['x-goog-upload-command'] ?? '')
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (commands.length === 1 && commands[0] === 'start') return start(g, r);
  if (commands.length === 0 || !commands.every((c) => COMMANDS.has(c))) {
    throw badRequest("X-Goog-Upload-Command must be 'start', then 'upload', 'upload, finalize', 'finalize', 'query' or 'cancel': the gateway takes Gemini files in resumable uploads, as Google's SDKs send them");
  }
  return proceed(g, r, commands);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Opens a session at Google for a file of the declared size; the client is given an upload URL on the gateway. */
async function start(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  if (header(r.req, 'x-goog-upload-protocol')?.toLowerCase() !== 'resumable') {
    throw badRequest("the gateway takes Gemini uploads in the resumable protocol (X-Goog-Upload-Protocol: resumable), as Google's SDKs send them");
  }
  const declared = Number(header(r.req, 'x-goog-upload-header-content-length') ?? NaN);
  if (!Number.isSafeInteger(declared) || declared < 1) throw badRequest("X-Goog-Upload-Header-Content-Length must give the file's size in bytes");
  const limit = g.maxFileBytes();
  if (declared > limit) throw fileTooLarge(limit);
  const type = header(r.req, 'x-goog-upload-header-content-type') ?? 'application/octet-stream';
  const { raw, parsed } = await g.json();
  if (!isObject(parsed)) throw badRequest("the body of an upload's start must be a JSON object: the file's metadata ({\"file\": {\"displayName\": …}})");
  const up = g.gemini;
  const f = counted(r, GEMINI_FILES_ROUTE, up, '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  const headers = { 'content-type': 'application/json', accept: 'application/json', 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': String(declared), 'x-goog-upload-header-content-type': type };
  let sent: { res: UpstreamAnswer; key: PoolKey };
  try {
    sent = await up.send(GEMINI_UPLOAD_PATH, 'POST', headers, raw, cancel);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (sent.res.statusCode >= 400) return g.forwardError(f, sent.res, r.res, extra);
  const body = await jsonAnswer(g, f, sent.res, up.provider);
  const session = sessionOf(sent.res.headers['x-goog-upload-url']);
  if (session === undefined) {
    f.status = 502;
    g.finish(f, NOTHING, 'upstream_error', false, false);
    throw new GatewayHttpError(502, 'upstream_error', 'Gemini opened no upload session: its answer named no upload URL (X-Goog-Upload-URL)');
  }
  // JSON lines are a batch's requests: read as they go up, so that a batch can run them.
  const lines = isJsonLines(type) ? { lines: emptyGeminiFile() } : {};
  g.batches.noteUpload(session.id, { user: r.caller.user.id, provider: up.provider.name, key: sent.key.label, upload: { path: session.path, bytes: declared, type, ...lines } });
  const h: Record<string, string> = { ...extra, 'x-goog-upload-url': uploadUrl(r.req, session.id), 'x-goog-upload-status': 'active' };
  passOn(sent.res, h, r);
  sendJson(g, r, f, sent.res.statusCode, body, h);
  g.finish(f, NOTHING, 'ok', false);
}

/** Sends bytes into the caller's session (or asks how far it got, or cancels it), with the key that opened it. */
async function proceed(g: ObjectRoutesGateway, r: ObjectRequest, commands: string[]): Promise<void> {
  const sessionId = new URLSearchParams(r.query).get('upload_id');
  if (sessionId === null || !SESSION_ID.test(sessionId)) throw badRequest("an upload's bytes go to the URL its start was answered with (X-Goog-Upload-URL), which names its session (upload_id)");
  const sending = commands.includes('upload');
  const offset = Number(header(r.req, 'x-goog-upload-offset') ?? NaN);
  if (sending && (!Number.isSafeInteger(offset) || offset < 0)) throw badRequest('X-Goog-Upload-Offset must give where in the file these bytes go');
  const up = g.gemini;
  // Counted first: a client cannot have session after session looked up, unlimited.
  const f = counted(r, GEMINI_FILES_ROUTE, up, '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  let key: PoolKey;
  let owner: OwnerRecord | undefined;
  let body: Buffer | undefined;
  let read: GeminiFileRead | undefined;
  try {
    owner = await g.batches.uploadOwner(sessionId);
    if (owner?.upload === undefined || owner.provider !== up.provider.name || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', 'no upload of yours with this upload_id: an upload is continued through the gateway by the user who started it, within a week');
    key = keyOf(up, owner);
    if (sending) body = await bytesAt(g, r, offset, owner.upload.bytes, owner.upload.tail);
    // A batch file's lines are read before they go on: a line at fault refuses its chunk, and the file's requests may name only the user's own files.
    const lines = owner.upload.lines;
    if (lines !== undefined && (body !== undefined || commands.includes('finalize'))) {
      read = readGeminiFile(lines, unread(lines, body, offset), commands.includes('finalize'), g.defaultMaxTokens());
      await g.checkObjects(r.caller, read.objects.filter((id) => !lines.objects.includes(id)));
    }
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  const headers: Record<string, string> = { 'x-goog-upload-command': commands.join(', ') };
  if (sending) headers['x-goog-upload-offset'] = String(offset);
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, owner.upload.path, cancel, 'POST', { headers, body: body ?? Buffer.alloc(0) });
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  const text = await jsonAnswer(g, f, answer, up.provider);
  const status = answer.headers['x-goog-upload-status'];
  if (status === 'final') {
    const file = jsonObject(text)?.file;
    const name = isObject(file) && typeof file.name === 'string' && geminiFileName(file.name) === file.name ? file.name : undefined;
    if (name !== undefined) g.batches.noteFile(name, r.caller.user.id, up, key, { geminiBatch: read });
    else g.log.warn({ reqId: r.reqId }, 'a finished Gemini upload came back without a file name the gateway knows: nobody can reach it through the gateway');
  }
  if (status === 'final' || status === 'cancelled') g.batches.forgetUpload(sessionId);
  else if (status === 'active' && body !== undefined) {
    g.batches.noteUpload(sessionId, { ...owner, upload: { ...owner.upload, ...(read !== undefined ? { lines: read } : {}), tail: tailAfter(owner.upload.tail, body, offset) } });
  }
  const h: Record<string, string> = { ...extra };
  passOn(answer, h, r);
  sendJson(g, r, f, answer.statusCode, text, h);
  g.finish(f, NOTHING, 'ok', false);
}

/**
 * The bytes a call sends at `offset`, none past the size declared at the start, a text document held
 * to the prompt secrets policy with the end of the chunk before it (a secret cut between two chunks).
 */
async function bytesAt(g: ObjectRoutesGateway, r: ObjectRequest, offset: number, declared: number, tail: UploadTail | undefined): Promise<Buffer> {
  const raw = await g.body(g.maxFileBytes());
  if (offset + raw.length > declared) throw badRequest(`these bytes would end at ${offset + raw.length}, past the ${declared} bytes the upload declared when it started (X-Goog-Upload-Header-Content-Length)`);
  const before = tailBefore(tail, offset);
  // A chunk ends where the client cut it, often inside a character: what is cut off is read with the next chunk.
  noSecretsInPart(g, r, GEMINI_FILES_ROUTE, withoutCutEnd(before.length === 0 ? raw : Buffer.concat([before, raw])));
  return raw;
}

/** Bytes kept of the end of each chunk: longer than any secret the rules find on one line, a private key's block included. */
const TAIL_BYTES = 4096;

/** The kept bytes that come just before `offset` in the file (none when the upload took others since, or nothing yet). */
function tailBefore(tail: UploadTail | undefined, offset: number): Buffer {
  if (tail === undefined || offset > tail.end) return Buffer.alloc(0);
  const bytes = Buffer.from(tail.bytes, 'base64');
  return bytes.subarray(0, Math.max(0, bytes.length - (tail.end - offset)));
}

/** What is kept after a chunk taken at `offset`: the last bytes of the file so far. */
function tailAfter(tail: UploadTail | undefined, body: Buffer, offset: number): UploadTail {
  const all = Buffer.concat([tailBefore(tail, offset), body]);
  return { bytes: lastBytes(all, TAIL_BYTES).toString('base64'), end: offset + body.length };
}

/**
 * The bytes of a batch file's chunk not read yet: a client that did not hear the answer to a chunk
 * sends it again at the same offset, and the lines it holds were read the first time.
 */
function unread(read: GeminiFileRead, body: Buffer | undefined, offset: number): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (offset > read.bytes) throw badRequest(`these bytes start at ${offset}, but the upload holds ${read.bytes}: send the file's bytes in order`);
  return body.subarray(Math.min(body.length, read.bytes - offset));
}

/** What Google tells of a session (its status, the bytes it has) goes to the client; a browser may read it when CORS lets it call. */
function passOn(answer: UpstreamAnswer, h: Record<string, string>, r: ObjectRequest): void {
  for (const name of SESSION_HEADERS) {
    const v = answer.headers[name];
    if (typeof v === 'string') h[name] = v;
  }
  if (r.cors !== undefined) h['access-control-expose-headers'] = ['x-goog-upload-url', ...SESSION_HEADERS].join(', ');
}

/**
 * The session Google's upload URL names, and the path (with its query) the bytes go to. Only the
 * path is kept: the bytes go to the configured Gemini origin, with its key, never to a host an
 * answer names.
 */
function sessionOf(v: string | string[] | undefined): { id: string; path: string } | undefined {
  if (typeof v !== 'string') return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return undefined;
  }
  const id = u.searchParams.get('upload_id');
  if (u.pathname !== GEMINI_UPLOAD_PATH || id === null || !SESSION_ID.test(id)) return undefined;
  return { id, path: u.pathname + u.search };
}

/**
 * The session's upload URL on the gateway, as the client reached it: Google's SDK keeps its own base
 * URL's scheme and host and takes the path and query from this; a client that uses it as given reaches
 * the gateway the way it did (a proxy in front says how in X-Forwarded-Proto and -Host). Mounted under
 * a prefix (Express), the prefix stays in the path.
 */
function uploadUrl(req: IncomingMessage, sessionId: string): string {
  const forwardedProto = header(req, 'x-forwarded-proto')?.split(',')[0]!.trim();
  const proto = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const forwardedHost = header(req, 'x-forwarded-host')?.split(',')[0]!.trim();
  const host = [forwardedHost, header(req, 'host')].find((h) => h !== undefined && HOST.test(h)) ?? 'localhost';
  const original = (req as { originalUrl?: unknown }).originalUrl;
  const url = req.url ?? '';
  const prefix = typeof original === 'string' && original.endsWith(url) ? original.slice(0, original.length - url.length) : '';
  return `${proto}://${host}${prefix}${GEMINI_UPLOAD_PATH}?upload_id=${encodeURIComponent(sessionId)}&upload_protocol=resumable`;
}
