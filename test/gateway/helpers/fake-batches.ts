/**
 * What the providers keep for a project, added to a fake upstream's server as they answer it: OpenAI's
 * Files, Uploads, Batch and vector store APIs, Anthropic's Files API and Message Batches, Gemini's
 * Files API (resumable uploads) and batch mode. Each call only to one of the fake's keys, each file,
 * upload and batch kept with the key that made it, lists paged as each provider pages them. A batch
 * runs until the test ends it with the usage of each request; an OpenAI batch then has an output file
 * of JSON lines, an Anthropic one its results, a Gemini one its inline responses or a responses file.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Response } from 'undici';
import { intercept, sendJson, type Listener } from './intercept.js';

export interface FakeFile {
  id: string;
  purpose: string;
  filename: string;
  bytes: Buffer;
  authorization: string;
}

export interface FakeBatch {
  id: string;
  provider: 'openai' | 'anthropic' | 'gemini';
  status: string;
  /** OpenAI: the request as created (input_file_id, endpoint, metadata); Anthropic: the body's requests. */
  body: Record<string, unknown>;
  authorization: string;
  /** Ends the batch: each request used this much (in OpenAI's names; Anthropic's results are made from them). */
  end(usage: Array<{ input_tokens: number; output_tokens: number }>, opts?: { noOutputFile?: boolean; total?: boolean; status?: string }): void;
}

/** A file uploaded to Gemini's Files API, with the key that uploaded it. */
export interface FakeGeminiFile {
  name: string;
  displayName: string;
  mimeType: string;
  bytes: Buffer;
  authorization: string;
}

export interface FakeVectorStore {
  id: string;
  metadata: Record<string, unknown>;
  fileIds: string[];
  authorization: string;
}

export interface FakeBatches {
  files: FakeFile[];
  geminiFiles: FakeGeminiFile[];
  vectorStores: FakeVectorStore[];
  batches: FakeBatch[];
  requests: Array<{ method: string; url: string; authorization?: string; anthropicVersion?: string }>;
  /** The next call whose method and path match is answered with this status and body instead. */
  failNext?: { method: string; path: RegExp; status: number; body: string };
  close(): void;
}

const FILES = /^\/v1\/files(?:\/([^/]+)(?:\/(content))?)?$/;
const UPLOADS = /^\/v1\/uploads(?:\/([^/]+)\/(parts|complete|cancel))?$/;
const VECTOR_STORES = /^\/v1\/vector_stores(?:\/([^/]+)(?:\/(search|files)(?:\/([^/]+))?)?)?$/;
const BATCHES = /^\/v1\/batches(?:\/([^/]+)(?:\/(cancel))?)?$/;
const MESSAGE_BATCHES = /^\/v1\/messages\/batches(?:\/([^/]+)(?:\/(cancel|results))?)?$/;
const GEMINI_BATCHES = /^\/v1beta\/batches(?:\/([^/:]+)(?::(cancel))?)?$/;
const GEMINI_CREATE = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/;
const GEMINI_FILES = /^(?:\/download)?\/v1beta\/files(?:\/([^/:]+)(:download)?)?$|^\/upload\/v1beta\/files$/;

/**
 * A page of a list as the providers page it: `limit` items after the id `after` (OpenAI) or
 * `after_id` (Anthropic's batches), or `pageSize` from a `pageToken` (Gemini) or `limit` from a `page`
 * (Anthropic's Files API).
 */
function pageOf<T>(all: T[], url: string, id: (x: T) => string, fallback: number): { items: T[]; more: boolean; token: string } {
  const q = new URL(url, 'http://fake').searchParams;
  const limit = Number(q.get('limit') ?? q.get('pageSize') ?? fallback);
  const after = q.get('after') ?? q.get('after_id');
  const token = q.get('pageToken') ?? q.get('page');
  const from = token !== null ? Number(token) : after !== null ? all.findIndex((x) => id(x) === after) + 1 : 0;
  return { items: all.slice(from, from + limit), more: from + limit < all.length, token: String(from + limit) };
}

export function attachFakeBatches(server: Server, keys: { openai: string[]; anthropic: string[]; gemini?: string[] }): FakeBatches {
  let n = 0;
  const json = sendJson;
  const fileObject = (f: FakeFile) => ({ id: f.id, object: 'file', bytes: f.bytes.length, created_at: 1, filename: f.filename, purpose: f.purpose });
  const openaiObjects = new Map<string, Record<string, unknown>>();
  const anthropicObjects = new Map<string, Record<string, unknown>>();
  const results = new Map<string, string>();

  const onRequest = (req: IncomingMessage, res: ServerResponse, others: readonly Listener[]) => {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const file = FILES.exec(path);
    const batch = BATCHES.exec(path);
    const mb = MESSAGE_BATCHES.exec(path);
    const gb = GEMINI_BATCHES.exec(path) ?? GEMINI_CREATE.exec(path);
    const vs = VECTOR_STORES.exec(path);
    const gf = GEMINI_FILES.exec(path);
    const ul = UPLOADS.exec(path);
    if (!file && !batch && !mb && !gb && !vs && !gf && !ul) return others.forEach((l) => l(req, res));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void answer(Buffer.concat(chunks)));
    const answer = async (body: Buffer) => {
      const auth = mb ? String(req.headers['x-api-key'] ?? '') : gb || gf ? String(req.headers['x-goog-api-key'] ?? '') : String(req.headers.authorization ?? '');
      const version = req.headers['anthropic-version'];
      state.requests.push({ method: req.method ?? '', url, authorization: auth, ...(typeof version === 'string' ? { anthropicVersion: version } : {}) });
      const fail = state.failNext;
      if (fail !== undefined && fail.method === req.method && fail.path.test(path)) {
        state.failNext = undefined;
        res.writeHead(fail.status, { 'content-type': 'application/json' });
        return res.end(fail.body);
      }
      if (gb || gf) {
        if (!(keys.gemini ?? []).includes(auth)) return json(res, 400, { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' } });
        return gb ? geminiBatches(req, res, path, body, auth) : geminiFiles(req, res, url, gf![1], gf![2] !== undefined, body, auth);
      }
      if (mb) {
        if (!keys.anthropic.includes(auth)) return json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        if (typeof version !== 'string') return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } });
        return anthropicBatches(req, res, mb, body, auth);
      }
      const anthropicKey = req.headers['x-api-key'];
      if (file && typeof anthropicKey === 'string') {
        if (!keys.anthropic.includes(anthropicKey)) return json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        if (typeof req.headers['anthropic-version'] !== 'string') return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } });
        return anthropicFiles(req, res, file, body, anthropicKey);
      }
      if (!keys.openai.some((k) => auth === `Bearer ${k}`)) return json(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
      if (file) return files(req, res, file, body, auth);
      if (ul) return uploadsApi(req, res, ul, body, auth);
      if (vs) return vectorStores(req, res, vs, body, auth);
      return openaiBatches(req, res, batch!, body, auth);
    };
  };

  const files = async (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id, part] = m;
    if (id === undefined && req.method === 'POST') {
      const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      const f = form.get('file') as File;
      const made: FakeFile = { id: `file-fake${++n}`, purpose: String(form.get('purpose')), filename: f.name, bytes: Buffer.from(await f.arrayBuffer()), authorization: auth };
      state.files.push(made);
      return json(res, 200, fileObject(made));
    }
    if (id === undefined) {
      // Each key's project lists its own.
      const page = pageOf(state.files.filter((x) => x.authorization === auth), req.url ?? '', (x) => x.id, 10_000);
      return json(res, 200, { object: 'list', data: page.items.map(fileObject), has_more: page.more });
    }
    const f = state.files.find((x) => x.id === id);
    if (f === undefined || f.authorization !== auth) return json(res, 404, { error: { message: `No such File object: ${id}`, type: 'invalid_request_error' } });
    if (req.method === 'DELETE') {
      state.files.splice(state.files.indexOf(f), 1);
      return json(res, 200, { id, object: 'file', deleted: true });
    }
    if (part === 'content') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(f.bytes);
    }
    json(res, 200, fileObject(f));
  };

  const anthropicFileObject = (f: FakeFile) => ({ id: f.id, type: 'file', filename: f.filename, mime_type: 'text/plain', size_bytes: f.bytes.length, created_at: '2026-11-30T00:00:00Z', downloadable: false });
  const anthropicFiles = async (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id] = m;
    if (id === undefined && req.method === 'POST') {
      const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      const f = form.get('file') as File;
      const made: FakeFile = { id: `file_fake${++n}`, purpose: 'anthropic', filename: f.name, bytes: Buffer.from(await f.arrayBuffer()), authorization: auth };
      state.files.push(made);
      return json(res, 200, anthropicFileObject(made));
    }
    const mine = state.files.filter((x) => x.purpose === 'anthropic' && x.authorization === auth);
    if (id === undefined) {
      // Paged by a token, as Anthropic's SDK reads its Files API (`next_page`, then `?page=`).
      const page = pageOf(mine, req.url ?? '', (x) => x.id, 20);
      return json(res, 200, { data: page.items.map(anthropicFileObject), next_page: page.more ? page.token : null });
    }
    const f = mine.find((x) => x.id === id);
    if (f === undefined) return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `File not found: ${id}` } });
    if (req.method === 'DELETE') {
      state.files.splice(state.files.indexOf(f), 1);
      return json(res, 200, { id, type: 'file_deleted' });
    }
    json(res, 200, anthropicFileObject(f));
  };

  const vectorStoreObject = (v: FakeVectorStore) => ({ id: v.id, object: 'vector_store', name: 'store', metadata: v.metadata, file_counts: { completed: v.fileIds.length, in_progress: 0, failed: 0, cancelled: 0, total: v.fileIds.length }, status: 'completed' });
  const vectorStores = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id, part, fileId] = m;
    const asked = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    if (id === undefined && req.method === 'POST') {
      const made: FakeVectorStore = { id: `vs_fake${++n}`, metadata: (asked.metadata as Record<string, unknown> | undefined) ?? {}, fileIds: (asked.file_ids as string[] | undefined) ?? [], authorization: auth };
      state.vectorStores.push(made);
      return json(res, 200, vectorStoreObject(made));
    }
    if (id === undefined) return json(res, 200, { object: 'list', data: state.vectorStores.filter((v) => v.authorization === auth).map(vectorStoreObject), has_more: false });
    const v = state.vectorStores.find((x) => x.id === id && x.authorization === auth);
    if (v === undefined) return json(res, 404, { error: { message: `No vector store found with id '${id}'.`, type: 'invalid_request_error' } });
    if (part === 'search') return json(res, 200, { object: 'vector_store.search_results.page', search_query: [asked.query], data: v.fileIds.map((f) => ({ file_id: f, filename: 'f', score: 0.9, attributes: {}, content: [{ type: 'text', text: 'match' }] })), has_more: false, next_page: null });
    if (part === 'files') {
      if (fileId === undefined && req.method === 'POST') {
        v.fileIds.push(String(asked.file_id));
        return json(res, 200, { id: asked.file_id, object: 'vector_store.file', vector_store_id: id, status: 'completed' });
      }
      if (fileId === undefined) return json(res, 200, { object: 'list', data: v.fileIds.map((f) => ({ id: f, object: 'vector_store.file', vector_store_id: id, status: 'completed' })), has_more: false });
      return json(res, 200, { id: fileId, object: 'vector_store.file', vector_store_id: id, status: 'completed' });
    }
    if (req.method === 'DELETE') {
      state.vectorStores.splice(state.vectorStores.indexOf(v), 1);
      return json(res, 200, { id, object: 'vector_store.deleted', deleted: true });
    }
    if (req.method === 'POST') v.metadata = (asked.metadata as Record<string, unknown> | undefined) ?? v.metadata;
    json(res, 200, vectorStoreObject(v));
  };

  const openaiBatches = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id, part] = m;
    if (id === undefined && req.method === 'POST') {
      const asked = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const input = state.files.find((x) => x.id === asked.input_file_id && x.authorization === auth);
      if (input === undefined) return json(res, 400, { error: { message: `Invalid 'input_file_id': '${String(asked.input_file_id)}'`, type: 'invalid_request_error' } });
      const lines = input.bytes.toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { custom_id: string; body: { model: string } });
      const o: Record<string, unknown> = { id: `batch_fake${++n}`, object: 'batch', endpoint: asked.endpoint, input_file_id: input.id, completion_window: '24h', status: 'validating', output_file_id: null, error_file_id: null, metadata: asked.metadata ?? null, request_counts: { total: lines.length, completed: 0, failed: 0 } };
      openaiObjects.set(o.id as string, o);
      const b: FakeBatch = {
        id: o.id as string,
        provider: 'openai',
        status: 'validating',
        body: asked,
        authorization: auth,
        end(usage, opts = {}) {
          b.status = o.status = opts.status ?? 'completed';
          o.request_counts = { total: lines.length, completed: usage.length, failed: 0 };
          if (opts.total) o.usage = { input_tokens: usage.reduce((a, u) => a + u.input_tokens, 0), output_tokens: usage.reduce((a, u) => a + u.output_tokens, 0), total_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };
          if (opts.noOutputFile) return;
          const out = usage.map((u, i) => JSON.stringify({ id: `batch_req_${i}`, custom_id: lines[i]!.custom_id, response: { status_code: 200, request_id: `req_${i}`, body: { id: `chatcmpl-${i}`, object: 'chat.completion', model: lines[i]!.body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }], usage: { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: u.input_tokens + u.output_tokens } } }, error: null }));
          const made: FakeFile = { id: `file-out${++n}`, purpose: 'batch_output', filename: 'batch_output.jsonl', bytes: Buffer.from(out.join('\n') + '\n'), authorization: auth };
          state.files.push(made);
          o.output_file_id = made.id;
        },
      };
      state.batches.push(b);
      return json(res, 200, o);
    }
    if (id === undefined) return json(res, 200, { object: 'list', data: [...openaiObjects.values()], has_more: false });
    const o = openaiObjects.get(id);
    const b = state.batches.find((x) => x.id === id);
    if (o === undefined || b?.authorization !== auth) return json(res, 404, { error: { message: `No batch found with id '${id}'.`, type: 'invalid_request_error' } });
    if (part === 'cancel' && req.method === 'POST') {
      if (b.status !== 'completed') b.status = o.status = 'cancelling';
      return json(res, 200, o);
    }
    json(res, 200, o);
  };

  const anthropicBatches = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id, part] = m;
    if (id === undefined && req.method === 'POST') {
      const asked = JSON.parse(body.toString('utf8')) as { requests: Array<{ custom_id: string; params: { model: string } }> };
      const o: Record<string, unknown> = { id: `msgbatch_fake${++n}`, type: 'message_batch', processing_status: 'in_progress', request_counts: { processing: asked.requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 }, ended_at: null, created_at: '2026-11-30T00:00:00Z', expires_at: '2026-12-01T00:00:00Z', cancel_initiated_at: null, results_url: null, archived_at: null };
      anthropicObjects.set(o.id as string, o);
      const b: FakeBatch = {
        id: o.id as string,
        provider: 'anthropic',
        status: 'in_progress',
        body: asked as unknown as Record<string, unknown>,
        authorization: auth,
        end(usage) {
          b.status = o.processing_status = 'ended';
          o.request_counts = { processing: 0, succeeded: usage.length, errored: asked.requests.length - usage.length, canceled: 0, expired: 0 };
          o.results_url = `https://api.anthropic.com/v1/messages/batches/${o.id as string}/results`;
          const lines = asked.requests.map((q, i) =>
            JSON.stringify(
              i < usage.length
                ? { custom_id: q.custom_id, result: { type: 'succeeded', message: { id: `msg_${i}`, type: 'message', role: 'assistant', model: q.params.model, content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn', usage: { input_tokens: usage[i]!.input_tokens, output_tokens: usage[i]!.output_tokens } } } }
                : { custom_id: q.custom_id, result: { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } } } },
            ),
          );
          results.set(o.id as string, lines.join('\n') + '\n');
        },
      };
      state.batches.push(b);
      return json(res, 200, o);
    }
    if (id === undefined) return json(res, 200, { data: [...anthropicObjects.values()], has_more: false, first_id: null, last_id: null });
    const o = anthropicObjects.get(id);
    const b = state.batches.find((x) => x.id === id);
    if (o === undefined || b?.authorization !== auth) return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'batch not found' } });
    if (part === 'results') {
      const r = results.get(id);
      if (r === undefined) return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'batch has not ended' } });
      res.writeHead(200, { 'content-type': 'application/binary' });
      return res.end(r);
    }
    if (part === 'cancel') {
      if (b.status !== 'ended') o.processing_status = b.status = 'canceling';
      return json(res, 200, o);
    }
    if (req.method === 'DELETE') {
      anthropicObjects.delete(id);
      return json(res, 200, { id, type: 'message_batch_deleted' });
    }
    json(res, 200, o);
  };

  const geminiObjects = new Map<string, Record<string, unknown>>();
  const geminiBatches = (req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, auth: string) => {
    const created = GEMINI_CREATE.exec(path);
    if (created) {
      const asked = JSON.parse(body.toString('utf8')) as { batch: { displayName?: string; inputConfig: { fileName?: string; requests?: { requests: Array<{ request: unknown; metadata?: unknown }> } } } };
      const fileName = asked.batch.inputConfig.fileName;
      const input = fileName === undefined ? undefined : state.geminiFiles.find((x) => x.name === fileName && x.authorization === auth);
      if (fileName !== undefined && input === undefined) return notFound(res);
      // A file's lines, each {"key", "request"}; inline requests, each {"request", "metadata"}.
      const fromFile = input?.bytes.toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { key?: string; request: unknown; metadata?: unknown });
      const requests = fromFile ?? asked.batch.inputConfig.requests!.requests;
      const id = `fakebatch${++n}`;
      const meta: Record<string, unknown> = { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch', model: `models/${created[1]!}`, displayName: asked.batch.displayName ?? '', state: 'BATCH_STATE_PENDING', createTime: '2026-11-30T00:00:00Z', name: `batches/${id}` };
      const o: Record<string, unknown> = { name: `batches/${id}`, metadata: meta };
      geminiObjects.set(id, o);
      const b: FakeBatch = {
        id,
        provider: 'gemini',
        status: 'BATCH_STATE_PENDING',
        body: asked as unknown as Record<string, unknown>,
        authorization: auth,
        end(usage, opts = {}) {
          b.status = meta.state = opts.status ?? 'BATCH_STATE_SUCCEEDED';
          o.done = true;
          const response = (i: number) => ({ candidates: [{ content: { parts: [{ text: 'done' }], role: 'model' }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: usage[i]!.input_tokens, candidatesTokenCount: usage[i]!.output_tokens, totalTokenCount: usage[i]!.input_tokens + usage[i]!.output_tokens } });
          if (fromFile !== undefined) {
            const out: FakeGeminiFile = { name: `files/fake-out-${++n}`, displayName: 'responses', mimeType: 'application/jsonl', authorization: auth, bytes: Buffer.from(fromFile.map((q, i) => JSON.stringify(i < usage.length ? { key: q.key, response: response(i) } : { key: q.key, error: { code: 3, message: 'bad request' } })).join('\n') + '\n') };
            state.geminiFiles.push(out);
            meta.output = { responsesFile: out.name };
            return;
          }
          meta.output = {
            inlinedResponses: {
              inlinedResponses: requests.map((q, i) =>
                i < usage.length
                  ? { response: { candidates: [{ content: { parts: [{ text: 'done' }], role: 'model' }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: usage[i]!.input_tokens, candidatesTokenCount: usage[i]!.output_tokens, totalTokenCount: usage[i]!.input_tokens + usage[i]!.output_tokens } }, ...(q.metadata !== undefined ? { metadata: q.metadata } : {}) }
                  : { error: { code: 3, message: 'bad request' } },
              ),
            },
          };
        },
      };
      state.batches.push(b);
      return json(res, 200, o);
    }
    const m = GEMINI_BATCHES.exec(path)!;
    const [, id, part] = m;
    if (id === undefined) return json(res, 200, { operations: [...geminiObjects.values()] });
    const o = geminiObjects.get(id);
    const b = state.batches.find((x) => x.id === id);
    if (o === undefined || b?.authorization !== auth) return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
    if (part === 'cancel') {
      if (!String(b.status).endsWith('SUCCEEDED')) (o.metadata as Record<string, unknown>).state = b.status = 'BATCH_STATE_CANCELLED';
      return json(res, 200, {});
    }
    if (req.method === 'DELETE') {
      geminiObjects.delete(id);
      return json(res, 200, {});
    }
    json(res, 200, o);
  };

  /** OpenAI's uploads: the key that made one, what it declared, its parts. */
  const uploadsMade = new Map<string, { auth: string; o: Record<string, unknown>; parts: Map<string, Buffer> }>();
  const uploadsApi = async (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, body: Buffer, auth: string) => {
    const [, id, part] = m;
    if (id === undefined) {
      const asked = JSON.parse(body.toString('utf8')) as { bytes: number; filename: string; purpose: string; mime_type: string };
      const o = { id: `upload_fake${++n}`, object: 'upload', bytes: asked.bytes, filename: asked.filename, purpose: asked.purpose, status: 'pending', created_at: 1, expires_at: 2 };
      uploadsMade.set(o.id, { auth, o, parts: new Map() });
      return json(res, 200, o);
    }
    const u = uploadsMade.get(id);
    if (u === undefined || u.auth !== auth) return json(res, 404, { error: { message: `No such Upload: ${id}`, type: 'invalid_request_error' } });
    if (part === 'parts') {
      const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      const data = form.get('data') as File;
      const partId = `part_fake${++n}`;
      u.parts.set(partId, Buffer.from(await data.arrayBuffer()));
      return json(res, 200, { id: partId, object: 'upload.part', created_at: 1, upload_id: id });
    }
    if (part === 'cancel') {
      u.o.status = 'cancelled';
      return json(res, 200, u.o);
    }
    const ids = (JSON.parse(body.toString('utf8')) as { part_ids: string[] }).part_ids;
    const bytes = Buffer.concat(ids.map((p) => u.parts.get(p) ?? Buffer.alloc(0)));
    if (bytes.length !== u.o.bytes) return json(res, 400, { error: { message: 'the parts do not add up to the bytes declared', type: 'invalid_request_error' } });
    const made: FakeFile = { id: `file-fake${++n}`, purpose: String(u.o.purpose), filename: String(u.o.filename), bytes, authorization: auth };
    state.files.push(made);
    u.o.status = 'completed';
    return json(res, 200, { ...u.o, file: fileObject(made) });
  };

  /** Sessions of Gemini's resumable uploads: the key that opened one, what it declared, the bytes so far. */
  const uploads = new Map<string, { auth: string; declared: number; type: string; displayName: string; got: Buffer[]; received: number }>();
  const geminiFileObject = (f: FakeGeminiFile) => {
    const id = f.name.slice('files/'.length);
    return { name: f.name, displayName: f.displayName, mimeType: f.mimeType, sizeBytes: String(f.bytes.length), createTime: '2026-11-30T00:00:00Z', expirationTime: '2026-12-02T00:00:00Z', uri: `https://generativelanguage.googleapis.com/v1beta/files/${id}`, state: 'ACTIVE', source: 'UPLOADED' };
  };
  const notFound = (res: ServerResponse) => json(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
  const geminiFiles = (req: IncomingMessage, res: ServerResponse, url: string, id: string | undefined, download: boolean, body: Buffer, auth: string) => {
    if (url.startsWith('/upload/')) {
      const command = String(req.headers['x-goog-upload-command'] ?? '');
      if (command === 'start') {
        const declared = Number(req.headers['x-goog-upload-header-content-length']);
        const meta = JSON.parse(body.toString('utf8') || '{}') as { file?: { displayName?: string; display_name?: string } };
        const session = `fake-session-${++n}`;
        uploads.set(session, { auth, declared, type: String(req.headers['x-goog-upload-header-content-type'] ?? 'application/octet-stream'), displayName: meta.file?.displayName ?? meta.file?.display_name ?? '', got: [], received: 0 });
        const port = (server.address() as { port: number }).port;
        res.writeHead(200, { 'x-goog-upload-url': `http://127.0.0.1:${port}/upload/v1beta/files?upload_id=${session}&upload_protocol=resumable`, 'x-goog-upload-status': 'active', 'x-goog-upload-chunk-granularity': '8388608' });
        return res.end();
      }
      const session = new URL(url, 'http://x').searchParams.get('upload_id') ?? '';
      const u = uploads.get(session);
      if (u === undefined || u.auth !== auth) return notFound(res);
      if (command === 'cancel') {
        uploads.delete(session);
        res.writeHead(200, { 'x-goog-upload-status': 'cancelled' });
        return res.end();
      }
      if (command.includes('upload')) {
        const offset = Number(req.headers['x-goog-upload-offset']);
        if (offset > u.received) return json(res, 400, { error: { code: 400, message: 'offset mismatch', status: 'INVALID_ARGUMENT' } });
        // Bytes it already holds, sent again (a client that did not hear the answer), are taken once.
        const fresh = body.subarray(u.received - offset);
        u.got.push(fresh);
        u.received += fresh.length;
      }
      if (command.includes('finalize')) {
        if (u.received !== u.declared) return json(res, 400, { error: { code: 400, message: 'size mismatch', status: 'INVALID_ARGUMENT' } });
        uploads.delete(session);
        const made: FakeGeminiFile = { name: `files/fake-${++n}`, displayName: u.displayName, mimeType: u.type, bytes: Buffer.concat(u.got), authorization: auth };
        state.geminiFiles.push(made);
        res.writeHead(200, { 'content-type': 'application/json', 'x-goog-upload-status': 'final' });
        return res.end(JSON.stringify({ file: geminiFileObject(made) }));
      }
      res.writeHead(200, { 'x-goog-upload-status': 'active', 'x-goog-upload-size-received': String(u.received) });
      return res.end();
    }
    const mine = state.geminiFiles.filter((f) => f.authorization === auth);
    if (id === undefined) {
      const page = pageOf(mine, url, (x) => x.name, 10);
      return json(res, 200, { files: page.items.map(geminiFileObject), ...(page.more ? { nextPageToken: page.token } : {}) });
    }
    const f = mine.find((x) => x.name === `files/${id}`);
    if (f === undefined) return notFound(res);
    if (download) {
      if (!url.includes('alt=media')) return json(res, 400, { error: { code: 400, message: 'alt=media is required', status: 'INVALID_ARGUMENT' } });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(f.bytes);
    }
    if (req.method === 'DELETE') {
      state.geminiFiles.splice(state.geminiFiles.indexOf(f), 1);
      return json(res, 200, {});
    }
    json(res, 200, geminiFileObject(f));
  };

  const state: FakeBatches = { files: [], geminiFiles: [], vectorStores: [], batches: [], requests: [], ...intercept(server, onRequest) };
  return state;
}
