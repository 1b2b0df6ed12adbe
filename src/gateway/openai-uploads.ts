/**
 * OpenAI's Uploads API (`/v1/uploads`): a file declared with its size, sent in parts (up to 64 MB
 * each, in any order), then completed with the order of its parts, which makes it a file of the
 * Files API.
 *
 * Through the gateway, an upload is made with one of the gateway's keys and is its maker's alone: its
 * parts, its completion and its cancellation go with that key, for that user; anyone else's upload id
 * is a 404. A text part is held to the prompt secrets policy. The completed file is its uploader's,
 * as one sent to `/v1/files` is. A batch's requests are not taken this way: the gateway reads them as
 * they go up, whole, at `/v1/files`.
 */
import { FILE_ID, UPLOAD_ID, UPLOADS_ROUTE, type ObjectCall } from './batches.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import { admitted, cancelOnClose, counted, jsonAnswer, keyOf, noSecretsInPart, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import { isObject } from './providers/types.js';
import type { UpstreamAnswer } from './upstream-call.js';
import { Upload } from './upload.js';

/** What a file sent in parts may be for through the gateway. */
const PURPOSES = new Set(['user_data', 'vision']);

export async function openaiUpload(g: ObjectRoutesGateway, r: ObjectRequest, call: ObjectCall): Promise<void> {
  if (call.id === undefined) return create(g, r);
  return proceed(g, r, call.id, call.part!);
}

/** `POST /v1/uploads`: an upload of the declared size, for the caller alone. */
async function create(g: ObjectRoutesGateway, r: ObjectRequest): Promise<void> {
  const { raw, parsed } = await g.json();
  if (!isObject(parsed)) throw badRequest('the request body must be a JSON object: {"filename", "purpose", "bytes", "mime_type"}');
  const { purpose, bytes } = parsed;
  if (purpose === 'batch') throw badRequest("a batch's requests go up at POST /v1/files, where the gateway reads them whole before they reach OpenAI; an upload in parts is for a document or an image");
  if (typeof purpose !== 'string' || !PURPOSES.has(purpose)) throw badRequest(`'purpose' must be one of ${[...PURPOSES].join(', ')}: what the gateway's routes use a file for`);
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 1) throw badRequest("'bytes' must give the file's size in bytes");
  const limit = g.maxFileBytes();
  if (bytes > limit) throw new GatewayHttpError(413, 'request_too_large', `the file is larger than the gateway accepts (${limit} bytes; "maxFileBytes" in the config)`);
  const up = g.openai;
  const f = counted(r, UPLOADS_ROUTE, up, '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  let sent: { res: UpstreamAnswer; key: PoolKey };
  try {
    sent = await up.send(UPLOADS_ROUTE.upstreamPath, 'POST', { 'content-type': 'application/json', accept: 'application/json' }, raw, cancel);
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (sent.res.statusCode >= 400) return g.forwardError(f, sent.res, r.res, extra);
  const answer = await jsonAnswer(g, f, sent.res, up.provider);
  const id = jsonObject(answer)?.id;
  if (typeof id === 'string' && UPLOAD_ID.test(id)) {
    g.batches.noteUpload(id, { user: r.caller.user.id, provider: up.provider.name, key: sent.key.label, upload: { path: `${UPLOADS_ROUTE.upstreamPath}/${id}`, bytes, type: typeof parsed.mime_type === 'string' ? parsed.mime_type : '' } });
  } else g.log.warn({ reqId: r.reqId }, 'an upload came back without an id the gateway knows: nobody can continue it through the gateway');
  sendJson(g, r, f, sent.res.statusCode, answer, extra);
  g.finish(f, NOTHING, 'ok', false);
}

/** A part added, the upload completed or cancelled: with the key that made it, for its maker alone. */
async function proceed(g: ObjectRoutesGateway, r: ObjectRequest, id: string, part: string): Promise<void> {
  const up = g.openai;
  // Counted first: a client cannot have upload after upload looked up, unlimited.
  const f = counted(r, UPLOADS_ROUTE, up, '-');
  const extra = await admitted(g, r, f);
  const cancel = cancelOnClose(r.res);
  let key: PoolKey;
  let body: Buffer;
  let type: string;
  try {
    const owner = await g.batches.uploadOwner(id);
    if (owner?.upload === undefined || owner.provider !== up.provider.name || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', 'no upload of yours with this id: an upload is continued through the gateway by the user who made it');
    key = keyOf(up, owner);
    if (part === 'parts') {
      body = await g.body(g.maxFileBytes());
      type = String(r.req.headers['content-type'] ?? '');
      const form = await Upload.read(body, type, "'data'");
      noSecretsInPart(g, r, UPLOADS_ROUTE, (await form.file('data', 'the part of the file')).bytes);
    } else if (part === 'complete') {
      body = (await g.json()).raw;
      type = 'application/json';
    } else {
      // A cancel carries nothing.
      body = Buffer.alloc(0);
      type = 'application/json';
    }
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  let answer: UpstreamAnswer;
  try {
    answer = await up.sendOn(key, `${UPLOADS_ROUTE.upstreamPath}/${id}/${part}`, cancel, 'POST', { body, type });
  } catch (err) {
    throw unreachable(g, f, r.res, up, err);
  }
  if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
  const text = await jsonAnswer(g, f, answer, up.provider);
  const o = jsonObject(text);
  if (part !== 'parts' && (o?.status === 'completed' || o?.status === 'cancelled')) {
    g.batches.forgetUpload(id);
    const file = isObject(o.file) ? o.file.id : undefined;
    // Completed: a file of the Files API, its uploader's, reached and named as one sent to /v1/files.
    if (typeof file === 'string' && FILE_ID.test(file)) g.batches.noteFile(file, r.caller.user.id, up, key);
  }
  sendJson(g, r, f, answer.statusCode, text, extra);
  g.finish(f, NOTHING, 'ok', false);
}
