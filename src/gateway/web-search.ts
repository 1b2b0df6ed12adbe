/**
 * Searches a provider runs for a request are billed per search, on top of the tokens: Anthropic's
 * `web_search` server tool and OpenAI's `web_search` tool in the Responses API at $10 a thousand
 * (OpenAI's `web_search_preview` at $25 on the models that do not reason), OpenAI's `file_search` at
 * $2.50 a thousand calls, and Gemini's grounding with Google Search at $35 a thousand grounded answers
 * (Gemini 2.5 and older) or $14 a thousand search queries (Gemini 3). A client adds the tool to any
 * request it sends, so a search not billed is a way past a budget: each request is reserved for the
 * searches it may run (the tool's `max_uses`, or the request's `max_tool_calls`, else DEFAULT_SEARCHES;
 * for Gemini one grounded answer, or DEFAULT_SEARCHES queries, since nothing caps them) and billed for
 * those the provider reports.
 */
import { isObject } from './providers/types.js';

/** Searches reserved for a request that sets no cap on them (the models seldom run more). */
export const DEFAULT_SEARCHES = 10;

const SEARCH_TOOL = /^web_search/;
const PREVIEW_TOOL = /^web_search_preview/;
/** Gemini's search tools, named by their key (`{ "googleSearch": {} }`), in either case the REST API takes. */
const GROUNDING_TOOLS = ['googleSearch', 'google_search', 'googleSearchRetrieval', 'google_search_retrieval'];

/** The searches a request may run: none without a search tool. */
export function searchesAsked(o: Record<string, unknown>): number {
  const tools = Array.isArray(o.tools) ? o.tools : [];
  let searches = 0;
  for (const t of tools) {
    if (!isObject(t)) continue;
    // Grounded, a Gemini answer is billed once, however many queries it ran.
    if (GROUNDING_TOOLS.some((k) => k in t)) return 1;
    if (typeof t.type !== 'string' || !SEARCH_TOOL.test(t.type)) continue;
    const cap = typeof t.max_uses === 'number' && Number.isInteger(t.max_uses) && t.max_uses >= 0 ? t.max_uses : undefined;
    searches += cap ?? DEFAULT_SEARCHES;
  }
  if (searches === 0) return 0;
  const cap = toolCallCap(o);
  return cap !== undefined ? Math.min(searches, cap) : searches;
}

/** The request's cap on tool calls (`max_tool_calls`), if it sets one. */
function toolCallCap(o: Record<string, unknown>): number | undefined {
  const calls = o.max_tool_calls;
  return typeof calls === 'number' && Number.isInteger(calls) && calls >= 0 ? calls : undefined;
}

/** True when a search tool of the request is OpenAI's `web_search_preview` (billed dearer than `web_search` on some models). */
export function previewSearch(o: Record<string, unknown>): boolean {
  return Array.isArray(o.tools) && o.tools.some((t) => isObject(t) && typeof t.type === 'string' && PREVIEW_TOOL.test(t.type));
}

/** The file_search calls a request may make: none without the tool, else its `max_tool_calls` or DEFAULT_SEARCHES. */
export function fileSearchesAsked(o: Record<string, unknown>): number {
  if (!Array.isArray(o.tools) || !o.tools.some((t) => isObject(t) && t.type === 'file_search')) return 0;
  return toolCallCap(o) ?? DEFAULT_SEARCHES;
}

/** Whether a Gemini answer (or stream chunk) was grounded in a search: a candidate's `groundingMetadata` names queries or sources. */
function grounded(candidates: unknown): boolean {
  if (!Array.isArray(candidates)) return false;
  return candidates.some((c) => {
    const g = isObject(c) ? c.groundingMetadata : undefined;
    return isObject(g) && ((Array.isArray(g.webSearchQueries) && g.webSearchQueries.length > 0) || (Array.isArray(g.groundingChunks) && g.groundingChunks.length > 0));
  });
}

/**
 * The search queries a grounded Gemini answer ran, as Google counts them for a model billed per query:
 * the distinct ones, empty ones left out; at least one when the answer is grounded at all.
 */
export function searchQueries(candidates: unknown): number {
  if (!Array.isArray(candidates)) return 0;
  const queries = new Set<string>();
  for (const c of candidates) {
    const g = isObject(c) ? c.groundingMetadata : undefined;
    if (isObject(g) && Array.isArray(g.webSearchQueries)) for (const q of g.webSearchQueries) if (typeof q === 'string' && q.trim() !== '') queries.add(q);
  }
  return queries.size > 0 ? queries.size : grounded(candidates) ? 1 : 0;
}

/** The items of a type in a Responses API answer's output (`web_search_call`, `file_search_call`), failed ones left out. */
export function callsOf(output: unknown, type: string): number {
  if (!Array.isArray(output)) return 0;
  let n = 0;
  for (const item of output) if (isObject(item) && item.type === type && item.status !== 'failed') n++;
  return n;
}
