/**
 * The crawl of the page's scripts: `<script src>`, modulepreload, bundler manifests and chunk maps
 * for lazy chunks, and their source maps, within the site's file and byte bounds. Everything fetched
 * is scanned for keys and direct AI calls as it arrives.
 */
import type pLimit from 'p-limit';
import { sameSiteHosts } from '../same-site.js';
import type { GatherContext, HttpExchange, PageDoc } from '../types.js';
import { chunkRefsInScript, resolveUrl, viteManifestRefs } from './chunks.js';
import type { DiscoveryVia, ExposureFacts, FetchedFile, FileKind } from './facts.js';
import { findBrowserAiCalls, findSecrets } from './find-secrets.js';
import { parseSourceMap, sourceMapRef } from './source-maps.js';

/** Scripts without a sourceMappingURL whose `<url>.map` is tried anyway (hidden source maps). */
const MAP_GUESSES = 5;
/** A source map may be larger than a script; it still counts against the site's total. */
const MAP_BYTES = 8 * 1024 * 1024;

export interface Ref {
  url: string;
  kind: FileKind;
  via: DiscoveryVia;
  from?: string;
}

const looksLikeHtmlDocument = (body: string) => /^\s*(?:<!doctype html|<html|<head|<body)/i.test(body);

export { resolveUrl };

/** Same host, or the same registrable domain (`cdn.example.com` for `www.example.com`). */
export function sameSite(a: string, b: string): boolean {
  return sameSiteHosts(new URL(a).hostname, new URL(b).hostname);
}

export class Crawler {
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
    this.out.secrets.push(...findSecrets(res.body, { where: 'script', url, onSecret: this.ctx.onSecret }));
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
      if (res.bodyTruncated && /^\s*\{\s*"version"\s*:\s*3/.test(res.body)) this.out.secrets.push(...findSecrets(res.body, { where: 'source-map', url: res.url, onSecret: this.ctx.onSecret }));
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
      this.out.secrets.push(...findSecrets(s.content!, { where: 'source-map', url, source: s.name, onSecret: this.ctx.onSecret }));
      this.out.browserAiCalls.push(...findBrowserAiCalls(s.content!, { where: 'source-map', url, source: s.name }));
    }
  }
}
