/**
 * The exposure gathering: walks the page's scripts (inline, `<script src>`, modulepreload,
 * bundler manifests and chunk maps for lazy chunks) and their source maps within the site's
 * bounds, scans everything fetched with the secrets engine and the browser-AI-call detector,
 * and probes the well-known leak paths, all in parallel under one concurrency limit.
 */
import { createHash, randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { getDomain } from 'tldts';
import { parsePage } from '../html.js';
import type { GatherContext, HttpExchange, PageDoc, ScanFacts } from '../types.js';
import { chunkRefsInScript, viteManifestRefs } from './chunks.js';
import { recogniseDebugPage } from './debug-pages.js';
import type { DebugPage, DebugTrigger, DiscoveryVia, ExposureFacts, FetchedFile, FileKind, ProbeResult } from './facts.js';
import { findBrowserAiCalls, findSecrets } from './find-secrets.js';
import { listingServer, PROBES, type Probe } from './probes.js';
import { parseSourceMap, sourceMapRef } from './source-maps.js';

/** Scripts without a sourceMappingURL whose `<url>.map` is tried anyway (hidden source maps). */
const MAP_GUESSES = 5;
/** Bytes read of a probe answer: enough to confirm it and to scan a config file. */
const PROBE_BYTES = 256 * 1024;
/** A source map may be larger than a script; it still counts against the site's total. */
const MAP_BYTES = 8 * 1024 * 1024;
/** Time bound of one probe request, ms (the scan's request bound when that is shorter). */
const PROBE_TIMEOUT_MS = 3000;
/** Script directories checked for a directory listing. */
const SCRIPT_DIRS = 3;

interface Ref {
  url: string;
  kind: FileKind;
  via: DiscoveryVia;
  from?: string;
}

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
  out.secrets.push(...findSecrets(page.body, { where: 'page', url: pageUrl }));
  out.browserAiCalls.push(...findBrowserAiCalls(page.body, { where: 'page', url: pageUrl }));
  noteDebugPage(out, page.body, pageUrl, 'page', page.status);
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

const looksLikeHtmlDocument = (body: string) => /^\s*(?:<!doctype html|<html|<head|<body)/i.test(body);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function resolveUrl(ref: string, base: string): string | undefined {
  try {
    const u = new URL(ref, base);
    u.hash = '';
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** Same host, or the same registrable domain (`cdn.example.com` for `www.example.com`). */
export function sameSite(a: string, b: string): boolean {
  const ha = new URL(a).hostname;
  const hb = new URL(b).hostname;
  if (ha === hb) return true;
  const da = getDomain(ha);
  return da !== null && da === getDomain(hb);
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

function noteDebugPage(out: ExposureFacts, body: string, url: string, trigger: DebugTrigger, status: number | undefined): void {
  const seen = recogniseDebugPage(body);
  if (!seen) return;
  // One entry per framework and kind: a debug 404 repeats on every probe path.
  if (out.debugPages.some((d) => d.framework === seen.framework && d.kind === seen.kind)) return;
  const entry: DebugPage = { url, trigger, framework: seen.framework, kind: seen.kind, evidence: seen.evidence };
  if (status !== undefined) entry.status = status;
  out.debugPages.push(entry);
  out.secrets.push(...findSecrets(body, { where: 'exposed-file', url }));
}

// ---- scripts, manifests and source maps -------------------------------------------------------

class Crawler {
  private readonly seen = new Set<string>();
  private guesses = 0;
  private bytesInFlight = 0;
  private readonly released: Array<() => void> = [];

  constructor(
    private readonly ctx: GatherContext,
    private readonly limit: ReturnType<typeof pLimit>,
    private readonly out: ExposureFacts,
    private readonly pageUrl: string,
  ) {}

  async run(first: Ref[], doc: PageDoc | undefined, pageBody: string): Promise<void> {
    const refs = [...first];
    // Inline scripts name lazy chunks too (Next.js RSC payloads, inlined webpack runtimes).
    for (const s of doc?.scripts ?? []) if (s.inline) refs.push(...this.chunkRefs(s.inline, this.pageUrl));
    // Next.js: the build manifest lists every page's chunks; derive it from the build id when not linked.
    const buildId = /"buildId"\s*:\s*"([\w-]{1,64})"/.exec(pageBody)?.[1];
    if (buildId && !refs.some((r) => r.url.endsWith('/_buildManifest.js'))) {
      const url = resolveUrl(`/_next/static/${buildId}/_buildManifest.js`, this.pageUrl);
      if (url) refs.push({ url, kind: 'script', via: 'next-build-manifest', from: this.pageUrl });
    }
    // Vite writes its manifest only with build.manifest on; when it is served, it lists every chunk.
    if (first.some((r) => /\/assets\/[^/]+\.m?js$/.test(new URL(r.url).pathname)) || doc?.scripts.some((s) => s.type === 'module')) {
      for (const path of ['/.vite/manifest.json', '/manifest.json']) {
        const url = resolveUrl(path, this.pageUrl);
        if (url) refs.push({ url, kind: 'manifest', via: 'vite-manifest', from: this.pageUrl });
      }
    }
    await Promise.all(refs.map((r) => this.visit(r)));
  }

  private chunkRefs(text: string, scriptUrl: string): Ref[] {
    return chunkRefsInScript(text, scriptUrl, this.pageUrl).map((c) => ({ url: c.url, kind: 'script' as const, via: c.via, from: scriptUrl }));
  }

  /** Reserves a file slot; false (and counted as skipped) when a bound is spent. */
  private reserve(): boolean {
    const b = this.out.budget;
    if (this.ctx.signal.aborted) b.stoppedBy ??= 'time';
    else if (b.files >= this.ctx.limits.maxFiles) b.stoppedBy ??= 'files';
    else if (b.bytes >= this.ctx.limits.maxTotalBytes) b.stoppedBy ??= 'bytes';
    else {
      b.files++;
      return true;
    }
    b.skipped++;
    return false;
  }

  private async visit(ref: Ref): Promise<void> {
    if (this.seen.has(ref.url) || !sameSite(ref.url, this.pageUrl)) return;
    this.seen.add(ref.url);
    if (!this.reserve()) return;
    const file: FetchedFile = { url: ref.url, kind: ref.kind, via: ref.via, bytes: 0, ...(ref.from !== undefined ? { from: ref.from } : {}) };
    this.out.files.push(file);
    const res = await this.fetch(ref.url, ref.kind === 'source-map' ? MAP_BYTES : this.ctx.limits.maxBodyBytes, file);
    if (!res) return;
    if (ref.kind === 'manifest') return this.onManifest(res, file);
    if (ref.kind === 'source-map') return this.onSourceMap(res, file, ref);
    return this.onScript(res, file);
  }

  private async fetch(url: string, maxBytes: number, file: FetchedFile): Promise<HttpExchange | undefined> {
    const budget = this.out.budget;
    let grant = 0;
    try {
      const res = await this.limit(async () => {
        // Bytes are granted when the request starts, so requests in flight can never overrun the
        // site's total; while others hold grants, wait for them to settle rather than give up.
        for (;;) {
          if (this.ctx.signal.aborted) throw new Error('the site time bound is spent');
          grant = Math.min(maxBytes, this.ctx.limits.maxTotalBytes - budget.bytes - this.bytesInFlight);
          if (grant > 0 || this.bytesInFlight === 0) break;
          await new Promise<void>((resolve) => this.released.push(resolve));
        }
        if (grant <= 0) return undefined;
        this.bytesInFlight += grant;
        return this.ctx.fetch(url, { maxBytes: grant });
      });
      if (!res) {
        budget.files--;
        budget.skipped++;
        budget.stoppedBy ??= 'bytes';
        file.error = 'skipped: the site\'s byte bound is spent';
        return undefined;
      }
      budget.bytes += res.body.length;
      file.status = res.status;
      file.bytes = res.body.length;
      if (res.bodyTruncated) file.truncated = true;
      if (res.status < 200 || res.status > 299) {
        file.error = `HTTP ${res.status}`;
        return undefined;
      }
      return res;
    } catch (err) {
      if (this.ctx.signal.aborted) budget.stoppedBy ??= 'time';
      file.error = (err as Error).message;
      return undefined;
    } finally {
      if (grant > 0) {
        this.bytesInFlight -= grant;
        for (const wake of this.released.splice(0)) wake();
      }
    }
  }

  private async onScript(res: HttpExchange, file: FetchedFile): Promise<void> {
    // A catch-all site answers a missing chunk with its index page: nothing to scan.
    if (looksLikeHtmlDocument(res.body)) {
      file.error = 'an HTML page instead of a script';
      return;
    }
    const url = res.url;
    this.out.secrets.push(...findSecrets(res.body, { where: 'script', url }));
    this.out.browserAiCalls.push(...findBrowserAiCalls(res.body, { where: 'script', url }));
    const next: Array<Promise<void>> = this.chunkRefs(res.body, url).map((r) => this.visit(r));
    const map = sourceMapRef(res);
    if (map?.inline !== undefined) this.onInlineMap(map.inline, url);
    else if (map?.url) next.push(this.visit({ url: map.url, kind: 'source-map', via: map.via, from: url }));
    else if (this.guesses < MAP_GUESSES) {
      this.guesses++;
      const guess = resolveUrl(`${new URL(url).pathname}.map`, url);
      if (guess) next.push(this.visit({ url: guess, kind: 'source-map', via: 'source-map-guess', from: url }));
    }
    await Promise.all(next);
  }

  private async onManifest(res: HttpExchange, file: FetchedFile): Promise<void> {
    const refs = viteManifestRefs(res.body, res.url);
    if (!refs) {
      file.error = 'not a Vite build manifest';
      return;
    }
    await Promise.all(refs.map((r) => this.visit({ url: r.url, kind: 'script', via: r.via, from: res.url })));
  }

  private onSourceMap(res: HttpExchange, file: FetchedFile, ref: Ref): void {
    const map = parseSourceMap(res.body);
    if (!map) {
      file.error = 'not a source map';
      // A truncated map is still mostly source code: scan what arrived.
      if (res.bodyTruncated && /^\s*\{\s*"version"\s*:\s*3/.test(res.body)) this.out.secrets.push(...findSecrets(res.body, { where: 'source-map', url: res.url }));
      return;
    }
    this.recordMap(res.url, ref.from ?? this.pageUrl, ref.via as 'source-map-comment' | 'source-map-header' | 'source-map-guess', false, map);
  }

  private onInlineMap(json: string, scriptUrl: string): void {
    const map = parseSourceMap(json);
    if (map) this.recordMap(`${scriptUrl}#inline-map`, scriptUrl, 'source-map-comment', true, map);
  }

  private recordMap(url: string, script: string, via: 'source-map-comment' | 'source-map-header' | 'source-map-guess', inline: boolean, map: NonNullable<ReturnType<typeof parseSourceMap>>): void {
    const withContent = map.sources.filter((s) => s.content !== undefined);
    this.out.sourceMaps.push({
      url,
      script,
      via,
      inline,
      sources: map.sources.length,
      sourcesWithContent: withContent.length,
      sampleSources: map.sources.slice(0, 5).map((s) => s.name),
    });
    for (const s of withContent) {
      this.out.secrets.push(...findSecrets(s.content!, { where: 'source-map', url, source: s.name }));
      this.out.browserAiCalls.push(...findBrowserAiCalls(s.content!, { where: 'source-map', url, source: s.name }));
    }
  }
}

// ---- probes ---------------------------------------------------------------------------------

async function probeAll(ctx: GatherContext, limit: ReturnType<typeof pLimit>, out: ExposureFacts, origin: string, pageUrl: string, pageHash: string, dirs: string[]): Promise<void> {
  // A probe is one path among 80: a path that hangs must not hold the scan for the full request bound.
  const timeoutMs = Math.min(ctx.limits.requestTimeoutMs, PROBE_TIMEOUT_MS);
  const get = (url: string, init: Parameters<GatherContext['fetch']>[1] = {}) =>
    limit(() => (ctx.signal.aborted ? Promise.reject(new Error('the site time bound is spent')) : ctx.fetch(url, { maxBytes: PROBE_BYTES, maxRedirects: 3, timeoutMs, ...init })));

  // What a path that cannot exist gets: a catch-all answers it like any probe path.
  const random = `/keyward-${randomBytes(6).toString('hex')}`;
  const catchAllUrl = origin + random;
  const catchAll = get(catchAllUrl).then(
    (res) => {
      // Hashed without the path itself: many soft-404 pages echo the path they were asked for.
      out.catchAll = { url: catchAllUrl, status: res.status, length: res.body.length, hash: sha256(withoutPath(res.body, random)), contentType: res.headers['content-type']?.[0] ?? '' };
      noteDebugPage(out, res.body, catchAllUrl, 'not-found', res.status);
    },
    (err: Error) => {
      out.catchAll = { url: catchAllUrl, error: err.message };
    },
  );

  // Provoke an error page: an undecodable path and a malformed JSON body.
  const provoke = [
    get(`${origin}/keyward-%E0%A4%A/%`).then((r) => noteDebugPage(out, r.body, r.url, 'malformed-path', r.status), () => undefined),
    get(pageUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"keyward":', followRedirects: false }).then(
      (r) => noteDebugPage(out, r.body, pageUrl, 'malformed-body', r.status),
      () => undefined,
    ),
  ];

  const probes: Array<{ probe: Probe; url: string }> = PROBES.map((probe) => ({ probe, url: origin + probe.path }));
  for (const dir of dirs) {
    const path = new URL(dir).pathname;
    if (!probes.some((p) => p.probe.path === path)) probes.push({ probe: { ...PROBES.find((p) => p.id === 'listing-static')!, id: 'listing-script-dir', path, what: `directory listing of ${path}` }, url: dir });
  }
  const answers = probes.map(({ probe, url }) =>
    get(url).then(
      (res) => ({ probe, url, res }),
      (err: Error) => ({ probe, url, err }),
    ),
  );
  // Judging waits for the catch-all answer; fetching does not.
  await catchAll;
  for (const a of await Promise.all(answers)) {
    const result: ProbeResult = { id: a.probe.id, path: a.probe.path, url: a.url, category: a.probe.category, confirmed: false };
    out.probes.push(result);
    if ('err' in a) {
      result.rejected = 'error';
      result.error = a.err.message;
      continue;
    }
    judgeProbe(out, a.probe, a.res, result, pageHash);
  }
  out.securityTxt ??= { url: `${origin}/.well-known/security.txt`, found: false, contacts: [] };
  await Promise.all(provoke);
}

function judgeProbe(out: ExposureFacts, probe: Probe, res: HttpExchange, result: ProbeResult, pageHash: string): void {
  result.status = res.status;
  result.bytes = res.body.length;
  const hash = sha256(withoutPath(res.body, result.path));
  const catchAll = out.catchAll;
  const sameAsCatchAll = sha256(res.body) === pageHash || (catchAll?.hash !== undefined && hash === catchAll.hash);
  if (res.status >= 400 || res.status < 200 || sameAsCatchAll) {
    if (!sameAsCatchAll && res.status !== 404) noteDebugPage(out, res.body, res.url, 'probe', res.status);
    result.rejected = sameAsCatchAll && res.status < 400 ? 'catch-all' : 'status';
    return;
  }
  if (new URL(res.url).origin !== new URL(result.url).origin) {
    result.rejected = 'status';
    return;
  }
  const proof = probe.confirm(res.body, res.headers['content-type']?.[0] ?? '');
  if (!proof) {
    result.rejected = 'content';
    noteDebugPage(out, res.body, res.url, 'probe', res.status);
    return;
  }
  result.confirmed = true;
  result.evidence = proof;
  if (probe.category === 'listing') {
    const listing = listingServer(res.body);
    if (listing) out.directoryListings.push({ url: res.url, ...listing });
  }
  if (probe.category === 'security-txt') out.securityTxt = parseSecurityTxt(res.body, res.url);
  if (probe.scanSecrets) out.secrets.push(...findSecrets(res.body, { where: 'exposed-file', url: res.url }));
}

/** The body with every mention of the path (as sent and HTML-escaped) removed. */
function withoutPath(body: string, path: string): string {
  const escaped = path.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return body.split(path).join('').split(escaped).join('');
}

function parseSecurityTxt(body: string, url: string): NonNullable<ExposureFacts['securityTxt']> {
  const contacts = [...body.matchAll(/^Contact:\s*(\S+)/gim)].map((m) => m[1]!);
  const expires = /^Expires:\s*(\S+)/im.exec(body)?.[1];
  const txt: NonNullable<ExposureFacts['securityTxt']> = { url, found: true, contacts };
  if (expires !== undefined) {
    txt.expires = expires;
    const t = Date.parse(expires);
    if (!Number.isNaN(t)) txt.expired = t < Date.now();
  }
  return txt;
}
