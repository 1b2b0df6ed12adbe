/**
 * Web searches a provider runs for a request (Anthropic's `web_search` server tool, OpenAI's
 * `web_search` tool in the Responses API, Gemini's grounding with Google Search) are billed per
 * search, on top of the tokens: $10 a thousand at OpenAI's and Anthropic's list price, $35 a thousand
 * grounded answers at Google's. A client adds the tool to any request it sends, so a search not
 * billed is a way past a budget: each request is reserved for the searches it may run (the tool's
 * `max_uses`, or the request's `max_tool_calls`, else DEFAULT_SEARCHES; one grounded answer for
 * Gemini) and billed for those the provider reports.
 */
import { isObject } from './providers/types.js';

/** Searches reserved for a request that sets no cap on them (the models seldom run more). */
export const DEFAULT_SEARCHES = 10;

const SEARCH_TOOL = /^web_search/;
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
  const calls = o.max_tool_calls;
  return typeof calls === 'number' && Number.isInteger(calls) && calls >= 0 ? Math.min(searches, calls) : searches;
}

/** Whether a Gemini answer (or stream chunk) was grounded in a search: a candidate's `groundingMetadata` names queries or sources. */
export function grounded(candidates: unknown): boolean {
  if (!Array.isArray(candidates)) return false;
  return candidates.some((c) => {
    const g = isObject(c) ? c.groundingMetadata : undefined;
    return isObject(g) && ((Array.isArray(g.webSearchQueries) && g.webSearchQueries.length > 0) || (Array.isArray(g.groundingChunks) && g.groundingChunks.length > 0));
  });
}

/** The web searches in a Responses API answer's output (`web_search_call` items). */
export function searchCalls(output: unknown): number {
  if (!Array.isArray(output)) return 0;
  let n = 0;
  for (const item of output) if (isObject(item) && item.type === 'web_search_call') n++;
  return n;
}
