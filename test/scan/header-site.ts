/**
 * A loopback site that answers with exactly the headers and body a test gives, scanned by
 * `scanSite` with the headers section only (the other sections have their own tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { scanSite, type ScanReport } from '../../src/scan/scan-site.js';
import type { TestResult } from '../../src/scan/types.js';
import { startHttpsServer, testCertificates } from '../helpers/certs.js';
import { startHttpServer } from '../helpers/http-server.js';

export type HeaderList = Array<[string, string | string[]]>;

export interface SiteSpec {
  headers?: HeaderList;
  body?: string;
  /** Default `text/html; charset=utf-8`; `null` sends no content-type. */
  contentType?: string | null;
  status?: number;
  https?: boolean;
  /** Headers added only when the request carries an Origin header (the CORS probe). */
  corsHeaders?: (origin: string) => HeaderList;
  /**
   * With https: also start a plain-HTTP server for the redirect check; `location` says where
   * each request redirects to (undefined: answer 200 with the page itself).
   */
  httpVisit?: { location: (httpsOrigin: string, httpOrigin: string, path: string) => string | undefined };
  /** With https and no httpVisit: the plain-HTTP visit goes to this port (e.g. one nothing listens on). */
  httpPort?: number;
}

export const PAGE = '<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>';

function handler(spec: SiteSpec) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (spec.contentType !== null) res.setHeader('content-type', spec.contentType ?? 'text/html; charset=utf-8');
    for (const [name, value] of spec.headers ?? []) res.setHeader(name, value);
    const origin = req.headers.origin;
    if (origin && spec.corsHeaders) for (const [name, value] of spec.corsHeaders(origin)) res.setHeader(name, value);
    res.statusCode = spec.status ?? 200;
    res.end(spec.body ?? PAGE);
  };
}

/** Serves the spec on 127.0.0.1 (https on `localhost` with the test CA), scans it, closes it. */
export async function scanSpec(spec: SiteSpec): Promise<ScanReport> {
  if (!spec.https) {
    const server = await startHttpServer(handler(spec));
    try {
      return await scanSite(`${server.origin}/`, { allowPrivate: true, sections: ['headers'] });
    } finally {
      await server.close();
    }
  }
  const certs = await testCertificates();
  const server = await startHttpsServer(handler(spec), { cert: certs.validEcdsa.cert, key: certs.validEcdsa.key });
  const visit = spec.httpVisit;
  const http = visit
    ? await startHttpServer((req, res) => {
        const to = visit.location(server.localhostOrigin, `http://localhost:${http!.port}`, req.url ?? '/');
        if (to === undefined) return handler(spec)(req, res);
        res.statusCode = 301;
        res.setHeader('location', to);
        res.end();
      })
    : undefined;
  try {
    return await scanSite(`${server.localhostOrigin}/`, {
      allowPrivate: true,
      ca: certs.rootCa,
      sections: ['headers'],
      ...(http ? { httpPort: http.port } : spec.httpPort !== undefined ? { httpPort: spec.httpPort } : {}),
    });
  } finally {
    await server.close();
    await http?.close();
  }
}

/** The result of one test in a report. */
export function result(report: ScanReport, test: string): TestResult | undefined {
  return report.tests[test];
}

export function findingIds(report: ScanReport): string[] {
  return report.findings.map((f) => f.id);
}
