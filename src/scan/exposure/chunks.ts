/**
 * Finds the lazy chunks a bundle can load but the page does not list: Next.js build
 * manifests, Vite manifests and `__vite__mapDeps`, webpack runtime chunk maps, and ES module
 * imports. Returns absolute URLs; the caller keeps only same-site ones and applies its budget.
 */
import type { DiscoveryVia } from './facts.js';

export interface ChunkRef {
  url: string;
  via: DiscoveryVia;
}

/** An absolute http(s) URL without its fragment, or undefined for anything else. */
export function resolveUrl(ref: string, base: string): string | undefined {
  try {
    const u = new URL(ref, base);
    u.hash = '';
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** `https://site/x/_next/static/abc/_buildManifest.js` → `https://site/x/_next/`. */
function nextBase(url: string): string | undefined {
  const u = new URL(url);
  const i = u.pathname.indexOf('/_next/');
  return i === -1 ? undefined : new URL(u.pathname.slice(0, i) + '/_next/', u).href;
}

/** The site root a Vite build serves from: the path before `/assets/` (or `/.vite/`), else `/`. */
function viteBase(url: string): string {
  const u = new URL(url);
  const m = /^(.*?\/)(?:assets|\.vite)\//.exec(u.pathname);
  return new URL(m ? m[1]! : '/', u).href;
}

/** Next.js chunk paths (`static/chunks/…js`), in build manifests, runtime and RSC payloads of inline scripts. */
const NEXT_CHUNK = /(?<![\w/.-])static\/(?:chunks|[\w-]{6,64})\/[\w\-./%@[\]()~]+?\.js(?![\w])/g;
/** ES module specifiers that are paths: dynamic import(), static import/export from, bare import. */
const ESM_IMPORT = /(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s*)(["'`])((?:\.{1,2}\/|\/(?!\/))[^"'`\s]{1,300}?\.m?js)\1/g;
/** Vite's preload dependency list (`__vite__mapDeps`): `"assets/Lazy-abc123.js"`. */
const VITE_ASSET = /(["'`])((?:\.\/)?assets\/[\w\-./@]{1,200}?\.m?js)\1/g;

/** Chunk URLs referenced by one script's (or inline script's) text. */
export function chunkRefsInScript(text: string, scriptUrl: string, pageUrl: string): ChunkRef[] {
  const out: ChunkRef[] = [];
  const add = (ref: string, base: string | undefined, via: DiscoveryVia) => {
    if (!base) return;
    const url = resolveUrl(ref, base);
    if (url) out.push({ url, via });
  };

  const isNext = scriptUrl.includes('/_next/') || /\b__NEXT_DATA__\b|self\.__next_f|__BUILD_MANIFEST/.test(text);
  if (isNext) {
    const base = nextBase(scriptUrl) ?? nextBase(pageUrl) ?? new URL('/_next/', pageUrl).href;
    const via: DiscoveryVia = /__BUILD_MANIFEST\s*=/.test(text) ? 'next-build-manifest' : 'import';
    for (const m of text.matchAll(NEXT_CHUNK)) add(m[0], base, via);
  }
  for (const m of text.matchAll(ESM_IMPORT)) add(m[2]!, scriptUrl, 'import');
  if (/__vite__mapDeps|__vitePreload|modulepreload/.test(text)) {
    for (const m of text.matchAll(VITE_ASSET)) add(m[2]!.replace(/^\.\//, ''), viteBase(scriptUrl), 'vite-manifest');
  }
  for (const url of webpackChunkUrls(text, pageUrl, scriptUrl)) out.push({ url, via: 'webpack-chunk-map' });
  return out;
}

/** The chunk files a Vite build manifest (`.vite/manifest.json`) lists; undefined when the JSON is not one. */
export function viteManifestRefs(body: string, manifestUrl: string): ChunkRef[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const entries = Object.values(json as Record<string, unknown>);
  const files = entries
    .map((e) => (typeof e === 'object' && e !== null ? (e as { file?: unknown }).file : undefined))
    .filter((f): f is string => typeof f === 'string');
  // A web app manifest (PWA) has no `file` entries; a Vite manifest has one per chunk.
  if (files.length === 0 || files.length < entries.length / 2) return undefined;
  const base = new URL(new URL(manifestUrl).pathname.replace(/(?:\.vite\/)?manifest\.json$/, ''), manifestUrl).href;
  return files.filter((f) => /\.m?js$/.test(f)).flatMap((f) => {
    const url = resolveUrl(f, base);
    return url ? [{ url, via: 'vite-manifest' as const }] : [];
  });
}

// ---- webpack runtime chunk maps -------------------------------------------------------------

type Piece = { kind: 'str'; value: string } | { kind: 'id' } | { kind: 'map'; map: Map<string, string>; orId: boolean };

/**
 * Evaluates webpack's chunk-filename function (`__webpack_require__.u`), e.g.
 * `r.u=e=>"static/chunks/"+(({261:"player"})[e]||e)+"."+{57:"28b2a7c7",261:"aa1b2c3d"}[e]+".js"`,
 * for every chunk id in its maps, resolved against the runtime's public path (`r.p="/_next/"`).
 */
export function webpackChunkUrls(text: string, pageUrl: string, scriptUrl: string): string[] {
  const out: string[] = [];
  if (!text.includes('.u=') && !/\.u\s+=/.test(text)) return out;
  // Anchored on the literal `.u`: a leading `[\w$]+` would make the search quadratic on long minified lines.
  const head = /\.u\s*=\s*(?:function\s*\(\s*([\w$]+)\s*\)\s*\{\s*return\s*|\(?\s*([\w$]+)\s*\)?\s*=>\s*)/g;
  for (const m of text.matchAll(head)) {
    const param = (m[1] ?? m[2])!;
    const pieces = parseConcat(text, m.index + m[0].length, param);
    if (!pieces || !pieces.some((p) => p.kind === 'map')) continue;
    const ids = new Set<string>();
    for (const p of pieces) if (p.kind === 'map') for (const k of p.map.keys()) ids.add(k);
    const publicPath = /\b[\w$]+\.p\s*=\s*(["'])([^"']*)\1/.exec(text)?.[2];
    const base = publicPath !== undefined ? resolveUrl(publicPath || '/', pageUrl) : resolveUrl('./', scriptUrl);
    if (!base) continue;
    for (const id of ids) {
      let name = '';
      let ok = true;
      for (const p of pieces) {
        if (p.kind === 'str') name += p.value;
        else if (p.kind === 'id') name += id;
        else {
          const v = p.map.get(id);
          if (v !== undefined) name += v;
          else if (p.orId) name += id;
          else ok = false;
        }
      }
      const url = ok && /\.m?js$/.test(name) ? resolveUrl(name, base) : undefined;
      if (url) out.push(url);
    }
  }
  return out;
}

/** Parses `piece + piece + …` from `start` until the expression ends; undefined when it is not one we understand. */
function parseConcat(text: string, start: number, param: string): Piece[] | undefined {
  const pieces: Piece[] = [];
  let i = start;
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  for (let n = 0; n < 40; n++) {
    skipWs();
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end === -1 || end - i > 300) return undefined;
      pieces.push({ kind: 'str', value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (text.startsWith(param, i) && !/[\w$]/.test(text[i + param.length] ?? '')) {
      pieces.push({ kind: 'id' });
      i += param.length;
    } else if (c === '{' || c === '(') {
      const parsed = parseMapLookup(text, i, param);
      if (!parsed) return undefined;
      pieces.push(parsed.piece);
      i = parsed.end;
    } else return undefined;
    skipWs();
    if (text[i] === '+') {
      i++;
      continue;
    }
    break;
  }
  return pieces;
}

/** `{k:"v",…}[e]`, `({k:"v"})[e]`, `({k:"v"}[e]||e)` or `(({k:"v"})[e]||e)`. */
function parseMapLookup(text: string, i: number, param: string): { piece: Piece; end: number } | undefined {
  let open = 0;
  let j = i;
  for (; text[j] === '(' || /\s/.test(text[j] ?? ''); j++) if (text[j] === '(') open++;
  if (text[j] !== '{') return undefined;
  const close = text.indexOf('}', j);
  if (close === -1 || close - j > 200_000) return undefined;
  const body = text.slice(j + 1, close);
  const map = new Map<string, string>();
  for (const m of body.matchAll(/(?:^|,)\s*(?:"([^"]*)"|'([^']*)'|([\w$]+))\s*:\s*(?:"([^"]*)"|'([^']*)')/g)) {
    map.set((m[1] ?? m[2] ?? m[3])!, (m[4] ?? m[5])!);
  }
  let k = close + 1;
  const ws = () => {
    while (/\s/.test(text[k] ?? '')) k++;
  };
  ws();
  while (text[k] === ')' && open > 0) {
    open--;
    k++;
    ws();
  }
  const lookup = new RegExp(`^\\[\\s*${escapeRe(param)}\\s*\\]`).exec(text.slice(k, k + 10 + param.length));
  if (!lookup) return undefined;
  k += lookup[0].length;
  ws();
  let orId = false;
  const or = new RegExp(`^\\|\\|\\s*${escapeRe(param)}(?![\\w$])`).exec(text.slice(k, k + 10 + param.length));
  if (or) {
    orId = true;
    k += or[0].length;
    ws();
  }
  while (open > 0) {
    if (text[k] !== ')') return undefined;
    open--;
    k++;
    ws();
  }
  return { piece: { kind: 'map', map, orId }, end: k };
}

const escapeRe = (s: string) => s.replace(/[$]/g, '\\$');
