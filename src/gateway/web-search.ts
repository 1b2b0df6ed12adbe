/**
 * Web searches a provider runs for a request (Anthropic's `web_search` server tool, OpenAI's
 * `web_search` tool in the Responses API) are billed per search, on top of the tokens: $10 per
 * thousand at list price. A client adds the tool to any request it sends, so a search not billed is a
 * way past a budget: each request is reserved for the searches it may run (the tool's `max_uses`, or
 * the request's `max_tool_calls`, else DEFAULT_SEARCHES) and billed for those the provider reports.
 */
import { isObject } from './providers/types.js';

/** Searches reserved for a request that sets no cap on them (the models seldom run more). */
export const DEFAULT_SEARCHES = 10;

const SEARCH_TOOL = /^web_search/;

/** The searches a request may run: none without a search tool. */
export function searchesAsked(o: Record<string, unknown>): number {
  const tools = Array.isArray(o.tools) ? o.tools : [];
  let searches = 0;
  for (const t of tools) {
    if (!isObject(t) || typeof t.type !== 'string' || !SEARCH_TOOL.test(t.type)) continue;
    const cap = typeof t.max_uses === 'number' && Number.isInteger(t.max_uses) && t.max_uses >= 0 ? t.max_uses : undefined;
    searches += cap ?? DEFAULT_SEARCHES;
  }
  if (searches === 0) return 0;
  const calls = o.max_tool_calls;
  return typeof calls === 'number' && Number.isInteger(calls) && calls >= 0 ? Math.min(searches, calls) : searches;
}

/** The web searches in a Responses API answer's output (`web_search_call` items). */
export function searchCalls(output: unknown): number {
  if (!Array.isArray(output)) return 0;
  let n = 0;
  for (const item of output) if (isObject(item) && item.type === 'web_search_call') n++;
  return n;
}
