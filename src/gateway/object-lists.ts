/**
 * Lists of what a provider keeps for the whole project (files, batches, vector stores, context caches), each user's
 * own alone.
 *
 * The provider lists everything its project holds, every user's, a page at a time. Filtering one page
 * would hand a user an empty page whenever others' objects fill it, and the SDKs stop paging there
 * (they page on from the last item they got). So a call reads on, page after page, until it has the
 * caller's `limit` or the list ends, and its cursor (`after`, `after_id`) is then one of the caller's
 * own items, which says which key's project to go on in. Gemini's lists and Anthropic's Files API
 * page by token: the token the gateway gives carries the key's place in the pool and the provider's
 * cursor.
 */
import { ANTHROPIC_BATCH_ROUTE, ANTHROPIC_FILES_ROUTE, FILES_ROUTE, GEMINI_BATCH_ROUTE, GEMINI_CACHES_ROUTE, GEMINI_FILES_ROUTE, OPENAI_BATCH_ROUTE, throughGateway, VECTOR_STORES, VECTOR_STORES_ROUTE, type BatchProvider } from './batches.js';
import { badRequest } from './http-error.js';
import { admitted, answerJson, anthropicHeaders, cancelOnClose, counted, jsonAnswer, NOTHING, refused, sendJson, unreachable, type ObjectRequest, type ObjectRoutesGateway } from './object-calls.js';
import type { OwnerRecord } from './owners.js';
import { isObject } from './providers/types.js';
import { OWNER_KEY } from './response-ownership.js';
import type { Route } from './routes.js';
import type { UpstreamAnswer } from './upstream-call.js';

/** Items asked of the provider a page (the most OpenAI's batch and vector store lists and Gemini's give). */
const PAGE = 100;
/** Pages read of one project for one call: past that, the call answers with what it found. */
const MAX_PAGES = 20;
/** What a list passes on as the client asked (the cursors and sizes are the gateway's own). */
const PASSED = ['order', 'purpose', 'before', 'before_id'];

/** How a provider's list goes on: after an item's id (`after`, `after_id`), or from a token it gave (Gemini's `pageToken`, Anthropic's Files API `page`). */
type Cursor = { by: 'id' | 'token'; at: string };

interface Page {
  items: Array<Record<string, unknown>>;
  /** Where the provider's list goes on; undefined at its end. */
  next: Cursor | undefined;
}

/** The query parameter that carries a cursor of this kind to the provider. */
function cursorParam(route: Route, by: Cursor['by']): string {
  if (route.provider.name === 'gemini') return 'pageToken';
  if (route.provider.name === 'anthropic') return by === 'token' ? 'page' : 'after_id';
  return 'after';
}

/**
 * The lists paged by a token, to the client too: Gemini's, and Anthropic's Files API (whose SDK pages
 * by `next_page`). The gateway's token names the key's place in the pool and the provider's cursor.
 */
const TOKEN_PAGED: ReadonlyMap<Route, string> = new Map([
  [GEMINI_BATCH_ROUTE, 'pageToken'],
  [GEMINI_FILES_ROUTE, 'pageToken'],
  [GEMINI_CACHES_ROUTE, 'pageToken'],
  [ANTHROPIC_FILES_ROUTE, 'page'],
]);
const GATEWAY_TOKEN = /^(\d{1,3})\.([it])\.(.{1,1024})$/s;

export async function list(g: ObjectRoutesGateway, r: ObjectRequest, route: Route): Promise<void> {
  const provider = route.provider.name as BatchProvider;
  const gemini = provider === 'gemini';
  const tokenParam = TOKEN_PAGED.get(route);
  const up = g[provider];
  up.requireKeys();
  const asked = new URLSearchParams(r.query);
  const sizeName = gemini ? 'pageSize' : 'limit';
  const given = asked.get(sizeName);
  const wanted = given === null ? (route === FILES_ROUTE ? 10_000 : 20) : Number(given);
  if (!Number.isSafeInteger(wanted) || wanted < 1) throw badRequest(`'${sizeName}' must be a positive integer`);
  // Paging backwards: one page of each project, as the provider gives it.
  const backward = asked.has('before') || asked.has('before_id');
  const fixed = new URLSearchParams();
  for (const k of PASSED) {
    const v = asked.get(k);
    if (v !== null) fixed.set(k, v.slice(0, 256));
  }
  fixed.set(sizeName, String(route === FILES_ROUTE ? Math.min(10_000, Math.max(wanted, PAGE)) : PAGE));
  const cancel = cancelOnClose(r.res);
  const f = counted(r, route, up, '-');
  const extra = await admitted(g, r, f, 0, 0, false);
  const keys = up.pool.keys;
  let from = 0;
  let cursor: Cursor | undefined;
  try {
    const token = tokenParam === undefined ? null : asked.get(tokenParam);
    const after = asked.get(cursorParam(route, 'id'));
    if (tokenParam !== undefined && token !== null) {
      const m = GATEWAY_TOKEN.exec(token);
      if (m === null || Number(m[1]) >= keys.length) throw badRequest(`'${tokenParam}' must be one a list through the gateway gave`);
      from = Number(m[1]);
      cursor = { by: m[2] === 't' ? 'token' : 'id', at: m[3]! };
    } else if (!gemini && after !== null) {
      // The caller's own item, made with one of the keys: its project is where the list goes on.
      cursor = { by: 'id', at: after };
      const owner = await recordedOwner(g, route, after);
      const k = owner === undefined ? -1 : keys.findIndex((x) => x.label === owner.key);
      if (k !== -1) from = k;
    }
  } catch (err) {
    refused(g, f, err);
    throw err;
  }
  const data: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  let more = false;
  let next: string | undefined;
  projects: for (let k = from; k < keys.length; k++) {
    let at = k === from ? cursor : undefined;
    for (let p = 0; p < (backward ? 1 : MAX_PAGES); p++) {
      const params = new URLSearchParams(fixed);
      if (at !== undefined) params.set(cursorParam(route, at.by), at.at.slice(0, 1024));
      let answer: UpstreamAnswer;
      try {
        answer = await up.sendOn(keys[k]!, `${route.upstreamPath}?${params.toString()}`, cancel, 'GET', route.provider.name === 'anthropic' ? { headers: anthropicHeaders(r.req) } : undefined);
      } catch (err) {
        throw unreachable(g, f, r.res, up, err);
      }
      if (answer.statusCode >= 400) return g.forwardError(f, answer, r.res, extra);
      let page: Page;
      try {
        page = pageOf(route, answerJson((await jsonAnswer(g, f, answer, route.provider)).toString('utf8'), up));
      } catch (err) {
        f.status = 502;
        g.finish(f, NOTHING, 'upstream_error', false, false);
        throw err;
      }
      const entries = page.items.map((item) => [idOf(route, item), item] as const).filter((e): e is readonly [string, Record<string, unknown>] => e[0] !== undefined && !seen.has(e[0]));
      for (const [id] of entries) seen.add(id);
      // Whose each is, asked of the store all at once (with Redis, one round trip each, not one after another).
      const owned = await Promise.all(entries.map(([id, item]) => ownedBy(g, route, id, item, r.caller.user.id)));
      entries.forEach(([, item], i) => {
        if (owned[i]) data.push(item);
      });
      if (page.next === undefined) break;
      if (backward || data.length >= wanted || p === MAX_PAGES - 1) {
        more = true;
        if (tokenParam !== undefined) next = `${k}.${page.next.by === 'token' ? 't' : 'i'}.${page.next.at}`;
        break projects;
      }
      at = page.next;
    }
  }
  // A page of the caller's own, as long as they asked; the next goes on after its last item (a token's pages are as the provider cut them).
  if (tokenParam === undefined && data.length > wanted) {
    data.length = wanted;
    more = true;
  }
  const out = gemini
    ? { [geminiItems(route)]: data, ...(next !== undefined ? { nextPageToken: next } : {}) }
    : provider === 'anthropic'
    ? { data: route === ANTHROPIC_BATCH_ROUTE ? data.map(throughGateway) : data, has_more: more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, ...(tokenParam !== undefined ? { next_page: next ?? null } : {}) }
    : { object: 'list', data, has_more: more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  sendJson(g, r, f, 200, Buffer.from(JSON.stringify(out)), extra);
  g.finish(f, NOTHING, 'ok', false);
}

/** A page of a provider's list: its items, and where it goes on (its token, or the last item's id while it says it has more). */
function pageOf(route: Route, page: Record<string, unknown>): Page {
  const raw = route.provider.name === 'gemini' ? page[geminiItems(route)] : page.data;
  const items = (Array.isArray(raw) ? (raw as unknown[]) : []).filter(isObject);
  const token = route.provider.name === 'gemini' ? page.nextPageToken : page.next_page;
  if (typeof token === 'string' && token !== '') return { items, next: { by: 'token', at: token } };
  const last = items.at(-1)?.id;
  return { items, next: route.provider.name !== 'gemini' && page.has_more === true && typeof last === 'string' ? { by: 'id', at: last } : undefined };
}

/** What a Gemini list calls its items. */
function geminiItems(route: Route): string {
  return route === GEMINI_BATCH_ROUTE ? 'operations' : route === GEMINI_CACHES_ROUTE ? 'cachedContents' : 'files';
}

/** An item's id as the gateway records it: Gemini's are named (`batches/{id}`, `files/{id}`), and a Gemini file or cache is recorded under its name. */
function idOf(route: Route, item: Record<string, unknown>): string | undefined {
  const id = route === GEMINI_BATCH_ROUTE ? (typeof item.name === 'string' ? item.name.slice('batches/'.length) : undefined) : route.provider.name === 'gemini' ? item.name : item.id;
  return typeof id === 'string' ? id : undefined;
}

async function ownedBy(g: ObjectRoutesGateway, route: Route, id: string, item: Record<string, unknown>, userId: string): Promise<boolean> {
  // Tagged: OpenAI's batches and vector stores.
  if (route === OPENAI_BATCH_ROUTE || route === VECTOR_STORES_ROUTE) return (item.metadata as Record<string, unknown> | null | undefined)?.[OWNER_KEY] === userId;
  return (await recordedOwner(g, route, id))?.user === userId;
}

/** Whose an item is and with which key, as the gateway recorded it when it was made. */
function recordedOwner(g: ObjectRoutesGateway, route: Route, id: string): Promise<OwnerRecord | undefined> {
  if (route === VECTOR_STORES_ROUTE) return g.tagged(VECTOR_STORES).get(id);
  if (route === GEMINI_CACHES_ROUTE) return g.caches.get(id);
  return route.kind === 'file' ? g.batches.fileOwner(id) : g.batches.batchOwner(id);
}
