/**
 * The exposure gathering: walks the page's scripts (inline, `<script src>`, modulepreload,
 * bundler manifests and chunk maps for lazy chunks) and their source maps within the site's
 * bounds, scans everything fetched with the secrets engine and the browser-AI-call detector,
 * and probes the well-known leak paths, all in parallel under one concurrency limit.
 */
import pLimit from 'p-limit';
import { parsePage } from '../html.js';
import type { GatherContext, HttpExchange, PageDoc, ScanFacts } from '../types.js';
import { Crawler, resolveUrl, sameSite, type Ref } from './crawl.js';
import type { ExposureFacts, FetchedFile, FileKind } from './facts.js';
import { findBrowserAiCalls, findSecrets } from './find-secrets.js';
import { noteDebugPage, probeAll, sha256 } from './probe-site.js';
import { listingServer } from './probes.js';

export { sameSite } from './crawl.js';

/** Script directories checked for a directory listing. */
const SCRIPT_DIRS = 3;

export async function gatherExposure(ctx: GatherContext, facts: Pick<ScanFacts, 'target' | 'final' | 'page'>): Promise<ExposureFacts> {
  const out: ExposureFacts = { files: [], secrets: [], browserAiCalls: [], sourceMaps: [], probes: [], directoryListings: [], debugPages: [], budget: { files: 0, bytes: 0, skipped: 0 } };
  const limit = pLimit(Math.max(1, ctx.limits.concurrency));
  const pageUrl = facts.final.url;
  const origin = new URL(pageUrl).origin;
  const page = facts.final;
  const html = isHtml(page);
  const doc: PageDoc | undefined = facts.page ?? (html ? parsePage(page.body) : undefined);

  // The page itself: inline scripts, inline JSON (__NEXT_DATA__), anything else in the HTML.
  out.files.push({ url: pageUrl, kind: 'page', via: 'page', status: page.status, bytes: page.body.length, ...(page.bodyTruncated ? { truncated: true } : {}) });
  out.secrets.push(...findSecrets(page.body, { where: 'page', url: pageUrl, onSecret: ctx.onSecret }));
  // Direct-call patterns count in the page's scripts only: a tutorial's <pre> sample is not a call.
  out.browserAiCalls.push(...findBrowserAiCalls(doc ? scriptsOnly(page.body, doc) : page.body, { where: 'page', url: pageUrl }));
  noteDebugPage(out, page.body, pageUrl, 'page', page.status, ctx.onSecret);
  const pageListing = listingServer(page.body);
  if (pageListing) out.directoryListings.push({ url: pageUrl, ...pageListing });

  const crawler = new Crawler(ctx, limit, out, pageUrl);
  const firstRefs = doc ? pageRefs(doc, pageUrl) : [];
  const pageHash = sha256(page.body);

  try {
    await Promise.all([crawler.run(firstRefs, doc, page.body), probeAll(ctx, limit, out, origin, pageUrl, pageHash, scriptDirs(firstRefs, pageUrl))]);
  } catch (err) {
    out.error = (err as Error).message;
  }
  out.files.sort((a, b) => order(a) - order(b));
  return out;
}

const KIND_ORDER: Record<FileKind, number> = { page: 0, manifest: 1, script: 2, 'source-map': 3 };
const order = (f: FetchedFile) => KIND_ORDER[f.kind];

function isHtml(x: HttpExchange): boolean {
  const type = x.headers['content-type']?.[0] ?? '';
  return /html/i.test(type) || (!type && /^\s*</.test(x.body));
}

function pageRefs(doc: PageDoc, pageUrl: string): Ref[] {
  const refs: Ref[] = [];
  for (const s of doc.scripts) {
    if (s.src === undefined) continue;
    // JSON and template blocks are data, not code to fetch.
    if (s.type && !/^(?:module|text\/javascript|application\/javascript|)$/i.test(s.type.trim())) continue;
    const url = resolveUrl(s.src, pageUrl);
    if (url) refs.push({ url, kind: 'script', via: 'script-src', from: pageUrl });
  }
  for (const l of doc.links) {
    const rels = l.rel.split(/\s+/);
    if (rels.includes('modulepreload') || ((rels.includes('preload') || rels.includes('prefetch')) && l.as === 'script')) {
      const url = resolveUrl(l.href, pageUrl);
      if (url) refs.push({ url, kind: 'script', via: 'modulepreload', from: pageUrl });
    }
  }
  return refs;
}

function scriptDirs(refs: Ref[], pageUrl: string): string[] {
  const dirs = new Set<string>();
  for (const r of refs) {
    if (!sameSite(r.url, pageUrl)) continue;
    const u = new URL(r.url);
    if (new URL(pageUrl).origin !== u.origin) continue;
    const dir = u.pathname.replace(/[^/]*$/, '');
    if (dir !== '/') dirs.add(new URL(dir, u).href);
  }
  return [...dirs].slice(0, SCRIPT_DIRS);
}

/**
 * The page with everything outside its inline scripts blanked (newlines kept), so hits keep their
 * exact line and column in the page.
 */
export function scriptsOnly(body: string, doc: PageDoc): string {
  const parts: string[] = [];
  let cursor = 0;
  for (const s of doc.scripts) {
    if (!s.inline) continue;
    const at = body.indexOf(s.inline, cursor);
    if (at === -1) continue;
    parts.push(body.slice(cursor, at).replace(/[^\n]/g, ' '), s.inline);
    cursor = at + s.inline.length;
  }
  parts.push(body.slice(cursor).replace(/[^\n]/g, ' '));
  return parts.join('');
}
