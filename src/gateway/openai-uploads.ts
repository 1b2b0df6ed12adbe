/**
 * OpenAI's Uploads API (`/v1/uploads`): a file declared with its size, sent in parts (up to 64 MB
 * each, in any order), then completed with the order of its parts, which makes it a file of the
 * Files API.
 *
 * Through the gateway, an upload is made with one of the gateway's keys and is its maker's alone: its
 * parts, its completion and its cancellation go with that key, for that user; anyone else's upload id
 * is a 404. A text part is held to the prompt secrets policy, and its ends are kept: at completion,
 * where each part goes is known, and the end of each text part is read with the start of the next
 * (a secret cut between two parts). The completed file is its uploader's, as one sent to `/v1/files`
 * is. A batch's requests are not taken this way: the gateway reads them as they go up, whole, at
 * `/v1/files`.
 */
import { FILE_ID, UPLOAD_ID, UPLOADS_ROUTE, type ObjectCall } from './batches.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { jsonObject } from './json-body.js';
import type { PoolKey } from './keys.js';
import { admitted, cancelOnClose, counted, fileTooLarge, jsonAnswer, keyOf, noSecretAcrossParts, noSecretsInPart, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import type { PartEnds, UploadParts } from './owners.js';
import { isObject } from './providers/types.js';
import type { UpstreamAnswer } from './upstream-call.js';
import { Upload } from './upload.js';
import { firstBytes, lastBytes, withoutCutEnd, withoutCutStart } from './utf8-cuts.js';

/** What a file sent in parts may be for through the gateway. */
const PURPOSES = new Set(['user_data', 'vision']);
/** A part's id as OpenAI makes them. */
const PART_ID = /^part_[A-Za-z0-9_-]{1,200}$/;
/** Bytes kept of each end of a text part, as of a Gemini upload's chunk: longer than any secret the rules find on one line, a private key's block included. */
const END_BYTES = 4096;

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
  if (bytes > limit) throw fileTooLarge(limit);
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
  /** A part taken: its size, and its ends when it is text. */
  let taken: { bytes: number; ends?: PartEnds } | undefined;
  try {
    const owner = await g.batches.uploadOwner(id);
    if (owner?.upload === undefined || owner.provider !== up.provider.name || owner.user !== r.caller.user.id) throw new GatewayHttpError(404, 'not_found', 'no upload of yours with this id: an upload is continued through the gateway by the user who made it');
    key = keyOf(up, owner);
    if (part === 'parts') {
      body = await g.body(g.maxFileBytes());
      type = String(r.req.headers['content-type'] ?? '');
      const form = await Upload.read(body, type, "'data'");
      const bytes = (await form.file('data', 'the part of the file')).bytes;
      // Room for each part sent once more (a client that did not hear the answer sends it again), no more: what is kept of the parts stays within a bound the declared size sets.
      const received = (owner.upload.parts?.received ?? 0) + bytes.length;
      if (received > 2 * owner.upload.bytes) {
        throw badRequest(`the parts sent to this upload would hold ${received} bytes, more than twice the ${owner.upload.bytes} it declared ('bytes'), which leaves room to send each part again, no more: start a new upload for the file`);
      }
      // A part cut from a file at a byte offset may start or end inside a character: its whole ones are read, the cut ones with its neighbours at completion.
      taken = { bytes: bytes.length, ...(noSecretsInPart(g, r, UPLOADS_ROUTE, withoutCutStart(withoutCutEnd(bytes))) ? { ends: endsOf(bytes) } : {}) };
    } else if (part === 'complete') {
      const { raw, parsed } = await g.json();
      body = raw;
      type = 'application/json';
      const order = isObject(parsed) ? parsed.part_ids : undefined;
      if (!Array.isArray(order) || !order.every((p): p is string => typeof p === 'string')) throw badRequest("'part_ids' must list the upload's part ids (part_…) in the order their bytes go in the file");
      noSecretBetweenParts(g, r, owner.upload.parts, order);
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
  if (taken !== undefined) await keepPart(g, id, o?.id, taken);
  if (part !== 'parts' && (o?.status === 'completed' || o?.status === 'cancelled')) {
    g.batches.forgetUpload(id);
    const file = isObject(o.file) ? o.file.id : undefined;
    // Completed: a file of the Files API, its uploader's, reached and named as one sent to /v1/files.
    if (typeof file === 'string' && FILE_ID.test(file)) g.batches.noteFile(file, r.caller.user.id, up, key);
  }
  sendJson(g, r, f, answer.statusCode, text, extra);
  g.finish(f, NOTHING, 'ok', false);
}

/**
 * Notes a part OpenAI took with the upload's record: its size, and its ends by its id. Read again
 * after OpenAI answered, not as it was before the part went up, so that a part another instance took
 * meanwhile is kept too; two parts answered at the same moment may still each write over the other
 * (the record is read, changed and written, not changed in place), and the one lost is then a part
 * with no ends known, whose neighbours are not read with it at completion.
 */
async function keepPart(g: ObjectRoutesGateway, id: string, partId: unknown, taken: { bytes: number; ends?: PartEnds }): Promise<void> {
  const owner = await g.batches.uploadOwner(id);
  // Completed or cancelled meanwhile: there is nothing left to add to.
  if (owner?.upload === undefined) return;
  const parts = owner.upload.parts ?? { received: 0, ends: {} };
  const ends = typeof partId === 'string' && PART_ID.test(partId) && taken.ends !== undefined ? { ...parts.ends, [partId]: taken.ends } : parts.ends;
  g.batches.noteUpload(id, { ...owner, upload: { ...owner.upload, parts: { received: parts.received + taken.bytes, ends } } });
}

/** A text part's ends as kept: whole when it is 8 KiB or less, else its first and last 4 KiB, neither cutting a character. */
function endsOf(bytes: Buffer): PartEnds {
  if (bytes.length <= 2 * END_BYTES) return { head: bytes.toString('base64') };
  return { head: firstBytes(bytes, END_BYTES).toString('base64'), tail: lastBytes(bytes, END_BYTES).toString('base64') };
}

/**
 * Reads the parts in the order the completion gives, the last bytes of the text so far with the
 * start of each next text part: a secret cut between two parts (or across a short one, kept whole)
 * is read whole. A part whose ends are not known (binary, or not sent through the gateway) starts
 * the reading over.
 */
function noSecretBetweenParts(g: ObjectRoutesGateway, r: ObjectRequest, parts: UploadParts | undefined, order: string[]): void {
  let before: Buffer = Buffer.alloc(0);
  for (const partId of order) {
    const ends = parts !== undefined && Object.hasOwn(parts.ends, partId) ? parts.ends[partId] : undefined;
    if (ends === undefined) {
      before = Buffer.alloc(0);
      continue;
    }
    const head = Buffer.from(ends.head, 'base64');
    if (before.length > 0) noSecretAcrossParts(g, r, UPLOADS_ROUTE, before, head);
    before = ends.tail === undefined ? lastBytes(Buffer.concat([before, head]), END_BYTES) : Buffer.from(ends.tail, 'base64');
  }
}
