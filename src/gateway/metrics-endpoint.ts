/**
 * The scrape endpoint for the gateway's metrics: `GET /metrics` on a listener of its own, apart from
 * the API port, since the figures (spend by model, key states) are for operators, not API clients.
 * With a token, Prometheus must send it as a bearer credential (`authorization.credentials`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiSecurityHeaders } from '../recommended-headers.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

/** Shorter tokens can be guessed by anyone who can reach the port. */
export const MIN_METRICS_TOKEN = 16;

export interface MetricsEndpointOptions {
  /** When set, a scrape must carry `Authorization: Bearer <token>`. */
  token?: string;
  logger?: Logger;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsEndpoint(metrics: GatewayMetrics, options: MetricsEndpointOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  // Compared as digests: equal lengths, and no early exit on the first differing byte.
  const expected = options.token !== undefined ? digest(`Bearer ${options.token}`) : undefined;
  const security = apiSecurityHeaders();
  const answer = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...security, 'content-type': 'text/plain; charset=utf-8', ...extra });
    res.end(text);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'use GET /metrics\n', { allow: 'GET, HEAD' });
    if (expected) {
      const given = req.headers.authorization;
      if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
        return answer(res, 401, 'a metrics token is required: send Authorization: Bearer <KEYWARD_METRICS_TOKEN>\n', { 'www-authenticate': 'Bearer realm="keyward metrics"' });
      }
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { ...security, 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        options.logger?.error({ err }, 'collecting metrics failed');
        answer(res, 500, 'collecting metrics failed; the gateway log says why\n');
      },
    );
  };
}
