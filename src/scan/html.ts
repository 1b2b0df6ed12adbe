/**
 * Reads the page's HTML once, with a real HTML parser (htmlparser2), into what checks and
 * gatherers need: meta http-equiv (CSP in <meta> only counts in <head>), meta referrer,
 * scripts and links.
 */
import { Parser } from 'htmlparser2';
import type { PageDoc } from './types.js';

/** Elements that may sit in <head>; any other start tag implies <body> (HTML's "in head" mode). */
const HEAD_ELEMENTS = new Set(['html', 'head', 'meta', 'title', 'link', 'script', 'style', 'base', 'noscript', 'template']);

export function parsePage(html: string): PageDoc {
  const doc: PageDoc = { metas: [], scripts: [], links: [] };
  let inHead = true;
  let inlineScript: { text: string; entry: PageDoc['scripts'][number] } | undefined;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'body' || !HEAD_ELEMENTS.has(name)) inHead = false;
        if (name === 'meta' && attrs.name?.trim().toLowerCase() === 'referrer' && attrs.content !== undefined) {
          (doc.referrers ??= []).push(attrs.content);
        } else if (name === 'meta' && attrs['http-equiv'] !== undefined) {
          doc.metas.push({ httpEquiv: attrs['http-equiv'].trim().toLowerCase(), content: attrs.content ?? '', inHead });
        } else if (name === 'script') {
          const entry: PageDoc['scripts'][number] = pick(attrs, ['src', 'type', 'integrity', 'crossorigin', 'nonce']);
          if (entry.src === undefined) inlineScript = { text: '', entry };
          doc.scripts.push(entry);
        } else if (name === 'link' && attrs.rel !== undefined && attrs.href !== undefined) {
          doc.links.push({ rel: attrs.rel.trim().toLowerCase(), href: attrs.href, ...pick(attrs, ['as', 'integrity', 'crossorigin']) });
        }
      },
      ontext(text) {
        if (inlineScript) inlineScript.text += text;
      },
      onclosetag(name) {
        if (name === 'head') inHead = false;
        if (name === 'script' && inlineScript) {
          inlineScript.entry.inline = inlineScript.text;
          inlineScript = undefined;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return doc;
}

function pick<K extends string>(attrs: Record<string, string>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) if (attrs[k] !== undefined) out[k] = attrs[k];
  return out;
}
