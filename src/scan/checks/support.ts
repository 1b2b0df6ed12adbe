/**
 * What every header check shares: reading headers from the facts, quoting them as evidence,
 * and writing a fix as the header line plus nginx and Express/Fastify examples.
 */
import type { Finding, Severity } from '../../finding.js';
import type { HeaderMap, HttpExchange, SectionName } from '../types.js';

/** Longest header value quoted in evidence; hostile servers can send megabytes. */
const EVIDENCE_MAX = 600;

/** Every value of a header (lower-cased name), in order. */
export function headerValues(headers: HeaderMap, name: string): string[] {
  return headers[name.toLowerCase()] ?? [];
}

/** The first value of a header, as the Observatory reads most of them. */
export function firstHeader(headers: HeaderMap, name: string): string | undefined {
  return headerValues(headers, name)[0];
}

/** `Name: value` lines exactly as received, for evidence. */
export function evidenceOf(exchange: HttpExchange, ...names: string[]): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const lines = exchange.rawHeaders
    .filter(([n]) => wanted.has(n.toLowerCase()))
    .map(([n, v]) => `${n}: ${clip(v)}`);
  if (lines.length > 0) return lines.join('\n');
  // Facts built without raw headers (or a meta tag) still deserve evidence.
  const fromMap = names.flatMap((n) => headerValues(exchange.headers, n).map((v) => `${n}: ${clip(v)}`));
  return fromMap.length > 0 ? fromMap.join('\n') : undefined;
}

export function clip(value: string, max = EVIDENCE_MAX): string {
  return value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value;
}

function jsString(s: string): string {
  return JSON.stringify(s);
}

/** The header line to send, and the same line for nginx, Express and Fastify. */
export function headerFix(name: string, value: string, lead?: string): string {
  const lines = [
    ...(lead ? [lead] : []),
    `Send: ${name}: ${value}`,
    `nginx:   add_header ${name} ${jsString(value)} always;`,
    `Express: res.setHeader(${jsString(name)}, ${jsString(value)});`,
    `Fastify: reply.header(${jsString(name)}, ${jsString(value)});`,
  ];
  return lines.join('\n');
}

/** A fix that removes a header rather than sends one. */
export function removeHeaderFix(name: string, lead: string, extra: { nginx?: string; express?: string } = {}): string {
  return [
    lead,
    `nginx:   ${extra.nginx ?? `proxy_hide_header ${name};  (or stop the upstream from sending it)`}`,
    `Express: ${extra.express ?? `res.removeHeader(${jsString(name)});`}`,
    `Fastify: reply.removeHeader(${jsString(name)});`,
  ].join('\n');
}

export const MDN = 'https://developer.mozilla.org/en-US/docs';

export function finding(
  id: string,
  severity: Severity,
  title: string,
  recommendation: string,
  extra: { evidence?: string; docs?: string; url?: string; section?: SectionName } = {},
): Finding {
  const f: Finding = { id, severity, title, recommendation, section: extra.section ?? 'headers' };
  if (extra.evidence !== undefined) f.evidence = extra.evidence;
  if (extra.docs !== undefined) f.docs = extra.docs;
  if (extra.url !== undefined) f.location = { url: extra.url };
  return f;
}

/** The HTML content types the Observatory parses for meta tags and scripts. */
export function isHtml(exchange: HttpExchange): boolean {
  const type = (firstHeader(exchange.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'text/html' || type === 'application/xhtml+xml';
}
