/**
 * Files and batches made through the gateway: whose each is, and the batches followed until they have
 * ended, then billed.
 *
 * A provider keeps uploaded files and batches for the whole project its key belongs to, and every user
 * of a gateway shares its projects: each file and batch is recorded as its uploader's (Owners; on
 * Redis, for every instance), and reached through the gateway by them alone. An OpenAI batch also
 * carries its user's id in its metadata, as a stored response does, which says whose it is after a
 * restart.
 *
 * A batch runs for up to a day, at half the standard rates, and the answer that creates it carries no
 * usage. Its worst case (each request's, summed when its requests were read: batch-lines.ts) is held
 * against the budgets from its creation until it has ended, like a background response's; it is then
 * billed for what its requests used, read from its results (OpenAI's output file, Anthropic's results),
 * each request at the rates its own prompt length calls for.
 */
import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { SharedValues, SharedWork, UserRecord } from '../store/types.js';
import type { Caller } from './auth.js';
import { BackgroundResponses, type Asking, type BackgroundOptions, type Handover, type ToFollow } from './background-responses.js';
import type { BatchSummary, GeminiFileRead } from './batch-lines.js';
import { Cancel } from './cancel.js';
import { jsonObject } from './json-body.js';
import { packFlight, readPacked, unpackFlight, userNow, type Flight, type PackedWork } from './flight.js';
import type { PoolKey } from './keys.js';
import type { Logger } from './logger.js';
import { Owners, type OwnerRecord } from './owners.js';
import { anthropic, ANTHROPIC_VERSION } from './providers/anthropic.js';
import { gemini } from './providers/gemini.js';
import { openai } from './providers/openai.js';
import type { Prices } from './providers/prices.js';
import type { Usage } from './providers/types.js';
import type { Route } from './routes.js';
import type { Upstream } from './upstream.js';
import type { UpstreamBody } from './upstream-call.js';

/** How long the gateway knows whose a file or batch is: OpenAI's batches and Anthropic's results are kept about as long. */
export const OWNED_DAYS = 30;
const OWNED_MS = OWNED_DAYS * 24 * 3_600_000;
/** How long an upload under way is known: Google keeps a session open for about a week (OpenAI an upload for an hour). */
const UPLOAD_MS = 7 * 24 * 3_600_000;

/** OpenAI's Files API, and Anthropic's (beta), at the same path: told apart by the id, or by the headers Anthropic's SDK sends. */
export const FILES_ROUTE: Route = { kind: 'file', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: openai, upstreamPath: '/files' };
export const ANTHROPIC_FILES_ROUTE: Route = { kind: 'file', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: anthropic, upstreamPath: '/v1/files' };
/** OpenAI's Uploads API (`/v1/uploads`): a file sent in parts, which becomes a file of the Files API when completed. */
export const UPLOADS_ROUTE: Route = { kind: 'file', method: 'POST', provider: openai, upstreamPath: '/uploads' };
/** Gemini's Files API: uploaded in a resumable session at `/upload/v1beta/files`, then retrieved, listed and deleted at `/v1beta/files`. */
export const GEMINI_FILES_ROUTE: Route = { kind: 'file', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: gemini, upstreamPath: '/v1beta/files' };
export const GEMINI_UPLOAD_PATH = '/upload/v1beta/files';
/** Where Google's REST examples read a file's bytes (its SDK uses `/v1beta/files/{id}:download`). */
export const GEMINI_DOWNLOAD_PREFIX = '/download/v1beta/files/';
/** Gemini's context caches (`/v1beta/cachedContents`): made, read, kept longer, deleted and listed, each its maker's alone, held against the budgets for as long as it is kept. */
export const GEMINI_CACHES_ROUTE: Route = { kind: 'cache', method: 'GET', methods: ['GET', 'POST', 'PATCH', 'DELETE'], provider: gemini, upstreamPath: '/v1beta/cachedContents' };
/** OpenAI's conversations (`/v1/conversations`, and their items), which Responses API requests continue: each its user's alone. */
export const CONVERSATIONS_ROUTE: Route = { kind: 'conversation', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: openai, upstreamPath: '/conversations' };
/** OpenAI's vector stores (`/v1/vector_stores`, their files and file batches), which `file_search` searches: each its user's alone. */
export const VECTOR_STORES_ROUTE: Route = { kind: 'vector-store', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: openai, upstreamPath: '/vector_stores' };

/**
 * An OpenAI object with metadata, so tagged with its user as a stored response is: what follows its
 * id in a path, whether a list of them can be asked for, and what it is called in messages.
 */
export interface TaggedKind {
  route: Route;
  what: string;
  id: RegExp;
  /** What may follow the id in a path (its items, its files). */
  rest: RegExp;
  where: string;
  listed: boolean;
}
export const CONVERSATION_ID = /^conv_[A-Za-z0-9_-]{1,200}$/;
export const VECTOR_STORE_ID = /^vs_[A-Za-z0-9_-]{1,200}$/;
export const CONVERSATIONS: TaggedKind = { route: CONVERSATIONS_ROUTE, what: 'conversation', id: CONVERSATION_ID, rest: /^(?:\/items(?:\/[A-Za-z0-9][A-Za-z0-9_-]{0,200})?)?$/, where: '/v1/conversations/conv_…, …/items, …/items/{item_id}', listed: false };
export const VECTOR_STORES: TaggedKind = {
  route: VECTOR_STORES_ROUTE,
  what: 'vector store',
  id: VECTOR_STORE_ID,
  rest: /^(?:\/search|\/files(?:\/file-[A-Za-z0-9_-]{1,200}(?:\/content)?)?|\/file_batches(?:\/vsfb_[A-Za-z0-9_-]{1,200}(?:\/(?:cancel|files))?)?)?$/,
  where: '/v1/vector_stores/vs_…, …/search, …/files, …/files/file-…, …/file_batches, …/file_batches/vsfb_…',
  listed: true,
};
const TAGGED_PATH = /^\/v1\/(conversations|vector_stores)(?:\/([^/]+)(\/.*)?)?$/;
/** A batch reached (retrieved, cancelled, listed, its results read): counted as a request, billed nothing. */
export const OPENAI_BATCH_ROUTE: Route = { kind: 'batch', method: 'GET', methods: ['GET', 'POST'], provider: openai, upstreamPath: '/batches' };
export const ANTHROPIC_BATCH_ROUTE: Route = { kind: 'batch', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: anthropic, upstreamPath: '/v1/messages/batches' };
export const GEMINI_BATCH_ROUTE: Route = { kind: 'batch', method: 'GET', methods: ['GET', 'POST', 'DELETE'], provider: gemini, upstreamPath: '/v1beta/batches' };
/** A batch created, and billed once it has ended. */
export const OPENAI_BATCH_RUN: Route = { ...OPENAI_BATCH_ROUTE, kind: 'batches' };
export const ANTHROPIC_BATCH_RUN: Route = { ...ANTHROPIC_BATCH_ROUTE, kind: 'batches' };
export const GEMINI_BATCH_RUN: Route = { ...GEMINI_BATCH_ROUTE, kind: 'batches' };

/** Whose batch API: OpenAI's, Anthropic's Message Batches, or Gemini's batch mode. */
export type BatchProvider = 'openai' | 'anthropic' | 'gemini';

const FILE_PATH = /^\/v1\/files(?:\/([^/]+)(?:\/(content))?)?$/;
const UPLOADS_PATH = /^\/v1\/uploads(?:\/([^/]+)\/(parts|complete|cancel))?$/;
export const UPLOAD_ID = /^upload_[A-Za-z0-9_-]{1,200}$/;
const OPENAI_BATCH_PATH = /^\/v1\/batches(?:\/([^/]+)(?:\/(cancel))?)?$/;
const ANTHROPIC_BATCH_PATH = /^\/v1\/messages\/batches(?:\/([^/]+)(?:\/(cancel|results))?)?$/;
const GEMINI_BATCH_PATH = /^\/v1beta\/batches(?:\/([^/:]+)(?::(cancel))?)?$/;
const GEMINI_CREATE_PATH = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/;
const GEMINI_CACHE_PATH = /^\/v1beta\/cachedContents(?:\/([^/:]+))?$/;
/** A context cache's id (its name without `cachedContents/`), as Google makes them. */
export const GEMINI_CACHE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const GEMINI_FILE_PATH = /^(?:\/download)?\/v1beta\/files(?:\/([^/:]+)(?::(download))?)?$/;
/** Ids as the providers make them; nothing else reaches an upstream path. */
export const FILE_ID = /^file-[A-Za-z0-9_-]{1,200}$/;
export const ANTHROPIC_FILE_ID = /^file_[A-Za-z0-9]{1,200}$/;
const OPENAI_BATCH_ID = /^batch_[A-Za-z0-9_-]{1,200}$/;
const ANTHROPIC_BATCH_ID = /^msgbatch_[A-Za-z0-9_-]{1,200}$/;
const GEMINI_BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,200}$/;
/** A Gemini file's id (its name without `files/`): up to 40 lowercase letters, digits and dashes. */
const GEMINI_FILE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** A Gemini file as a request names it: `files/{id}`, or its URI (`https://generativelanguage.googleapis.com/v1beta/files/{id}`). */
const GEMINI_FILE_NAMED = /^(?:https:\/\/generativelanguage\.googleapis\.com\/v1(?:beta|alpha)?\/)?(files\/[a-z0-9][a-z0-9-]{0,39})$/;

/** One call on files or batches: its route, the object it names, and the part of it (`content`, `cancel`, `results`). */
export interface ObjectCall {
  route: Route;
  id?: string;
  part?: string;
  /** The model a Gemini batch is created for (its path names it). */
  model?: string;
  /** A tagged object's kind, and what follows its id in the path (`/items/…`). */
  tagged?: TaggedKind;
  rest?: string;
}

/** True for a file's id as OpenAI or Anthropic makes them. */
export function isFileId(id: string): boolean {
  return FILE_ID.test(id) || ANTHROPIC_FILE_ID.test(id);
}

/** The name (`files/{id}`) of the Gemini file a request names by its name or URI, which is what the gateway records it under; undefined for anything else. */
export function geminiFileName(named: string): string | undefined {
  return GEMINI_FILE_NAMED.exec(named)?.[1];
}

/**
 * The API a files or batches path belongs to (its id and part checked when it is handled); undefined
 * for any other path. `anthropicClient`: the call carries `anthropic-version`, as Anthropic's SDK sends.
 */
export function objectRoute(path: string, anthropicClient: boolean): Route | undefined {
  if (path === '/v1/files' || path.startsWith('/v1/files/')) return path.startsWith('/v1/files/file_') || (anthropicClient && !path.startsWith('/v1/files/file-')) ? ANTHROPIC_FILES_ROUTE : FILES_ROUTE;
  if (path === '/v1/batches' || path.startsWith('/v1/batches/')) return OPENAI_BATCH_ROUTE;
  if (path === '/v1/uploads' || path.startsWith('/v1/uploads/')) return UPLOADS_ROUTE;
  if (path === '/v1/conversations' || path.startsWith('/v1/conversations/')) return CONVERSATIONS_ROUTE;
  if (path === '/v1/vector_stores' || path.startsWith('/v1/vector_stores/')) return VECTOR_STORES_ROUTE;
  if (path === '/v1/messages/batches' || path.startsWith('/v1/messages/batches/')) return ANTHROPIC_BATCH_ROUTE;
  if (path === '/v1beta/files' || path.startsWith('/v1beta/files/') || path === GEMINI_UPLOAD_PATH || path.startsWith(GEMINI_DOWNLOAD_PREFIX)) return GEMINI_FILES_ROUTE;
  if (path === '/v1beta/batches' || path.startsWith('/v1beta/batches/') || (path.startsWith('/v1beta/models/') && path.endsWith(':batchGenerateContent'))) return GEMINI_BATCH_ROUTE;
  if (path === '/v1beta/cachedContents' || path.startsWith('/v1beta/cachedContents/')) return GEMINI_CACHES_ROUTE;
  return undefined;
}

/** The call a path of `route` (objectRoute's) names; a 404 message when it names none (an id not shaped as the provider makes them). */
export function objectCall(path: string, route: Route): ObjectCall | string {
  const file = FILE_PATH.exec(path);
  if (file !== null && route === ANTHROPIC_FILES_ROUTE) return checked(route, file, ANTHROPIC_FILE_ID, '/v1/files/file_…, /v1/files/file_…/content');
  if (file !== null) return checked(FILES_ROUTE, file, FILE_ID, '/v1/files/file-…, /v1/files/file-…/content');
  const up = UPLOADS_PATH.exec(path);
  if (up !== null) return checked(UPLOADS_ROUTE, up, UPLOAD_ID, '/v1/uploads/upload_…/parts, …/complete, …/cancel');
  const ob = OPENAI_BATCH_PATH.exec(path);
  if (ob !== null) return checked(OPENAI_BATCH_ROUTE, ob, OPENAI_BATCH_ID, '/v1/batches/batch_…, /v1/batches/batch_…/cancel');
  const ab = ANTHROPIC_BATCH_PATH.exec(path);
  if (ab !== null) return checked(ANTHROPIC_BATCH_ROUTE, ab, ANTHROPIC_BATCH_ID, '/v1/messages/batches/msgbatch_…, …/cancel, …/results');
  const gb = GEMINI_BATCH_PATH.exec(path);
  if (gb !== null) return checked(GEMINI_BATCH_ROUTE, gb, GEMINI_BATCH_ID, '/v1beta/batches/{id}, /v1beta/batches/{id}:cancel');
  const gc = GEMINI_CREATE_PATH.exec(path);
  if (gc !== null) return { route: GEMINI_BATCH_ROUTE, model: gc[1]! };
  if (path === GEMINI_UPLOAD_PATH) return { route: GEMINI_FILES_ROUTE, part: 'upload' };
  const gf = GEMINI_FILE_PATH.exec(path);
  if (gf !== null && (gf[2] !== undefined || !path.startsWith('/download/'))) return checked(GEMINI_FILES_ROUTE, gf, GEMINI_FILE_ID, '/v1beta/files/{id}, /v1beta/files/{id}:download, and uploads at /upload/v1beta/files');
  const cc = GEMINI_CACHE_PATH.exec(path);
  if (cc !== null) return checked(GEMINI_CACHES_ROUTE, cc, GEMINI_CACHE_ID, '/v1beta/cachedContents/{id}');
  const tg = TAGGED_PATH.exec(path);
  if (tg !== null) {
    const kind = tg[1] === 'conversations' ? CONVERSATIONS : VECTOR_STORES;
    if (tg[2] === undefined) return { route: kind.route, tagged: kind };
    const rest = tg[3] ?? '';
    if (!kind.id.test(tg[2]) || !kind.rest.test(rest)) return `no route ${path.slice(0, 100)}: ${kind.where}`;
    return { route: kind.route, tagged: kind, id: tg[2], rest };
  }
  return `no route ${path.slice(0, 100)}: files are reached at /v1/files and /v1/uploads (Gemini's at /v1beta/files), batches at /v1/batches, /v1/messages/batches and /v1beta/batches, Gemini's context caches at /v1beta/cachedContents, conversations at /v1/conversations, vector stores at /v1/vector_stores`;
}

function checked(route: Route, m: RegExpExecArray, id: RegExp, where: string): ObjectCall | string {
  if (m[1] === undefined) return { route };
  if (!id.test(m[1])) return `no route ${m[0].slice(0, 100)}: ${where}`;
  return { route, id: m[1], ...(m[2] !== undefined ? { part: m[2] } : {}) };
}

/**
 * An Anthropic batch as its client gets it: its `results_url` (which Anthropic's SDK fetches as it is)
 * made a path under the client's base URL, so that the results are read through the gateway, never
 * from Anthropic with the gateway token.
 */
export function throughGateway(batch: Record<string, unknown>): Record<string, unknown> {
  if (batch.type !== 'message_batch' || typeof batch.id !== 'string' || !ANTHROPIC_BATCH_ID.test(batch.id) || typeof batch.results_url !== 'string') return batch;
  return { ...batch, results_url: `/v1/messages/batches/${batch.id}/results` };
}

/** The state of an OpenAI batch object (a JSON answer); undefined for anything else. */
function openaiState(answer: Buffer): { id: string; status: string } | undefined {
  const o = jsonObject(answer) as { object?: unknown; id?: unknown; status?: unknown } | undefined;
  if (o?.object !== 'batch' || typeof o.id !== 'string' || typeof o.status !== 'string' || !OPENAI_BATCH_ID.test(o.id)) return undefined;
  return { id: o.id, status: o.status };
}

/** The state of an Anthropic message batch (a JSON answer); undefined for anything else. */
function anthropicState(answer: Buffer): { id: string; status: string } | undefined {
  const o = jsonObject(answer) as { type?: unknown; id?: unknown; processing_status?: unknown } | undefined;
  if (o?.type !== 'message_batch' || typeof o.id !== 'string' || typeof o.processing_status !== 'string' || !ANTHROPIC_BATCH_ID.test(o.id)) return undefined;
  return { id: o.id, status: o.processing_status };
}

/** The state of a Gemini batch (its long-running operation, a JSON answer): its id without `batches/`; undefined for anything else. */
function geminiState(answer: Buffer): { id: string; status: string } | undefined {
  const o = jsonObject(answer) as { name?: unknown; metadata?: { state?: unknown } } | undefined;
  const id = typeof o?.name === 'string' && o.name.startsWith('batches/') ? o.name.slice('batches/'.length) : undefined;
  if (id === undefined || !GEMINI_BATCH_ID.test(id) || typeof o?.metadata?.state !== 'string') return undefined;
  return { id, status: o.metadata.state };
}


/** A batch runs within a day (OpenAI's completion window, Anthropic's expiry): one still running an hour past that is cancelled. */
const BATCH_MAX_MS = 25 * 3_600_000;
/** What every provider's batches have in common as followed work: a day to run, a cancel that winds down, results their user still wants at a shutdown. */
const BATCH_ASKING = { noun: 'batch', plural: 'batches', logKey: 'batchId', aloneAtShutdown: 'bill', cancelWinds: true, maxMs: BATCH_MAX_MS } as const;
const OPENAI_ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);
const OPENAI_ASKING: Asking = {
  ...BATCH_ASKING,
  statusPath: (id) => `/batches/${id}`,
  cancelPath: (id) => `/batches/${id}/cancel`,
  state: openaiState,
  finished: (s) => OPENAI_ENDED.has(s),
  outcome: (s) => (s === 'completed' ? 'ok' : s),
};
const ANTHROPIC_ASKING: Asking = {
  ...BATCH_ASKING,
  statusPath: (id) => `/v1/messages/batches/${id}`,
  cancelPath: (id) => `/v1/messages/batches/${id}/cancel`,
  headers: { 'anthropic-version': ANTHROPIC_VERSION },
  state: anthropicState,
  finished: (s) => s === 'ended',
  outcome: () => 'ok',
};

const GEMINI_ENDED = new Set(['BATCH_STATE_SUCCEEDED', 'BATCH_STATE_FAILED', 'BATCH_STATE_CANCELLED', 'BATCH_STATE_EXPIRED']);
const GEMINI_ASKING: Asking = {
  ...BATCH_ASKING,
  statusPath: (id) => `/v1beta/batches/${id}`,
  cancelPath: (id) => `/v1beta/batches/${id}:cancel`,
  state: geminiState,
  finished: (s) => GEMINI_ENDED.has(s),
  outcome: (s) => (s === 'BATCH_STATE_SUCCEEDED' ? 'ok' : s.slice('BATCH_STATE_'.length).toLowerCase()),
};
const ASKING: Record<BatchProvider, Asking> = { openai: OPENAI_ASKING, anthropic: ANTHROPIC_ASKING, gemini: GEMINI_ASKING };

/** What the batches need of the gateway. */
export interface BatchesGateway {
  readonly openai: Upstream;
  readonly anthropic: Upstream;
  readonly gemini: Upstream;
  readonly log: Logger;
  readonly prices: Prices;
  /** The store every instance shares (Redis), for whose a file or batch is. */
  readonly shared: SharedValues | undefined;
  readonly background: BackgroundOptions;
  /** Work any instance on the shared store can take over (Redis), by kind; undefined alone. */
  work(kind: string): SharedWork | undefined;
  /** Bills a flight (the ledger, the store, the log line, the metrics). */
  finish(f: Flight, usage: Usage, outcome: string, billed: boolean): void;
  /** Why the caller may no longer spend (a disabled user, a revoked token), or undefined. */
  refusal(caller: Caller): string | undefined;
  user(id: string): UserRecord | undefined;
}

interface FollowedBatch {
  f: Flight;
  summary: BatchSummary;
  up: Upstream;
  /** The label of the key that created it. */
  key: string;
}

interface PackedBatch extends PackedWork {
  provider: BatchProvider;
  since: number;
  summary: BatchSummary;
}

/** Results read at most this large (OpenAI's output file of 50 000 requests is a few hundred MB at worst). */
const MAX_RESULTS = 1024 * 1024 * 1024;

export class Batches {
  /** Whose each file is: uploaded through the gateway, or a batch's output. */
  private readonly files: Owners;
  private readonly owners: Owners;
  /** Uploads under way (Gemini's sessions, OpenAI's uploads), by their id: whose each is, with which provider and key, and where its bytes go. */
  private readonly uploads: Owners;
  private readonly followed: Record<BatchProvider, BackgroundResponses<FollowedBatch>>;

  constructor(private readonly g: BatchesGateway) {
    this.files = new Owners('file', OWNED_MS, g.shared);
    this.owners = new Owners('batch', OWNED_MS, g.shared);
    this.uploads = new Owners('upload', UPLOAD_MS, g.shared);
    const follow = (provider: BatchProvider) => {
      const work = g.work(`batch-${provider}`);
      const handover: Handover<FollowedBatch> | undefined = work && {
        work,
        owner: randomUUID(),
        pack: (x) => this.pack(provider, x),
        unpack: (raw) => this.unpack(raw),
        drop: () => undefined,
      };
      return new BackgroundResponses<FollowedBatch>((x, answer, outcome) => this.bill(provider, x, answer, outcome), g.log, g.background, (x) => g.refusal(x.f.caller), handover, ASKING[provider]);
    };
    this.followed = { openai: follow('openai'), anthropic: follow('anthropic'), gemini: follow('gemini') };
  }

  /** True when what another instance recorded can be found here. */
  get sharedAcrossInstances(): boolean {
    return this.files.sharedAcrossInstances;
  }

  /** A file uploaded through the gateway: its uploader's, with what its requests may cost when it is a batch's input (OpenAI's read for its model, Gemini's for any). */
  noteFile(id: string, userId: string, up: Upstream, key: PoolKey, read: { batch?: BatchSummary; geminiBatch?: GeminiFileRead } = {}): void {
    const { batch, geminiBatch } = read;
    this.files.set(id, { user: userId, provider: up.provider.name, key: key.label, ...(batch ? { batch, model: batch.model } : {}), ...(geminiBatch ? { geminiBatch } : {}) });
  }

  fileOwner(id: string): Promise<OwnerRecord | undefined> {
    return this.files.get(id);
  }

  forgetFile(id: string): void {
    this.files.delete(id);
  }

  /** An upload opened through the gateway (`record.upload` says where its bytes go). */
  noteUpload(sessionId: string, record: OwnerRecord): void {
    this.uploads.set(sessionId, record);
  }

  /** Read where every instance writes: the part before this one may have reached another instance, which recorded the upload's progress. */
  uploadOwner(sessionId: string): Promise<OwnerRecord | undefined> {
    return this.uploads.get(sessionId, true);
  }

  forgetUpload(sessionId: string): void {
    this.uploads.delete(sessionId);
  }

  /** Whose a batch is, and the key that made it; undefined when the gateway does not know it. */
  batchOwner(id: string): Promise<OwnerRecord | undefined> {
    return this.owners.get(id);
  }

  noteBatch(id: string, record: OwnerRecord): void {
    this.owners.set(id, record);
  }

  forgetBatch(id: string): void {
    this.owners.delete(id);
  }

  /** The answer that created a batch: its owner recorded, and it is followed until it has ended (billed now when it already has). */
  created(provider: BatchProvider, answer: Buffer, f: Flight, summary: BatchSummary, up: Upstream, key: PoolKey): boolean {
    const asking = ASKING[provider];
    const s = asking.state(answer);
    if (s === undefined) return false;
    this.owners.set(s.id, { user: f.caller.user.id, provider: up.provider.name, key: key.label, model: summary.model, batch: summary });
    this.noteOutputs(answer, f.caller.user.id, up, key.label);
    this.followed[provider].follow(s.id, { f, summary, up, key: key.label }, up, key);
    this.g.log.info({ reqId: f.reqId, user: f.caller.user.name, batchId: s.id, requests: summary.requests }, 'batch followed until it ends');
    if (asking.finished(s.status)) this.followed[provider].seen(answer);
    return true;
  }

  /**
   * A batch object relayed to its owner: its output files become theirs, and it is billed now if it
   * has ended and is followed here; what it returns settles once the bill is made (its results read).
   */
  seen(provider: BatchProvider, answer: Buffer, owner: OwnerRecord, up: Upstream): Promise<void> | undefined {
    if (provider !== 'anthropic') this.noteOutputs(answer, owner.user, up, owner.key);
    return this.followed[provider].seen(answer);
  }

  following(provider: BatchProvider, id: string): boolean {
    return this.followed[provider].following(id);
  }

  /** The gateway is shutting down: alone, each batch followed is billed as reserved (it runs on); shared, handed over. */
  async stopAll(): Promise<void> {
    await Promise.all(Object.values(this.followed).map((x) => x.stopAll()));
  }

  get size(): number {
    return this.followed.openai.size + this.followed.anthropic.size + this.followed.gemini.size;
  }

  /** An OpenAI batch's output and error files, a Gemini batch's responses file, are made by the provider, for the batch's owner to read. */
  private noteOutputs(answer: Buffer, user: string, up: Upstream, key: string): void {
    const o = jsonObject(answer);
    for (const name of ['output_file_id', 'error_file_id']) {
      const id = o?.[name];
      if (typeof id === 'string' && FILE_ID.test(id)) this.files.set(id, { user, provider: up.provider.name, key });
    }
    const file = geminiResponsesFile(o);
    if (file !== undefined) this.files.set(file, { user, provider: up.provider.name, key });
  }

  /** Bills an ended batch for what its requests used, each at its own rates; as reserved when that cannot be read. */
  private async bill(provider: BatchProvider, x: FollowedBatch, answer: Buffer | undefined, outcome: string): Promise<void> {
    const { f, summary } = x;
    const reserved = (why: string) => {
      this.g.finish(f, { tokensIn: summary.promptTokens, tokensOut: summary.maxTokens, serviceTier: 'batch' }, why, true);
    };
    const key = x.up.pool.byLabel(x.key);
    if (answer === undefined || key === undefined) return reserved(`${outcome}_estimated`);
    let used: Used | undefined;
    try {
      used = provider === 'openai' ? await this.openaiUsed(x, answer, key) : provider === 'anthropic' ? await this.anthropicUsed(x, answer, key) : await this.geminiUsed(x, answer, key);
    } catch (err) {
      this.g.log.warn({ reqId: f.reqId, err }, "reading an ended batch's results failed; it is billed as reserved");
    }
    if (used === undefined) return reserved(`${outcome}_estimated`);
    f.flatUsd = used.usd;
    this.g.finish(f, used.usage, used.estimated ? `${outcome}_estimated` : outcome, true);
  }

  /** An OpenAI batch's usage: its output file, line by line; else the batch's own total; nothing when no request ran. */
  private async openaiUsed(x: FollowedBatch, answer: Buffer, key: PoolKey): Promise<Used | undefined> {
    const o = jsonObject(answer)!;
    const output = o.output_file_id;
    if (typeof output === 'string' && FILE_ID.test(output)) {
      const used = await this.readLines(x, key, `/files/${output}/content`, undefined, (line) => {
        const body = (line as { response?: { body?: unknown } }).response?.body;
        return body === undefined ? undefined : openai.usageFromJson(body);
      });
      if (used !== undefined) return used;
    }
    const counts = o.request_counts as { completed?: unknown } | undefined;
    const total = o.usage as { input_tokens?: unknown; output_tokens?: unknown; input_tokens_details?: { cached_tokens?: unknown } } | undefined;
    if (typeof total?.input_tokens === 'number' && typeof total.output_tokens === 'number') {
      // A total alone: priced as that many requests of its average size (the long-context rates apply
      // per request), so an estimate.
      const n = Math.max(1, typeof counts?.completed === 'number' ? counts.completed : x.summary.requests);
      const cached = typeof total.input_tokens_details?.cached_tokens === 'number' ? total.input_tokens_details.cached_tokens : 0;
      const usage: Usage = { tokensIn: total.input_tokens, tokensOut: total.output_tokens, cachedIn: cached, serviceTier: 'batch' };
      const each: Usage = { tokensIn: usage.tokensIn / n, tokensOut: usage.tokensOut / n, cachedIn: cached / n, serviceTier: 'batch' };
      return { usage, usd: this.g.prices.usageCost(x.f.model, each) * n, estimated: true };
    }
    // Failed before any request ran (a file OpenAI would not take): nothing to bill.
    if (counts?.completed === 0 || (o.status === 'failed' && output === undefined)) return { usage: { tokensIn: 0, tokensOut: 0, serviceTier: 'batch' }, usd: 0, estimated: false };
    return undefined;
  }

  /** An Anthropic batch's usage: its results, request by request. */
  private anthropicUsed(x: FollowedBatch, answer: Buffer, key: PoolKey): Promise<Used | undefined> {
    const id = anthropicState(answer)!.id;
    return this.readLines(x, key, `/v1/messages/batches/${id}/results`, ANTHROPIC_ASKING.headers, (line) => {
      const result = (line as { result?: { type?: unknown; message?: unknown } }).result;
      return result?.type === 'succeeded' ? anthropic.usageFromJson(result.message) : undefined;
    });
  }

  /** A Gemini batch's usage: its inline responses, or its responses file, each priced on its own. */
  private async geminiUsed(x: FollowedBatch, answer: Buffer, key: PoolKey): Promise<Used | undefined> {
    const o = jsonObject(answer) as { metadata?: { output?: unknown }; response?: unknown } | undefined;
    const file = geminiResponsesFile(o);
    if (file !== undefined) return this.readLines(x, key, `/v1beta/${file}:download?alt=media`, undefined, (line) => gemini.usageFromJson((line as { response?: unknown } | null)?.response));
    const output = (o?.metadata?.output ?? o?.response) as { inlinedResponses?: { inlinedResponses?: unknown } } | undefined;
    const items = output?.inlinedResponses?.inlinedResponses;
    if (!Array.isArray(items)) return undefined;
    const total = emptyTotal();
    let usd = 0;
    for (const item of items) {
      const u = gemini.usageFromJson((item as { response?: unknown } | null)?.response);
      if (u !== undefined) usd += this.add(total, x.f.model, u);
    }
    return { usage: total, usd, estimated: false };
  }

  /** Adds one request's usage to a batch's total; its cost at batch rates. */
  private add(total: Usage, model: string, u: Usage): number {
    total.tokensIn += u.tokensIn;
    total.tokensOut += u.tokensOut;
    total.cachedIn! += u.cachedIn ?? 0;
    total.cacheWriteIn! += u.cacheWriteIn ?? 0;
    total.cacheWrite1hIn! += u.cacheWrite1hIn ?? 0;
    return this.g.prices.usageCost(model, { ...u, serviceTier: 'batch' });
  }

  /** Sums the usage of each line of a results file (JSON lines), each request priced on its own. */
  private async readLines(x: FollowedBatch, key: PoolKey, path: string, headers: Record<string, string> | undefined, usageOf: (line: unknown) => Usage | undefined): Promise<Used | undefined> {
    const r = await x.up.sendOn(key, path, new Cancel(), 'GET', { headers: { ...headers, accept: 'application/jsonl, application/json' } });
    if (r.statusCode >= 300) {
      await r.body.dump();
      this.g.log.warn({ reqId: x.f.reqId, status: r.statusCode, path }, "an ended batch's results could not be read");
      return undefined;
    }
    const total = emptyTotal();
    let usd = 0;
    await eachLine(r.body, MAX_RESULTS, (text) => {
      let line: unknown;
      try {
        line = JSON.parse(text);
      } catch {
        return;
      }
      const u = usageOf(line);
      if (u !== undefined) usd += this.add(total, x.f.model, u);
    });
    return { usage: total, usd, estimated: false };
  }

  private pack(provider: BatchProvider, { item, since }: ToFollow<FollowedBatch>): Buffer {
    const packed: PackedBatch = { v: 1, ...packFlight(item.f), provider, since, summary: item.summary, key: item.key };
    return Buffer.from(JSON.stringify(packed));
  }

  /** A batch another instance left: its flight made again here, billed through this instance. */
  private unpack(raw: Buffer): ToFollow<FollowedBatch> | undefined {
    const p = readPacked<PackedBatch>(raw);
    if (p === undefined || p.provider === undefined || !(p.provider in ASKING) || typeof p.summary?.model !== 'string' || typeof p.since !== 'number') return undefined;
    const run: Record<BatchProvider, Route> = { openai: OPENAI_BATCH_RUN, anthropic: ANTHROPIC_BATCH_RUN, gemini: GEMINI_BATCH_RUN };
    const route = run[p.provider];
    const f = unpackFlight(p, route, route.provider, userNow(p, this.g.user));
    const up = this.g[p.provider];
    return { item: { f, summary: p.summary, up, key: p.key }, up, key: up.pool.byLabel(p.key), since: p.since };
  }
}

/** The file a Gemini batch from a file wrote its responses to (`files/{id}`), when it has ended. */
function geminiResponsesFile(o: Record<string, unknown> | undefined): string | undefined {
  const output = ((o?.metadata as { output?: unknown } | undefined)?.output ?? o?.response) as { responsesFile?: unknown } | undefined;
  const file = output?.responsesFile;
  return typeof file === 'string' && geminiFileName(file) === file ? file : undefined;
}

/** A batch's total, each kind of token summed. */
function emptyTotal(): Usage {
  return { tokensIn: 0, tokensOut: 0, cachedIn: 0, cacheWriteIn: 0, cacheWrite1hIn: 0, serviceTier: 'batch' };
}

interface Used {
  usage: Usage;
  usd: number;
  estimated: boolean;
}

/** Calls `fn` with each line of a body as it arrives; fails past `limit` bytes. */
function eachLine(body: UpstreamBody, limit: number, fn: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let rest = '';
    let bytes = 0;
    // A character may be cut between two chunks.
    const utf8 = new StringDecoder('utf8');
    body.pipe({
      data(chunk) {
        bytes += chunk.length;
        if (bytes > limit) {
          body.destroy();
          reject(new Error(`results larger than ${limit} bytes`));
          return;
        }
        const text = rest + utf8.write(chunk);
        const lines = text.split('\n');
        rest = lines.pop()!;
        for (const l of lines) if (l.trim() !== '') fn(l);
      },
      end() {
        rest += utf8.end();
        if (rest.trim() !== '') fn(rest);
        resolve();
      },
      error: reject,
    });
  });
}
