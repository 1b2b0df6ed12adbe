/** The floor for any Node proxy here: node:http + an undici Pool, forwarding and nothing else. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

export function startPassthrough(upstream: string, port: number, onReady: (port: number) => void): void {
  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
  createServer((req, res) => {
    pool
      .request({ path: req.url!, method: req.method as 'POST', headers: req.headers, body: req })
      .then((up) => {
        res.writeHead(up.statusCode, up.headers as Record<string, string>);
        up.body.pipe(res);
      })
      .catch(() => res.writeHead(502).end());
  }).listen(port, '127.0.0.1', function (this: Server) {
    onReady((this.address() as AddressInfo).port);
  });
}
