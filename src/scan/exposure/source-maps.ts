/**
 * Source maps: where a script says its map is (`SourceMap`/`X-SourceMap` header, the last
 * `sourceMappingURL` comment, or an inline `data:` map), and what a map holds (source v3, also
 * index maps with `sections`): every original source name and, when shipped, its full code.
 */
import type { HttpExchange } from '../types.js';

export interface SourceMapRef {
  url?: string;
  /** The JSON of an inline `data:` map. */
  inline?: string;
  via: 'source-map-comment' | 'source-map-header';
}

/** How far from the end of a script the sourceMappingURL comment is looked for. */
const TAIL = 4096;

export function sourceMapRef(res: HttpExchange): SourceMapRef | undefined {
  const header = res.headers['sourcemap']?.[0] ?? res.headers['x-sourcemap']?.[0];
  if (header) {
    const url = resolve(header.trim(), res.url);
    if (url) return { url, via: 'source-map-header' };
  }
  const tail = res.body.slice(-TAIL);
  const matches = [...tail.matchAll(/(?:\/\/|\/\*)[#@]\s*sourceMappingURL=([^\s*'"]+)/g)];
  const ref = matches.at(-1)?.[1];
  if (!ref) {
    // An inline map is often longer than the tail: look for its start anywhere.
    const i = res.body.lastIndexOf('sourceMappingURL=data:');
    if (i === -1) return undefined;
    const data = /^[^\s*'"]+/.exec(res.body.slice(i + 'sourceMappingURL='.length))?.[0];
    return data ? inlineRef(data) : undefined;
  }
  if (ref.startsWith('data:')) return inlineRef(ref);
  const url = resolve(ref, res.url);
  return url ? { url, via: 'source-map-comment' } : undefined;
}

function inlineRef(data: string): SourceMapRef | undefined {
  const m = /^data:[^,;]*(?:;charset=[^,;]+)?(;base64)?,(.*)$/s.exec(data);
  if (!m) return undefined;
  try {
    const json = m[1] ? Buffer.from(m[2]!, 'base64').toString('utf8') : decodeURIComponent(m[2]!);
    return { inline: json, via: 'source-map-comment' };
  } catch {
    return undefined;
  }
}

function resolve(ref: string, base: string): string | undefined {
  try {
    const u = new URL(ref, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export interface ParsedSourceMap {
  sources: Array<{ name: string; content?: string }>;
}

export function parseSourceMap(text: string): ParsedSourceMap | undefined {
  let json: unknown;
  try {
    // Maps may start with the XSSI guard `)]}'`.
    json = JSON.parse(text.replace(/^\)\]\}'[^\n]*\n/, ''));
  } catch {
    return undefined;
  }
  const sources: ParsedSourceMap['sources'] = [];
  if (!collect(json, sources, 0)) return undefined;
  return { sources };
}

function collect(json: unknown, into: ParsedSourceMap['sources'], depth: number): boolean {
  if (typeof json !== 'object' || json === null || depth > 4) return false;
  const map = json as { version?: unknown; sources?: unknown; sourcesContent?: unknown; sourceRoot?: unknown; mappings?: unknown; sections?: unknown };
  if (map.version !== 3) return false;
  if (Array.isArray(map.sections)) {
    let ok = false;
    for (const s of map.sections) ok = collect((s as { map?: unknown }).map, into, depth + 1) || ok;
    return ok;
  }
  if (!Array.isArray(map.sources) || typeof map.mappings !== 'string') return false;
  const root = typeof map.sourceRoot === 'string' ? map.sourceRoot : '';
  const contents = Array.isArray(map.sourcesContent) ? map.sourcesContent : [];
  map.sources.forEach((name, i) => {
    const content = contents[i];
    const entry: ParsedSourceMap['sources'][number] = { name: `${root}${typeof name === 'string' ? name : String(i)}` };
    if (typeof content === 'string') entry.content = content;
    into.push(entry);
  });
  return true;
}
