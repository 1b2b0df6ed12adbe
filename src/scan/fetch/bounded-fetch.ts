/**
 * The one bounded fetch every gatherer uses. node:http gives what a scanner needs and
 * fetch() hides: the raw header lines, the socket's real peer address, and the decoded
 * byte count as it grows. Bounds: whole request (redirects included), idle time between
 * bytes, decoded body, decompression ratio, redirects. Every hop is resolved through the
 * scan's lookup (--resolve, DNS, SSRF guard) and the socket connects to exactly that
 * address, which is checked again once connected.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { KeywardError } from '../../errors.js';
import type { BoundedFetch, FetchOptions, HeaderMap, HttpExchange, RedirectHop, ScanLimits } from '../types.js';
import { isIpLiteral, type AllowEntry } from './address.js';
import { assertAllowed, type LookupAll } from './resolve.js';
import { toKeywardError } from './errors.js';

export const DEFAULT_LIMITS: ScanLimits = {
  requestTimeoutMs: 5000,
  siteTimeoutMs: 10_000,
  maxBodyBytes: 2 * 1024 * 1024,
  maxRedirects: 10,
  maxFiles: 60,
  maxTotalBytes: 15 * 1024 * 1024,
  concurrency: 16,
};

export interface BoundedFetchConfig {
  lookup: LookupAll;
  allowPrivate: boolean;
  allow?: readonly AllowEntry[];
  /** One secure context for the whole scan (Node's roots plus --ca); undefined = Node's default store. */
  secureContext?: SecureContext;
  limits: ScanLimits;
  /** The site's time bound. */
  signal?: AbortSignal;
  /** Longest silence between two reads, ms (default: the request timeout, at most 3 s). */
  idleTimeoutMs?: number;
  /** Decoded/compressed size above which a body counts as a decompression bomb (default 100). */
  maxDecompressionRatio?: number;
  userAgent: string;
}

/** Decoded bytes below which the ratio is not judged: small bodies of repeated text compress very well. */
const RATIO_FLOOR = 256 * 1024;

interface Hop {
  status: number;
  rawHeaders: Array<[string, string]>;
  headers: HeaderMap;
  body: string;
  truncated: boolean;
  location?: string;
}

export interface FetchClient {
  fetch: BoundedFetch;
  /** Closes kept-alive connections. */
  close(): void;
}

export function createBoundedFetch(config: BoundedFetchConfig): FetchClient {
  const sockets = Math.max(1, config.limits.concurrency);
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: sockets });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: sockets, ...(config.secureContext ? { secureContext: config.secureContext } : {}) });
  // Its own pool, so a verified request never rides a socket whose certificate was not checked.
  let unverifiedAgent: HttpsAgent | undefined;
  const agentFor = (url: URL, options: FetchOptions): HttpAgent | HttpsAgent => {
    if (url.protocol !== 'https:') return httpAgent;
    if (!options.unverifiedOrigins?.includes(url.origin)) return httpsAgent;
    unverifiedAgent ??= new HttpsAgent({ keepAlive: true, maxSockets: sockets, rejectUnauthorized: false, ...(config.secureContext ? { secureContext: config.secureContext } : {}) });
    return unverifiedAgent;
  };

  const fetch: BoundedFetch = async (input, options = {}) => {
    let url = parseHttpUrl(input);
    let method = options.method ?? 'GET';
    let body = options.body;
    const follow = options.followRedirects ?? true;
    const maxRedirects = options.maxRedirects ?? config.limits.maxRedirects;
    const timeoutMs = options.timeoutMs ?? config.limits.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const chain: RedirectHop[] = [];
    for (;;) {
      if (config.signal?.aborted) throw siteTimeoutError(url.href);
      const hop = await requestOnce(url, method, body, options, follow, deadline, timeoutMs);
      const redirecting = follow && isRedirect(hop.status) && hop.location !== undefined;
      chain.push({ url: url.href, status: hop.status, ...(hop.location !== undefined ? { location: hop.location } : {}) });
      if (!redirecting) {
        return { url: url.href, status: hop.status, headers: hop.headers, rawHeaders: hop.rawHeaders, body: hop.body, bodyTruncated: hop.truncated, chain } satisfies HttpExchange;
      }
      if (chain.length > maxRedirects) {
        const shown = chain.slice(0, 3).map((h) => h.url).join(' → ');
        throw new KeywardError('KW_TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects starting at ${chain[0].url} (${shown} → …)`, {
          hint: 'the site redirects in a loop or through too many hops; check its redirect rules',
        });
      }
      let next: URL;
      try {
        next = new URL(hop.location as string, url);
      } catch {
        throw new KeywardError('KW_BAD_RESPONSE', `${url.href} redirects to an invalid URL: ${JSON.stringify(clip(hop.location ?? ''))}`, {
          hint: 'the Location header must be a valid absolute or relative URL',
        });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new KeywardError('KW_BAD_RESPONSE', `${url.href} redirects to a ${next.protocol} URL, which a scan does not follow`, {
          hint: 'a web page should redirect to an http(s) URL',
        });
      }
      if (hop.status === 303 || ((hop.status === 301 || hop.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  };

  function requestOnce(url: URL, method: string, body: string | undefined, options: FetchOptions, follow: boolean, deadline: number, timeoutMs: number): Promise<Hop> {
    const where = url.host;
    const https = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? Number(url.port) : https ? 443 : 80;
    const maxBytes = options.maxBytes ?? config.limits.maxBodyBytes;
    const idleMs = Math.min(config.idleTimeoutMs ?? Math.min(timeoutMs, 3000), timeoutMs);
    const maxRatio = config.maxDecompressionRatio ?? 100;

    const attempt = (target: { address: string; family: 4 | 6 }) =>
      new Promise<Hop>((resolve, reject) => {
        let req: ClientRequest | undefined;
        let res: IncomingMessage | undefined;
        let decoded: Readable | undefined;
        let done = false;
        // eslint-disable-next-line prefer-const -- finish() may run before the timer exists
        let timer: NodeJS.Timeout | undefined;
        const finish = (err: unknown, hop?: Hop) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          config.signal?.removeEventListener('abort', onAbort);
          if (err) {
            req?.destroy();
            res?.destroy();
            decoded?.destroy();
            reject(toKeywardError(err, where, res ? 'body' : 'connect'));
          } else resolve(hop as Hop);
        };
        const onAbort = () => finish(siteTimeoutError(url.href));
        const remaining = deadline - Date.now();
        if (remaining <= 0) return finish(timeoutError(where, timeoutMs));
        timer = setTimeout(() => finish(timeoutError(where, timeoutMs)), remaining);
        if (config.signal?.aborted) return onAbort();
        config.signal?.addEventListener('abort', onAbort, { once: true });

        const headers: Record<string, string> = {
          host: url.host,
          'user-agent': config.userAgent,
          accept: 'text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8',
          'accept-encoding': 'gzip, deflate, br',
          ...lowerKeys(options.headers ?? {}),
        };
        if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
        const requestOptions = {
          host: target.address,
          family: target.family,
          port,
          method,
          path: `${url.pathname}${url.search}`,
          headers,
          agent: agentFor(url, options),
          ...(https && !isIpLiteral(host) ? { servername: host } : {}),
        };
        try {
          req = (https ? httpsRequest : httpRequest)(requestOptions);
        } catch (err) {
          return finish(err);
        }
        req.on('socket', (socket: Socket) => {
          if (!socket.connecting) return;
          // The address actually connected to, judged again: no gap between check and use.
          socket.once('connect', () => {
            try {
              if (socket.remoteAddress) assertAllowed(host, socket.remoteAddress, port, config);
            } catch (err) {
              finish(err);
            }
          });
        });
        req.on('error', (err) => finish(err));
        req.on('response', (response) => {
          res = response;
          // Waiting for the first byte is bounded by the request's time; once the answer has
          // started, a silence longer than idleMs is a stalled or dripping server.
          response.setTimeout(idleMs, () =>
            finish(
              new KeywardError('KW_TIMEOUT', `${where} went silent for ${seconds(idleMs)} in the middle of its answer (a stalled or dripping server)`, {
                hint: 'the server stopped sending; raise --timeout if it is just slow',
              }),
            ),
          );
          const rawHeaders = pairs(response.rawHeaders);
          const map = toHeaderMap(rawHeaders);
          const status = response.statusCode ?? 0;
          const location = map['location']?.[0];
          const hop = (text: string, truncated: boolean): Hop => ({ status, rawHeaders, headers: map, body: text, truncated, ...(location !== undefined ? { location } : {}) });
          if ((follow && isRedirect(status) && location !== undefined) || method === 'HEAD' || status === 204 || status === 304) {
            // Nothing to read: drop the body so a redirect's endless body cannot hold the scan.
            response.destroy();
            return finish(undefined, hop('', false));
          }
          const encodings = (map['content-encoding'] ?? [])
            .join(',')
            .split(',')
            .map((e) => e.trim().toLowerCase())
            .filter((e) => e !== '' && e !== 'identity');
          const decoders = encodings.every((e) => DECODERS[e] !== undefined) ? [...encodings].reverse().map((e) => DECODERS[e]()) : [];
          // Content-Encoding lists codings in the order applied; undo them last first.
          for (let i = 1; i < decoders.length; i++) decoders[i - 1].pipe(decoders[i]);
          for (const d of decoders) d.on('error', (err) => finish(err));
          decoded = decoders.at(-1);
          const stream: Readable = decoded ?? response;
          let wire = 0;
          let size = 0;
          const chunks: Buffer[] = [];
          response.on('error', (err) => finish(err));
          response.on('aborted', () => finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
          if (decoders.length > 0) feedInSlices(response, decoders[0], (n) => (wire += n), () => done);
          const charset = /charset\s*=\s*"?([\w-]+)/i.exec(map['content-type']?.[0] ?? '')?.[1];
          const text = () => decodeText(Buffer.concat(chunks), charset);
          stream.on('data', (chunk: Buffer) => {
            if (done) return;
            if (decoded && size + chunk.length > RATIO_FLOOR && size + chunk.length > wire * maxRatio) {
              return finish(
                new KeywardError('KW_TOO_LARGE', `the body from ${where} decompresses to more than ${maxRatio}× its size (${kib(size + chunk.length)} from ${kib(wire)}): a decompression bomb`, {
                  hint: 'a real page never compresses this well; the server is hostile or broken',
                }),
              );
            }
            if (size + chunk.length > maxBytes) {
              chunks.push(chunk.subarray(0, maxBytes - size));
              size = maxBytes;
              finish(undefined, hop(text(), true));
              response.destroy();
              decoded?.destroy();
              return;
            }
            chunks.push(chunk);
            size += chunk.length;
          });
          if (stream === response) stream.on('error', (err) => finish(err));
          stream.on('end', () => finish(undefined, hop(text(), false)));
        });
        req.end(body);
      });
    return config.lookup(host, port).then(async (targets) => {
      for (let i = 0; ; i++) {
        try {
          return await attempt(targets[i]);
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
          if (i + 1 >= targets.length || !NEXT_ADDRESS_ON.has(cause)) throw err;
        }
      }
    });
  }

  return {
    fetch,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
      unverifiedAgent?.destroy();
    },
  };
}

/** Connection failures after which the next address of the host is tried (nothing was sent yet). */
const NEXT_ADDRESS_ON = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Compressed bytes handed to the decoder at a time: the ratio is judged on what was really inflated. */
const SLICE = 8 * 1024;

/**
 * Writes the response into the first decoder one slice at a time, each after the previous
 * was inflated, so that `count` always says how many compressed bytes produced the output
 * seen so far (a whole bomb arrives in one read; its ratio only shows slice by slice).
 */
function feedInSlices(response: IncomingMessage, decoder: Transform, count: (n: number) => void, stopped: () => boolean): void {
  response.on('data', (chunk: Buffer) => {
    response.pause();
    const next = (offset: number): void => {
      if (stopped()) return;
      if (offset >= chunk.length) {
        response.resume();
        return;
      }
      const slice = chunk.subarray(offset, offset + SLICE);
      count(slice.length);
      decoder.write(slice, (err) => {
        if (!err) next(offset + SLICE);
      });
    };
    next(0);
  });
  response.on('end', () => decoder.end());
}

const DECODERS: Record<string, () => Transform> = {
  gzip: () => createGunzip(),
  'x-gzip': () => createGunzip(),
  deflate: () => createInflate(),
  br: () => createBrotliDecompress(),
};

export function parseHttpUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new KeywardError('KW_BAD_URL', `not a valid URL: ${JSON.stringify(clip(input))}`, { hint: 'give a URL like https://example.com/ or a bare host name like example.com' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KeywardError('KW_BAD_URL', `cannot scan a ${url.protocol} URL: ${clip(input)}`, { hint: 'only http:// and https:// URLs can be scanned' });
  }
  return url;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i], raw[i + 1]]);
  return out;
}

export function toHeaderMap(raw: ReadonlyArray<readonly [string, string]>): HeaderMap {
  const map: HeaderMap = {};
  for (const [name, value] of raw) (map[name.toLowerCase()] ??= []).push(value);
  return map;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function decodeText(buf: Buffer, charset: string | undefined): string {
  if (charset) {
    try {
      return new TextDecoder(charset).decode(buf);
    } catch {
      // Unknown label: fall through to UTF-8.
    }
  }
  return new TextDecoder('utf-8').decode(buf);
}

function timeoutError(where: string, ms: number): KeywardError {
  return new KeywardError('KW_TIMEOUT', `${where} did not answer within ${seconds(ms)}`, { hint: 'the server is slow or not answering; raise --timeout if that is expected' });
}

function siteTimeoutError(url: string): KeywardError {
  return new KeywardError('KW_TIMEOUT', `the scan's time bound for the site ran out while fetching ${url}`, { hint: 'the site answers too slowly; raise --timeout if that is expected' });
}

const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;
const kib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);
const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);
