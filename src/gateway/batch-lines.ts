/**
 * The requests of a batch, read before the provider runs them: OpenAI's batch input file (JSON
 * lines: `custom_id`, `method`, `url`, `body`) and Anthropic's Message Batches body (`requests`: each a
 * `custom_id` and its `params`). Each request is understood as the same request sent alone would be
 * (shapeRequest), so that a batch is held to what a live request is: the models the user may use, an
 * output cap where a budget counts them, their identifier for the provider, the stored objects they
 * may name. The batch's worst case is the sum of its requests' (at batch rates), reserved when it is
 * created and held until it has ended.
 */
import { withEndUser } from './end-user-id.js';
import { badRequest, GatewayHttpError } from './http-error.js';
import { isObject, type ShapedRequest } from './providers/types.js';
import { tagOwner } from './response-ownership.js';
import { geminiRoute, ROUTES, shapeRequest, withOutputCap, type Route } from './routes.js';
import { storedObjectsNamed } from './shared-objects.js';
import { DEFAULT_SEARCHES } from './web-search.js';

/** What OpenAI's Batch API runs, as the gateway routes it. */
export const OPENAI_BATCH_ENDPOINTS: readonly string[] = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses'];
/** OpenAI's limit on a batch's requests; Anthropic's is 100 000. */
export const MAX_OPENAI_LINES = 50_000;
export const MAX_ANTHROPIC_REQUESTS = 100_000;

/** What the gateway keeps of a batch's requests, from their upload to the batch's end. */
export interface BatchSummary {
  /** The endpoint every request calls (`/v1/chat/completions`; `/v1/messages` for Anthropic). */
  endpoint: string;
  /** The one model every request names. */
  model: string;
  requests: number;
  promptTokens: number;
  maxTokens: number;
  /** The sum of the requests' worst cases, at batch rates. */
  reserveUsd: number;
  /** Requests sent with no output cap: nothing counted the user's spend when they were read. */
  uncapped: number;
}

export interface BatchReading {
  /** Output tokens a request that sets no cap is reserved for (and capped at, with `cap`). */
  defaultMaxTokens: number;
  /** Give each request with no output cap that cap (a budget or a tokens-per-minute limit counts the user). */
  cap: boolean;
  /** The user's identifier at the provider, set on each request; undefined: none is set. */
  endUser?: string;
  /** The gateway user's id, to tag the responses a `/v1/responses` batch stores with. */
  userId: string;
  /** Throws when the user may not use this model. */
  allowModel(model: string): void;
  /** The worst case of one request in USD, at batch rates. */
  worst(model: string, shaped: ShapedRequest): number;
}

export interface ReadBatch {
  summary: BatchSummary;
  /** The stored objects its requests name (files, vector stores), each to be the user's. */
  objects: string[];
}

/** A request of a batch, refused with where it is. */
function atRequest(where: string, err: unknown): GatewayHttpError {
  if (err instanceof GatewayHttpError) return new GatewayHttpError(err.status, err.type, `${where}: ${err.message}`);
  return badRequest(`${where}: ${(err as Error).message}`);
}

class Tally {
  model: string | undefined;
  requests = 0;
  promptTokens = 0;
  maxTokens = 0;
  reserveUsd = 0;
  uncapped = 0;
  readonly objects = new Set<string>();
  firstAt = '';

  /** One request understood: its body as it goes to the provider. */
  add(where: string, route: Route, body: Record<string, unknown>, r: BatchReading): Buffer {
    let raw: Buffer = Buffer.from(JSON.stringify(body));
    for (const id of storedObjectsNamed(raw, body)) this.objects.add(id);
    let shaped = shapeRequest(route, body, raw, r.defaultMaxTokens);
    if (shaped.stream) throw badRequest("a request of a batch cannot stream: leave 'stream' out");
    if (shaped.background) throw badRequest("a request of a batch cannot run in the background: leave 'background' out");
    if (this.model === undefined) {
      r.allowModel(shaped.model);
      this.model = shaped.model;
      this.firstAt = where;
    } else if (shaped.model !== this.model) {
      throw badRequest(`it asks for '${shaped.model.slice(0, 100)}' where ${this.firstAt} asks for '${this.model.slice(0, 100)}': a batch through the gateway runs one model (as OpenAI's must); send one batch per model`);
    }
    raw = shaped.body;
    if (route.kind === 'responses') {
      if (body.previous_response_id !== undefined || body.conversation !== undefined) throw badRequest("a request of a batch cannot continue a stored response or conversation: leave 'previous_response_id' and 'conversation' out");
      if (body.store !== false) raw = tagOwner(raw, body, r.userId);
    }
    if (shaped.uncapped !== undefined) {
      if (r.cap) raw = withOutputCap(raw, body, shaped.uncapped, true, r.defaultMaxTokens);
      else this.uncapped++;
    }
    if (r.endUser !== undefined && (route.kind === 'chat' || route.kind === 'responses' || route.kind === 'messages')) raw = withEndUser(raw, body, route.kind === 'messages' ? 'anthropic' : 'openai', r.endUser);
    shaped = { ...shaped, body: raw };
    this.requests++;
    this.promptTokens += shaped.promptTokens;
    this.maxTokens += shaped.maxTokens;
    this.reserveUsd += r.worst(shaped.model, shaped);
    return raw;
  }

  done(endpoint: string): ReadBatch {
    if (this.requests === 0 || this.model === undefined) throw badRequest('the batch holds no requests');
    return {
      summary: { endpoint, model: this.model, requests: this.requests, promptTokens: this.promptTokens, maxTokens: this.maxTokens, reserveUsd: this.reserveUsd, uncapped: this.uncapped },
      objects: [...this.objects],
    };
  }
}

/**
 * OpenAI's batch input file, checked line by line; the file as it goes to OpenAI (each line's body
 * as the gateway sends a request: capped, with the user's identifier) and what it may cost.
 */
export function readOpenAiBatch(file: Buffer, r: BatchReading): ReadBatch & { file: Buffer } {
  const t = new Tally();
  const ids = new Set<string>();
  let endpoint: string | undefined;
  const out: string[] = [];
  let changed = false;
  const lines = file.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    const where = `line ${i + 1}`;
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      throw badRequest(`${where} of the batch file is not JSON: each line is one request, {"custom_id": …, "method": "POST", "url": …, "body": {…}}`);
    }
    try {
      if (!isObject(line)) throw badRequest('it must be a JSON object');
      const { custom_id: id, method, url, body } = line;
      if (typeof id !== 'string' || id === '') throw badRequest("'custom_id' is required and must be a string");
      if (ids.has(id)) throw badRequest(`'custom_id' '${id.slice(0, 64)}' is used twice; each request needs its own`);
      ids.add(id);
      if (method !== 'POST') throw badRequest("'method' must be \"POST\"");
      if (typeof url !== 'string' || !OPENAI_BATCH_ENDPOINTS.includes(url)) throw badRequest(`'url' must be one of ${OPENAI_BATCH_ENDPOINTS.join(', ')}`);
      if (endpoint === undefined) endpoint = url;
      else if (url !== endpoint) throw badRequest(`it calls ${url}, another line ${endpoint}: a batch calls one endpoint`);
      if (!isObject(body)) throw badRequest("'body' must be the request, a JSON object");
      if (t.requests >= MAX_OPENAI_LINES) throw badRequest(`a batch holds at most ${MAX_OPENAI_LINES} requests`);
      const sent = t.add(where, ROUTES.get(url)!, body, r);
      const before = Buffer.from(JSON.stringify(body));
      if (!sent.equals(before)) changed = true;
      out.push(`{"custom_id":${JSON.stringify(id)},"method":"POST","url":${JSON.stringify(url)},"body":${sent.toString('utf8')}}`);
    } catch (err) {
      throw atRequest(`${where} of the batch file`, err);
    }
  }
  const read = t.done(endpoint ?? '');
  return { ...read, file: changed ? Buffer.from(out.join('\n') + '\n') : file };
}

/** Anthropic's Message Batches body, checked request by request; the body as it goes to Anthropic and what it may cost. */
export function readAnthropicBatch(parsed: unknown, r: BatchReading): ReadBatch & { body: Buffer } {
  if (!isObject(parsed) || !Array.isArray(parsed.requests)) throw badRequest("the body must be {\"requests\": [{\"custom_id\": …, \"params\": {…}}, …]}");
  const requests = parsed.requests as unknown[];
  if (requests.length > MAX_ANTHROPIC_REQUESTS) throw badRequest(`a batch holds at most ${MAX_ANTHROPIC_REQUESTS} requests`);
  const t = new Tally();
  const ids = new Set<string>();
  const out: string[] = [];
  requests.forEach((q, i) => {
    const where = `request ${i + 1}`;
    try {
      if (!isObject(q)) throw badRequest('it must be a JSON object');
      const { custom_id: id, params } = q;
      if (typeof id !== 'string' || id === '') throw badRequest("'custom_id' is required and must be a string");
      if (ids.has(id)) throw badRequest(`'custom_id' '${id.slice(0, 64)}' is used twice; each request needs its own`);
      ids.add(id);
      if (!isObject(params)) throw badRequest("'params' must be the request, a JSON object");
      const sent = t.add(where, ROUTES.get('/v1/messages')!, params, r);
      out.push(`{"custom_id":${JSON.stringify(id)},"params":${sent.toString('utf8')}}`);
    } catch (err) {
      throw atRequest(`${where} of the batch`, err);
    }
  });
  const read = t.done('/v1/messages');
  const rest = { ...parsed };
  delete rest.requests;
  const others = JSON.stringify(rest).slice(1, -1);
  return { ...read, body: Buffer.from(`{${others === '' ? '' : `${others},`}"requests":[${out.join(',')}]}`) };
}

/** Gemini's model ids, as its routes take them (nothing that could change a path). */
const GEMINI_MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A Gemini batch (`models/{model}:batchGenerateContent`) with its requests inline, each read as the
 * same `generateContent` call would be, for the model the path names; the body as it goes to Google
 * and what it may cost. A batch from an uploaded file is read as the file went up (readGeminiFile).
 */
export function readGeminiBatch(parsed: unknown, model: string, r: BatchReading): ReadBatch & { body: Buffer } {
  if (!GEMINI_MODEL.test(model)) throw badRequest(`'${model.slice(0, 100)}' is not a Gemini model id`);
  const batch = isObject(parsed) ? parsed.batch : undefined;
  const input = isObject(batch) ? batch.inputConfig : undefined;
  if (isObject(input) && input.fileName !== undefined) throw badRequest("a batch's requests go inline (batch.inputConfig.requests) or in a file uploaded through the gateway (batch.inputConfig.fileName), one or the other");
  const wrapper = isObject(input) ? input.requests : undefined;
  const requests = isObject(wrapper) ? wrapper.requests : undefined;
  if (!isObject(batch) || !isObject(input) || !Array.isArray(requests)) throw badRequest('the body must be {"batch": {"inputConfig": {"requests": {"requests": [{"request": {…}, "metadata": {…}}, …]}}}} (what @google/genai sends for inline requests)');
  if (requests.length > MAX_ANTHROPIC_REQUESTS) throw badRequest(`a batch holds at most ${MAX_ANTHROPIC_REQUESTS} requests`);
  const route = geminiRoute(`/v1beta/models/${model}:generateContent`, '')!;
  const t = new Tally();
  const out: unknown[] = [];
  requests.forEach((q, i) => {
    const where = `request ${i + 1}`;
    try {
      if (!isObject(q) || !isObject(q.request)) throw badRequest("it must be {\"request\": {…}} with the generateContent request");
      const named = q.request.model;
      if (named !== undefined && named !== model && named !== `models/${model}`) throw badRequest(`it names model '${String(named).slice(0, 100)}', the batch '${model}': a batch runs the model its path names`);
      const sent = t.add(where, route, q.request, r);
      out.push({ ...q, request: JSON.parse(sent.toString('utf8')) as unknown });
    } catch (err) {
      throw atRequest(`${where} of the batch`, err);
    }
  });
  const read = t.done(`/v1beta/models/${model}:generateContent`);
  const body = { ...(parsed as Record<string, unknown>), batch: { ...batch, inputConfig: { ...input, requests: { ...(wrapper as Record<string, unknown>), requests: out } } } };
  return { ...read, body: Buffer.from(JSON.stringify(body)) };
}

/**
 * A Gemini batch file (JSON lines, each `{"key": …, "request": {…}}`) as read so far, chunk by chunk
 * while it goes up: what each request may cost, for whichever model a batch later runs it with. Kept
 * with the upload's session between its chunks (which may reach different instances), then with the
 * file. Lines are not changed (the upload declared its size before its bytes came), so a request with
 * no cap stays so, and counts in `uncapped`.
 */
export interface GeminiFileRead {
  /** The bytes after the last line end (base64): the start of a line that the next chunk ends. */
  carry: string;
  /** Lines read (blank ones too), for where a fault is. */
  lines: number;
  /** Per request, three numbers: its prompt tokens (estimated), its output cap (or the default), and 1 when it may search. */
  costs: number[];
  uncapped: number;
  /** The stored objects its requests name, each to be the user's. */
  objects: string[];
  /** Bytes of the file read so far (the carry's too): a chunk sent again, as a client retries one, is not read twice. */
  bytes: number;
}

export function emptyGeminiFile(): GeminiFileRead {
  return { carry: '', lines: 0, costs: [], uncapped: 0, objects: [], bytes: 0 };
}

/** The types a Gemini batch file goes up as (`mimeType: 'jsonl'` in Google's examples). */
const JSON_LINES = new Set(['jsonl', 'application/jsonl', 'application/x-jsonl', 'application/json-lines', 'application/jsonlines', 'application/x-ndjson']);

export function isJsonLines(type: string): boolean {
  return JSON_LINES.has(type.split(';')[0]!.trim().toLowerCase());
}

/** Reads the whole lines of another chunk of a Gemini batch file; `last`: the file ends with it. A line at fault refuses the chunk, naming the line. */
export function readGeminiFile(read: GeminiFileRead, chunk: Buffer, last: boolean, defaultMaxTokens: number): GeminiFileRead {
  const carried = read.carry === '' ? chunk : Buffer.concat([Buffer.from(read.carry, 'base64'), chunk]);
  const end = last ? carried.length : carried.lastIndexOf(10) + 1;
  const next: GeminiFileRead = { carry: carried.subarray(end).toString('base64'), lines: read.lines, costs: [...read.costs], uncapped: read.uncapped, objects: [...read.objects], bytes: read.bytes + chunk.length };
  const objects = new Set(next.objects);
  const route = geminiRoute('/v1beta/models/batch-file:generateContent', '')!;
  const texts = carried.subarray(0, end).toString('utf8').split('\n');
  // The piece after the last line end: nothing, or (at the file's end) a last line with no end.
  if (texts.at(-1) === '') texts.pop();
  for (const text of texts) {
    next.lines++;
    if (text.trim() === '') continue;
    const where = `line ${next.lines} of the batch file`;
    let line: unknown;
    try {
      line = JSON.parse(text);
    } catch {
      throw badRequest(`${where} is not JSON: each line is one request, {"key": …, "request": {"contents": […]}}`);
    }
    try {
      if (!isObject(line) || !isObject(line.request)) throw badRequest('it must be {"key": …, "request": {…}} with the generateContent request');
      if (next.costs.length / 3 >= MAX_ANTHROPIC_REQUESTS) throw badRequest(`a batch holds at most ${MAX_ANTHROPIC_REQUESTS} requests`);
      const raw = Buffer.from(text);
      for (const id of storedObjectsNamed(raw, line)) objects.add(id);
      // Google reads the request's fields in either case (generation_config, generationConfig).
      const shaped = shapeRequest(route, camelCased(line.request) as Record<string, unknown>, raw, defaultMaxTokens);
      if (shaped.uncapped !== undefined) next.uncapped++;
      next.costs.push(shaped.promptTokens, shaped.maxTokens, (shaped.searches ?? 0) > 0 ? 1 : 0);
    } catch (err) {
      throw atRequest(where, err);
    }
  }
  // A line past the limit on a body, unended, is not a request the gateway could read whole.
  if (Buffer.byteLength(next.carry, 'base64') > MAX_LINE_BYTES) throw badRequest(`line ${next.lines + 1} of the batch file is longer than ${MAX_LINE_BYTES} bytes`);
  next.objects = [...objects];
  return next;
}

/** The longest line of a Gemini batch file the gateway reads (Google's limit on an inline batch is 20 MB in all). */
const MAX_LINE_BYTES = 20 * 1024 * 1024;

/** A Gemini batch file's requests run with `model`: what the batch may cost, at batch rates. */
export function geminiFileSummary(read: GeminiFileRead, model: string, r: BatchReading): BatchSummary {
  if (!GEMINI_MODEL.test(model)) throw badRequest(`'${model.slice(0, 100)}' is not a Gemini model id`);
  const requests = read.costs.length / 3;
  if (requests === 0) throw badRequest('the batch file holds no requests');
  r.allowModel(model);
  let promptTokens = 0;
  let maxTokens = 0;
  let reserveUsd = 0;
  for (let i = 0; i < read.costs.length; i += 3) {
    const [p, m, searches] = [read.costs[i]!, read.costs[i + 1]!, read.costs[i + 2]!];
    promptTokens += p;
    maxTokens += m;
    reserveUsd += r.worst(model, { model, stream: false, promptTokens: p, maxTokens: m, body: EMPTY, ...(searches > 0 ? { searches: 1, searchQueries: DEFAULT_SEARCHES } : {}) });
  }
  return { endpoint: `/v1beta/models/${model}:generateContent`, model, requests, promptTokens, maxTokens, reserveUsd, uncapped: read.uncapped };
}

const EMPTY = Buffer.alloc(0);

/** A JSON value with its object keys in camelCase (`max_output_tokens` → `maxOutputTokens`). */
function camelCased(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelCased);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = camelCased(x);
  return out;
}
