/**
 * The probes of well-known leak paths, judged against the site's catch-all answer and by content,
 * and the provoked error pages (a 404, an undecodable path, a malformed JSON body).
 */
import { createHash, randomBytes } from 'node:crypto';
import type pLimit from 'p-limit';
import type { GatherContext, HttpExchange, SecretSink } from '../types.js';
import { recogniseDebugPage } from './debug-pages.js';
import type { DebugPage, DebugTrigger, ExposureFacts, ProbeResult } from './facts.js';
import { findSecrets } from './find-secrets.js';
import { listingServer, PROBES, type Probe } from './probes.js';

/** Bytes read of a probe answer: enough to confirm it and to scan a config file. */
const PROBE_BYTES = 256 * 1024;
/** Time bound of one probe request, ms (the scan's request bound when that is shorter). */
const PROBE_TIMEOUT_MS = 3000;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Records a debug page or stack trace once per framework, and scans it for secrets like an exposed file. */
export function noteDebugPage(out: ExposureFacts, body: string, url: string, trigger: DebugTrigger, status: number | undefined, onSecret?: SecretSink): void {
  const seen = recogniseDebugPage(body);
  if (!seen) return;
  // One entry per framework and kind: a debug 404 repeats on every probe path.
  if (out.debugPages.some((d) => d.framework === seen.framework && d.kind === seen.kind)) return;
  const entry: DebugPage = { url, trigger, framework: seen.framework, kind: seen.kind, evidence: seen.evidence };
  if (status !== undefined) entry.status = status;
  out.debugPages.push(entry);
  // The page itself was scanned already (as the page); any other error page is scanned like an exposed file.
  if (trigger !== 'page') out.secrets.push(...findSecrets(body, { where: 'exposed-file', url, onSecret }));
}

export async function probeAll(ctx: GatherContext, limit: ReturnType<typeof pLimit>, out: ExposureFacts, origin: string, pageUrl: string, pageHash: string, dirs: string[]): Promise<void> {
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
      noteDebugPage(out, res.body, catchAllUrl, 'not-found', res.status, ctx.onSecret);
    },
    (err: Error) => {
      out.catchAll = { url: catchAllUrl, error: err.message };
    },
  );

  // Provoke an error page: an undecodable path and a malformed JSON body.
  const provoke = [
    get(`${origin}/keyward-%E0%A4%A/%`).then((r) => noteDebugPage(out, r.body, r.url, 'malformed-path', r.status, ctx.onSecret), () => undefined),
    get(pageUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"keyward":', followRedirects: false }).then(
      (r) => noteDebugPage(out, r.body, pageUrl, 'malformed-body', r.status, ctx.onSecret),
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
    judgeProbe(out, a.probe, a.res, result, pageHash, ctx.onSecret);
  }
  out.securityTxt ??= { url: `${origin}/.well-known/security.txt`, found: false, contacts: [] };
  await Promise.all(provoke);
}

function judgeProbe(out: ExposureFacts, probe: Probe, res: HttpExchange, result: ProbeResult, pageHash: string, onSecret: SecretSink | undefined): void {
  result.status = res.status;
  result.bytes = res.body.length;
  const hash = sha256(withoutPath(res.body, result.path));
  const catchAll = out.catchAll;
  const sameAsCatchAll = sha256(res.body) === pageHash || (catchAll?.hash !== undefined && hash === catchAll.hash);
  if (res.status >= 400 || res.status < 200 || sameAsCatchAll) {
    if (!sameAsCatchAll && res.status !== 404) noteDebugPage(out, res.body, res.url, 'probe', res.status, onSecret);
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
    noteDebugPage(out, res.body, res.url, 'probe', res.status, onSecret);
    return;
  }
  result.confirmed = true;
  result.evidence = proof;
  if (probe.category === 'listing') {
    const listing = listingServer(res.body);
    if (listing) out.directoryListings.push({ url: res.url, ...listing });
  }
  if (probe.category === 'security-txt') out.securityTxt = parseSecurityTxt(res.body, res.url);
  if (probe.scanSecrets) out.secrets.push(...findSecrets(res.body, { where: 'exposed-file', url: res.url, onSecret }));
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
